"""An EV emulator operated over Modbus TCP or RTU (holding registers to set, input registers to measure)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Awaitable, Callable

from benchctl.config.typed import setting

from ..modbus_device import ModbusDevice, register_runs
from ..modbus_settings import ModbusLinkSettings
from ..safety import all_safe_actions
from ..steplog import StepLog, step
from . import checks, iec61851, proximity
from .protocol import CPMeasurement, EVEmulatorProtocol
from .register_map import (
    DEFAULT_MAP,
    RegisterMap,
    check_registers,
    decode_cp_state,
    encode_cp_state,
    from_int16_register,
)
from .settings import PlugSettings


@dataclass(kw_only=True)
class ModbusEvSettings(ModbusLinkSettings, PlugSettings):
    registers: dict[str, Any] | str | None = setting(
        default=None, type=object, check=check_registers,
        help="register addresses overriding the default map: a mapping, or a YAML file of one (relative to the "
             "bench config); docs/modbus-ev-emulator.md")
    standard: str = setting(default="iec", choices=("iec", "sae"))


class ModbusEVEmulator(ModbusDevice, EVEmulatorProtocol):
    """An EV emulator laid out as `register_map` says; connects on first use if `connect()` was not called."""

    backend = "Modbus"

    kind = "ev_emulator"
    settings = ModbusEvSettings
    summary = "EV emulator over Modbus TCP or RTU"
    on_lost = ("the instrument keeps its last CP state and plug relay: an EV may stay \"plugged in\". Use the "
               "instrument's own communication watchdog if it has one.")
    docs = "modbus-ev-emulator.md"

    def __init__(self, role: str, settings: ModbusEvSettings | None = None, *,
                 register_map: RegisterMap | None = None, steplog: StepLog | None = None) -> None:
        settings = settings if settings is not None else ModbusEvSettings()
        self._init_modbus(role, steplog, settings)
        self.standard = checks.standard(settings.standard)
        self.plug = proximity.check_plug(settings.plug)
        if register_map is None and isinstance(settings.registers, dict):
            register_map = RegisterMap.from_dict(settings.registers)
        self.map = register_map if register_map is not None else DEFAULT_MAP

    @classmethod
    def read_files(cls, settings: dict[str, Any], base_dir: Path) -> dict[str, Any]:
        if isinstance(settings.get("registers"), str):
            from .register_file import read_register_file

            settings = {**settings, "registers": read_register_file(base_dir / settings["registers"])}
        return settings

    @step
    async def safe_state(self) -> None:
        # The plug opens first, so the charger sees the EV leave rather than a sequence of state changes.
        # A pressed latch is released last: the coupler is out by then, and the next plug-in latches it.
        actions = [("plug_relay", 0), ("cp_state", encode_cp_state("A")), ("diode_fault", 0)]
        if self.plug == "type1" and self.map.latch_pressed is not None:
            actions.append(("latch_pressed", 0))
        await all_safe_actions(partial(self._write, name, value) for name, value in actions)

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
