"""Simulated Modbus TCP gear: an EV emulator and a relay board behind one server, living in the shared World.

Nothing is stored in the Modbus tables: every read is computed from the World at that moment and every
write goes straight into it, so the simulated charger and the drivers can never see two versions of the
truth. pymodbus 3.16 gives us that through the `action` hook of a `SimDevice` (called with the register
block before each read and before each write); the older `ModbusDeviceContext` + data-block classes are
deprecated there and copied into a `SimDevice` without any hook, so a data-block subclass would be ignored.

The EV emulator's registers follow `drivers.evse_tester.register_map` (the same map the driver uses). The
relay board has one coil per wired World field; see `resolve_switch` for how a coil is wired.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import cast

from pymodbus.constants import ExcCodes
from pymodbus.pdu import ModbusPDU
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from drivers.evse_tester.iec61851 import PP_OHMS_BY_RATING
from drivers.evse_tester.register_map import (
    CP_STATE_CODES,
    DEFAULT_MAP,
    RegisterMap,
    encode_cp_state,
    to_int16_register,
)

from ..world import Connector, World
from .watchdog import WATCHDOG_REGISTER, CommunicationWatchdog

# Modbus function codes by table.
_READ_COILS, _WRITE_COIL, _WRITE_COILS = 1, 5, 15
_READ_HOLDING, _WRITE_REGISTER, _WRITE_REGISTERS, _READ_WRITE_REGISTERS = 3, 6, 16, 23
_READ_INPUT = 4

# Short names a bench uses for relay channels, and the World field each one switches (connector 1).
SWITCH_ALIASES: dict[str, tuple[str, int | None]] = {
    "mains": ("mains_on", None),
    "network": ("network_up", None),
    "cable": ("plugged_charger_side", 1),
    "ev_side": ("plugged_ev_side", 1),
    "lock_failure": ("lock_failure", 1),
    "ground_fault": ("ground_fault", 1),
    "local_list_failure": ("local_list_storage_failure", None),
    "security_reset": ("security_reset", None),
}

DEFAULT_RELAY_WIRING: dict[int, str] = {0: "mains", 1: "network", 2: "cable", 3: "lock_failure",
                                        4: "ground_fault", 5: "local_list_failure",
                                        6: "security_reset"}

_CONNECTOR_FIELD = re.compile(r"connector(\d+)\.(\w+)")


@dataclass(frozen=True)
class WorldSwitch:
    """A boolean World field a relay coil drives."""

    field: str
    connector_id: int | None = None

    def get(self, world: World) -> bool:
        target = world if self.connector_id is None else world.connector(self.connector_id)
        return bool(getattr(target, self.field))

    def set(self, world: World, value: bool) -> None:
        world.set(self.field, value, connector_id=self.connector_id)


def resolve_switch(name: str, world: World) -> WorldSwitch:
    """A wiring name: an alias from SWITCH_ALIASES, a World field ("mains_on") or "connector<N>.<field>"."""
    if name in SWITCH_ALIASES:
        switch = WorldSwitch(*SWITCH_ALIASES[name])
    elif match := _CONNECTOR_FIELD.fullmatch(name):
        switch = WorldSwitch(match.group(2), int(match.group(1)))
    else:
        switch = WorldSwitch(name)
    if switch.connector_id is None:
        target: object = world
        known = {f.name for f in fields(World) if not f.name.startswith("_")}
    else:
        target = world.connector(switch.connector_id)  # ValueError when the station has no such connector
        known = {f.name for f in fields(Connector)}
    # a coil is one bit: only a boolean field can hang on it
    if switch.field not in known or not isinstance(getattr(target, switch.field), bool):
        raise ValueError(
            f"relay wiring {name!r} names no boolean World field; use one of {', '.join(SWITCH_ALIASES)}, "
            f"a World field or connector<N>.<field>"
        )
    return switch


class EVEmulatorRegisters:
    """The EV emulator's register tables, computed from and written into one connector of the World."""

    def __init__(self, world: World, connector_id: int, register_map: RegisterMap) -> None:
        world.connector(connector_id)  # fail at start, not on the first request
        self.world = world
        self.connector_id = connector_id
        self.map = register_map
        self._holding_by_address = {address: name for name, address in register_map.holding().items()}

    @property
    def connector(self) -> Connector:
        return self.world.connector(self.connector_id)

    def sim_device(self, device_id: int) -> SimDevice:
        return SimDevice(
            id=device_id,
            simdata=(
                [SimData(0, values=False, datatype=DataType.BITS)],  # no coils of interest
                [SimData(0, values=False, datatype=DataType.BITS)],  # no discrete inputs
                # one entry per register: addresses between them stay invalid and answer "illegal address"
                [SimData(a, datatype=DataType.REGISTERS) for a in self.map.holding().values()],
                [SimData(a, datatype=DataType.REGISTERS) for a in self.map.inputs().values()],
            ),
            action=self.action,
        )

    def holding_values(self) -> dict[str, int]:
        c = self.connector
        return {
            "cp_state": encode_cp_state(c.ev_state),
            "plug_relay": int(c.plugged_ev_side),
            "diode_fault": int(c.diode_fault),
            "pp_rating_a": c.pp_rating_a,
            "latch_pressed": int(c.latch_pressed),
        }

    def input_values(self) -> dict[str, int]:
        c = self.connector
        high, low = c.cp_voltages()
        duty = min(max(c.pwm_duty_pct, 0.0), 100.0)
        # a DC level (0 % or 100 %) has no frequency; an instrument would read 0 Hz
        frequency = self.world.pwm_frequency_hz if 0.0 < duty < 100.0 else 0.0
        return {
            "cp_high_cv": to_int16_register(round(high * 100)),
            "cp_low_cv": to_int16_register(round(low * 100)),
            "duty_permille": round(duty * 10),
            "frequency_hz": min(max(round(frequency), 0), 0xFFFF),
            "cp_state_seen": encode_cp_state(c.cp_state()),
        }

    def _decode_write(self, name: str, raw: int) -> tuple[str, object] | None:
        """(World field, value) for a register write, or None when the value is not allowed."""
        if name == "cp_state":
            return ("ev_state", CP_STATE_CODES[raw]) if raw < len(CP_STATE_CODES) else None
        if name in ("plug_relay", "diode_fault", "latch_pressed"):
            field = {"plug_relay": "plugged_ev_side"}.get(name, name)
            return (field, bool(raw)) if raw in (0, 1) else None
        if name == "pp_rating_a":
            return ("pp_rating_a", raw) if raw in PP_OHMS_BY_RATING else None
        return None

    async def action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        if function_code in (_WRITE_REGISTER, _WRITE_REGISTERS, _READ_WRITE_REGISTERS) and set_values:
            changes = []
            # check every value before changing anything, so a rejected multi-register write changes nothing
            for offset, raw in enumerate(set_values):
                change = self._decode_write(self._holding_by_address[address + offset], int(raw))
                if change is None:
                    return ExcCodes.ILLEGAL_VALUE
                changes.append(change)
            for field, value in changes:
                self.world.set(field, value, connector_id=self.connector_id)
            return None
        if function_code in (_READ_HOLDING, _READ_WRITE_REGISTERS):
            self._fill(registers, start_address, self.map.holding(), self.holding_values())
        elif function_code == _READ_INPUT:
            self._fill(registers, start_address, self.map.inputs(), self.input_values())
        return None

    @staticmethod
    def _fill(registers: list[int], start: int, addresses: dict[str, int], values: dict[str, int]) -> None:
        for name, address in addresses.items():
            registers[address - start] = values[name]


