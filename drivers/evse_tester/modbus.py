"""An EV emulator operated over Modbus TCP or RTU (holding registers to set, input registers to measure)."""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from ..modbus_device import ModbusDevice, register_runs
from ..modbus_transport import DEFAULT_BAUDRATE, DEFAULT_PARITY, DEFAULT_STOPBITS, ModbusTransport
from ..steplog import StepLog, step
from . import checks, iec61851, proximity
from .protocol import CPMeasurement, EVEmulatorProtocol
from .register_map import (
    DEFAULT_MAP,
    RegisterMap,
    decode_cp_state,
    encode_cp_state,
    from_int16_register,
)


class ModbusEVEmulator(ModbusDevice, EVEmulatorProtocol):
    """An EV emulator laid out as `register_map` says; connects on first use if `connect()` was not called."""

    backend = "Modbus"

    def __init__(
        self,
        role: str,
        host: str | None = None,
        port: int = 502,
        device_id: int = 1,
        register_map: RegisterMap | None = None,
        timeout_s: float = 1.0,
        retries: int = 3,
        standard: str = "iec",
        plug: str = "type2",
        transport: str | ModbusTransport = "tcp",
        serial_port: str | None = None,
        baudrate: int = DEFAULT_BAUDRATE,
        parity: str = DEFAULT_PARITY,
        stopbits: int = DEFAULT_STOPBITS,
        steplog: StepLog | None = None,
    ) -> None:
        self._init_modbus(role, steplog, transport=transport, host=host, port=port,
                           serial_port=serial_port, baudrate=baudrate, parity=parity, stopbits=stopbits,
                           device_id=device_id, timeout_s=timeout_s, retries=retries)
        self.standard = checks.standard(standard)
        self.plug = proximity.check_plug(plug)
        self.map = register_map if register_map is not None else DEFAULT_MAP

    @step
    async def safe_state(self) -> None:
        # Every action is tried even if an earlier one fails: a half-safe emulator is better than one left as is.
        # The plug opens first, so the charger sees the EV leave rather than a sequence of state changes.
        first_error: Exception | None = None
        # A pressed latch is released last: the coupler is out by then, and the next plug-in latches it.
        actions = [("plug_relay", 0), ("cp_state", encode_cp_state("A")), ("diode_fault", 0)]
        if self.plug == "type1" and self.map.latch_pressed is not None:
            actions.append(("latch_pressed", 0))
        for name, value in actions:
            try:
                await self._write(name, value)
            except Exception as exc:  # noqa: BLE001 - re-raised below after the other actions
                first_error = first_error or exc
        if first_error is not None:
            raise first_error

    @step
    async def self_test(self) -> dict[str, Any]:
        settings = await self._read_table(self.map.holding(), self.link.read_holding)
        return {
            "cp_state": decode_cp_state(settings["cp_state"]),
            "plug_closed": bool(settings["plug_relay"]),
            "diode_fault": bool(settings["diode_fault"]),
            "pp_rating_a": settings["pp_rating_a"],
            "plug": self.plug,
            "latch_pressed": bool(settings["latch_pressed"]) if "latch_pressed" in settings else None,
            "measurement": (await self._measure()).as_dict(),
        }

    @step
    async def set_plug(self, connected: bool) -> None:
        await self._write("plug_relay", int(checks.flag("connected", connected)))

    @step
    async def set_cp_state(self, state: str) -> None:
        await self._write("cp_state", encode_cp_state(checks.cp_state(state)))

    @step
    async def set_diode_fault(self, fault: bool) -> None:
        await self._write("diode_fault", int(checks.flag("fault", fault)))

    @step
    async def set_pp_rating(self, amps: int) -> None:
        amps = checks.pp_rating(amps)
        self.pp_rating_check()
        await self._write("pp_rating_a", amps)

    @step
    async def set_latch(self, pressed: bool) -> None:
        pressed = checks.flag("pressed", pressed)
        self.latch_check()
        if self.map.latch_pressed is None:
            raise self.no_latch("this emulator's register map has no latch_pressed register (no latch actuator)")
        await self._write("latch_pressed", int(pressed))

    @step
    async def measure(self) -> CPMeasurement:
        return await self._measure()

    async def _write(self, name: str, value: int) -> None:
        await self.link.write_register(name, getattr(self.map, name), value)

    @staticmethod
    async def _read_table(
        addresses: dict[str, int], read: Callable[..., Awaitable[list[int]]]
    ) -> dict[str, int]:
        raw: dict[str, int] = {}
        for start, names in register_runs(addresses):
            label = names[0] if len(names) == 1 else f"{names[0]}..{names[-1]}"
            values = await read(label, start, count=len(names))
            raw.update(zip(names, values))
        return raw

    async def _measure(self) -> CPMeasurement:
        raw = await self._read_table(self.map.inputs(), self.link.read_input)
        high_v = from_int16_register(raw["cp_high_cv"]) / 100
        low_v = from_int16_register(raw["cp_low_cv"]) / 100
        duty_pct = raw["duty_permille"] / 10
        # The contract's state is the one the high level corresponds to; the emulator's own classification only
        # fills in when the voltage is in no band at all (a broken line), so a reading is never left blank.
        state = iec61851.cp_voltage_to_state(high_v)
        if state is None and "cp_state_seen" in raw:
            state = decode_cp_state(raw["cp_state_seen"])
        if state is None:
            raise self.error(f"CP high level {high_v:.2f} V matches no CP state")
        return CPMeasurement(
            high_v=high_v,
            low_v=low_v,
            duty_pct=duty_pct,
            frequency_hz=float(raw["frequency_hz"]),
            state=state,
            current_limit_a=iec61851.duty_to_current(duty_pct, self.standard),
        )
