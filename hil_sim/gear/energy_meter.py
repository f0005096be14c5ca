"""A simulated reference energy meter (SDM630 layout by default) whose readings come from the World.

Like the other simulated Modbus gear, nothing is stored: the pymodbus 3.16 `SimDevice` `action` hook fills
the registers from the World at the moment of each read (see `modbus_gear` for why a hook and not a data
block). The meter sits on the charger's side of the mains relay and has its own auxiliary supply:

- voltage: `voltage_v` (230 V) on every phase while `world.mains_on`, else 0 V; frequency likewise 50 Hz / 0.
- current: while the connector is charging, i.e. mains on, EV connected and in state C or D (an F from a
  diode fault or a charger at -12 V is not charging) with a PWM duty that offers a current, the EV draws
  what the duty offers, `iec61851.duty_to_current`, on every phase; 0 A otherwise. The cable rating is not
  applied: a charger offering more than its cable allows shows up on the meter, as it would on a bench.
- power: the sum over the phases of voltage x current (unity power factor).
- energy: the connector's `energy_wh` (what the simulated charger counts), as kWh.

The meter is read-only: it has input registers only (or holding registers marked read-only when its map
says "holding"), so a write gets "illegal data address" like from a real meter's measurement registers.

Where it is served is the caller's choice: `start_energy_meter_gear` gives it a loopback server of its own
(Modbus TCP or RTU framing), or `EnergyMeterRegisters(...).sim_device(id)` goes into `extra_devices` of
`hil_sim.gear.modbus_rtu.start_modbus_rtu_gear` / `start_modbus_rtu_pty_gear` to share an RTU bus with the
EV emulator and the relay board, as it often does on an RS-485 bench.
"""

from __future__ import annotations

from pymodbus.constants import ExcCodes
from pymodbus.simulator import DataType, SimData, SimDevice

from drivers.evse_tester.iec61851 import duty_to_current
from drivers.meter.modbus_meter import SDM630_MAP, MeterRegisterMap, encode_float32

from ..world import Connector, World
from .modbus_rtu import ModbusBusGear, serve_modbus_devices

_READ_HOLDING, _READ_INPUT = 3, 4
CHARGING_STATES = ("C", "D")


class EnergyMeterRegisters:
    """The meter's float registers, computed from one connector of the World."""

    def __init__(
        self,
        world: World,
        connector_id: int = 1,
        meter_map: MeterRegisterMap | None = None,
        *,
        voltage_v: float = 230.0,
        frequency_hz: float = 50.0,
        standard: str = "iec",
    ) -> None:
        world.connector(connector_id)  # fail at start, not on the first request
        self.world = world
        self.connector_id = connector_id
        self.map = meter_map or SDM630_MAP
        self.voltage_v = voltage_v
        self.frequency_hz = frequency_hz
        self.standard = standard
        duty_to_current(50.0, standard)  # ValueError for an unknown standard, now

    @property
    def connector(self) -> Connector:
        return self.world.connector(self.connector_id)

    def sim_device(self, device_id: int) -> SimDevice:
        read_only = self.map.table == "holding"
        registers = [
            SimData(address, count=2, datatype=DataType.REGISTERS, readonly=read_only)
            for address in self.map.registers().values()
        ]
        nothing = [SimData(0, datatype=DataType.INVALID)]
        return SimDevice(
            id=device_id,
            simdata=(
                [SimData(0, values=False, datatype=DataType.BITS)],  # no coils of interest
                [SimData(0, values=False, datatype=DataType.BITS)],  # no discrete inputs
                registers if read_only else nothing,
                nothing if read_only else registers,
            ),
            action=self.action,
        )

    def charging_current_a(self) -> float:
        c = self.connector
        if not (self.world.mains_on and c.ev_connected and c.cp_state() in CHARGING_STATES):
            return 0.0
        return duty_to_current(c.pwm_duty_pct, self.standard) or 0.0

    def values(self) -> dict[str, float]:
        """Register name (as `MeterRegisterMap.registers` names it) -> value in the map's units."""
        self.world.settle()
        volts = self.voltage_v if self.world.mains_on else 0.0
        amps = self.charging_current_a() if volts else 0.0
        phases = self.map.phases
        out = {f"voltage_v[{i}]": volts for i in range(phases)}
        out.update({f"current_a[{i}]": amps for i in range(phases)})
        out["power_w"] = phases * volts * amps / self.map.power_w_per_unit
        out["frequency_hz"] = self.frequency_hz if self.world.mains_on else 0.0
        out["energy"] = self.connector.energy_wh / self.map.energy_wh_per_unit
        return out

    async def action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        wanted = _READ_INPUT if self.map.table == "input" else _READ_HOLDING
        if function_code != wanted or set_values:
            return None  # a write to read-only registers was already refused by the datastore
        values = self.values()
        for name, first in self.map.registers().items():
            index = first - start_address
            registers[index : index + 2] = encode_float32(values[name], self.map.word_order)
        return None


async def start_energy_meter_gear(
    world: World,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    device_id: int = 1,
    connector_id: int = 1,
    meter_map: MeterRegisterMap | None = None,
    framer: str = "socket",
    voltage_v: float = 230.0,
    frequency_hz: float = 50.0,
) -> ModbusBusGear:
    """A meter on a loopback server of its own, with Modbus TCP ("socket") or "rtu" framing."""
    meter = EnergyMeterRegisters(world, connector_id, meter_map, voltage_v=voltage_v, frequency_hz=frequency_hz)
    return await serve_modbus_devices([meter.sim_device(device_id)], host=host, port=port, framer=framer)