class CoilBoard(ABC):
    """A Modbus device made of coils only; subclasses say which coils exist and what each one does."""

    @abstractmethod
    def coil_numbers(self) -> list[int]:
        """The coils the board has."""

    @abstractmethod
    def coil_level(self, coil: int) -> bool:
        """The level of one of them, as a read returns it."""

    @abstractmethod
    def set_coil(self, coil: int, on: bool) -> None:
        """What writing one of them does."""

    def holding_registers(self) -> list[int]:
        """Holding register addresses the board has besides its coils (none unless a subclass says so)."""
        return []

    def sim_device(self, device_id: int) -> SimDevice:
        holding = [SimData(a, datatype=DataType.REGISTERS) for a in self.holding_registers()]
        return SimDevice(
            id=device_id,
            simdata=(
                [SimData(coil, values=False, datatype=DataType.BITS) for coil in self.coil_numbers()],
                [SimData(0, values=False, datatype=DataType.BITS)],  # no discrete inputs
                holding or [SimData(0, datatype=DataType.INVALID)],
                [SimData(0, datatype=DataType.INVALID)],
            ),
            action=self.action,
        )

    async def action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        known = set(self.coil_numbers())
        if function_code in (_WRITE_COIL, _WRITE_COILS) and set_values:
            # `address` is the first coil written; `count` would be in 16-bit registers for bit tables
            for offset, value in enumerate(set_values):
                if address + offset in known:
                    self.set_coil(address + offset, bool(value))
            return None
        if function_code == _READ_COILS:
            # coils are packed 16 to a register; refresh every known bit, whatever range was asked for
            for coil in known:
                index, bit = coil // 16 - start_address, coil % 16
                if self.coil_level(coil):
                    registers[index] |= 1 << bit
                else:
                    registers[index] &= ~(1 << bit) & 0xFFFF
        return None


class RelayBoardCoils(CoilBoard):
    """A relay board whose coils drive boolean World fields, with a communication watchdog (watchdog.py) that
    switches every coil off when the controller has been silent for the time written to WATCHDOG_REGISTER."""

    def __init__(self, world: World, wiring: dict[int, str]) -> None:
        if not wiring:
            raise ValueError("relay_wiring must wire at least one coil")
        self.world = world
        self.wiring: dict[int, WorldSwitch] = {}
        for coil, name in wiring.items():
            if isinstance(coil, bool) or not isinstance(coil, int) or not 0 <= coil <= 0xFFFF:
                raise ValueError(f"relay_wiring: coil must be 0..65535, not {coil!r}")
            self.wiring[coil] = resolve_switch(name, world)
        self.watchdog = CommunicationWatchdog(self._all_off)

    def _all_off(self) -> None:
        for coil in self.wiring:
            self.set_coil(coil, False)

    def holding_registers(self) -> list[int]:
        return [WATCHDOG_REGISTER]

    async def action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        self.watchdog.feed()  # any request the board answers proves the controller is alive
        if function_code in (_WRITE_REGISTER, _WRITE_REGISTERS) and set_values:
            self.watchdog.write(int(set_values[0]))
            return None
        if function_code in (_READ_HOLDING, _READ_WRITE_REGISTERS):
            registers[0] = self.watchdog.ticks
            return None
        return await super().action(function_code, start_address, address, count, registers, set_values)

    def close(self) -> None:
        self.watchdog.close()

    def coil_numbers(self) -> list[int]:
        return sorted(self.wiring)

    def coil_level(self, coil: int) -> bool:
        return self.wiring[coil].get(self.world)

    def set_coil(self, coil: int, on: bool) -> None:
        self.wiring[coil].set(self.world, on)


# A request hook as the gear writes it: None drops the request (see pymodbus_trace).
PduTrace = Callable[[bool, ModbusPDU], ModbusPDU | None]


def pymodbus_trace(trace: PduTrace) -> Callable[[bool, ModbusPDU], ModbusPDU]:
    """`trace` as pymodbus' servers are typed to take it. Their stubs say the hook returns a PDU, but the request
    handler answers only when the hook returned one (ServerRequestHandler checks last_pdu), so None drops the
    request: the gear's silence relies on that."""
    return cast("Callable[[bool, ModbusPDU], ModbusPDU]", trace)


def listening_port(server: ModbusTcpServer) -> int:
    """The port a started server listens on (port 0 asked for a free one)."""
    listener = server.transport  # typed a BaseTransport by pymodbus; a listening server's is an asyncio.Server
    if not isinstance(listener, asyncio.Server):
        raise RuntimeError(f"the Modbus server has no listening socket (its transport is {listener!r})")
    port: int = listener.sockets[0].getsockname()[1]
    return port


def _check_loopback(host: str) -> None:
    # simulated gear is for this machine only: a wildcard or LAN address would put a fake relay board on the network
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"host must be a loopback address (e.g. 127.0.0.1), not {host!r}")


class ModbusGear:
    """A running simulated Modbus server. Set `silent` to make it swallow requests without answering, or put a
    device id in `silent_devices` to hang that device alone (the EV emulator, say, while the relays answer)."""

    def __init__(self, server: ModbusTcpServer, host: str, port: int,
                 relay: RelayBoardCoils | None = None) -> None:
        self._server = server
        self.host = host
        self.port = port
        self.relay = relay
        self.silent = False
        self.silent_devices: set[int] = set()
        self._stopped = False

    def _trace_pdu(self, sending: bool, pdu: ModbusPDU) -> ModbusPDU | None:
        # Dropping the decoded request (the frame is still consumed) leaves the client waiting until it times
        # out, exactly like a device that hangs; closing the socket instead would look like a refusal.
        # pymodbus handles a request only when this hook returns one, so None silently drops it.
        if not sending and (self.silent or pdu.dev_id in self.silent_devices):
            return None
        return pdu

    async def stop(self) -> None:
        """Stop listening and drop every client connection. Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        if self.relay is not None:
            self.relay.close()
        listener = self._server.transport  # pymodbus forgets it on shutdown
        await self._server.shutdown()
        if isinstance(listener, asyncio.Server):  # typed a BaseTransport by pymodbus; a listener's is a Server
            try:
                await asyncio.wait_for(listener.wait_closed(), 2.0)
            except asyncio.TimeoutError:
                pass

    async def __aenter__(self) -> ModbusGear:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


async def start_modbus_gear(
    world: World,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    ev_device_id: int = 1,
    ev_connector_id: int = 1,
    relay_device_id: int = 2,
    relay_wiring: dict[int, str] | None = None,
    ev_register_map: RegisterMap | None = None,
    meter_device_id: int | None = None,
) -> ModbusGear:
    """Serve the EV emulator and the relay board on host:port (port 0 picks a free one; see `.port`), and with
    `meter_device_id` a reference energy meter (SDM630 layout) on the EV emulator's connector."""
    _check_loopback(host)
    for name, device_id in (("ev_device_id", ev_device_id), ("relay_device_id", relay_device_id)):
        if isinstance(device_id, bool) or not isinstance(device_id, int) or not 1 <= device_id <= 247:
            raise ValueError(f"{name} must be 1..247, not {device_id!r}")
    if ev_device_id == relay_device_id:
        raise ValueError(f"ev_device_id and relay_device_id must differ, both are {ev_device_id}")
    ev = EVEmulatorRegisters(world, ev_connector_id, ev_register_map or DEFAULT_MAP)
    relay = RelayBoardCoils(world, DEFAULT_RELAY_WIRING if relay_wiring is None else relay_wiring)

    gear: ModbusGear | None = None

    def trace_pdu(sending: bool, pdu: ModbusPDU) -> ModbusPDU | None:
        # the server needs its hook before the gear exists; the gear is set before any client can connect
        return gear._trace_pdu(sending, pdu) if gear is not None else pdu

    devices = [ev.sim_device(ev_device_id), relay.sim_device(relay_device_id)]
    if meter_device_id is not None:
        from .energy_meter import EnergyMeterRegisters  # it imports this module (through modbus_rtu)

        if meter_device_id in (ev_device_id, relay_device_id):
            raise ValueError(f"meter_device_id {meter_device_id} is already taken")
        devices.append(EnergyMeterRegisters(world, ev_connector_id).sim_device(meter_device_id))
    server = ModbusTcpServer(
        devices,
        address=(host, port),
        trace_pdu=pymodbus_trace(trace_pdu),
    )
    gear = ModbusGear(server, host, port, relay)
    try:
        await server.serve_forever(background=True)
    except RuntimeError as exc:  # pymodbus reports a failed bind this way, without the reason
        raise OSError(f"simulated Modbus gear cannot listen on {host}:{port} (port in use?)") from exc
    gear.port = listening_port(server)
    return gear
