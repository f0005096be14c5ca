"""The station's energy register: what its meter counts of the energy that flows in the world, with the faults of
a meter that counts wrong (overcounts, restarts per transaction, loses what it had not saved at a reboot)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from drivers.evse_tester.iec61851 import duty_to_current

from .metering import PHASES, VOLTAGE_V

if TYPE_CHECKING:
    from .station import SimStation

MODE_2_CURRENT_A = 10.0  # what a household Mode 2 cable's control box allows
OVERCOUNT_FACTOR = 1.5  # energy_register_overcounts: a current transformer ratio set wrong
REGISTER_SAVE_WH = 100.0  # energy_register_saved_rarely: the register is written to flash every 100 Wh


class EnergyRegister:
    def __init__(self, station: "SimStation") -> None:
        self.station = station
        self.lost_wh: dict[int, float] = {}  # what the faults took off the register, per connector
        self._metered_at: float | None = None  # when the energy was last counted (monotonic)
        station.world.on_settle(self.integrate)

    def booted(self) -> None:
        """A boot: energy_register_saved_rarely falls back to the last save."""
        station = self.station
        if station.boots > 1 and station.faults.active("energy_register_saved_rarely"):
            for connector_id in range(1, station.settings.connectors + 1):  # the bug: back to the last save
                self.lost_wh[connector_id] = self.lost_wh.get(connector_id, 0.0) + \
                    self._exact(connector_id) % REGISTER_SAVE_WH

    def restart_counting(self) -> None:
        """The main loop of a new boot counts from its first wake-up, not from the last one before the power loss."""
        self._metered_at = None

    def transaction_starts(self, connector_id: int) -> None:
        if self.station.faults.active("energy_register_per_transaction"):
            self.integrate()  # the bug: the register restarts from zero with every transaction
            self.lost_wh[connector_id] = self.station.world.connector(connector_id).energy_wh

    def integrate(self) -> None:
        """Count the energy up to now: the main loop, a register reading and the bench's meter see the same."""
        now = time.monotonic()
        if self._metered_at is not None:
            self._meter(now - self._metered_at)
        self._metered_at = now

    def _meter(self, dt: float) -> None:
        station = self.station
        if station.rt is None:
            return
        for connector_id in range(1, station.settings.connectors + 1):
            if station.status(connector_id) == "Charging":
                world = station.world.connector(connector_id)
                world.energy_wh += self.power_w(connector_id) * dt / 3600.0

    def register_wh(self, connector_id: int) -> int:
        """The station's energy register as it reports it. The world's energy_wh is what really flowed (the bench's
        reference meter reads that); the station's own meter may be miscalibrated (a fault)."""
        self.integrate()
        return int(self._exact(connector_id))

    def _exact(self, connector_id: int) -> float:
        wh = self.station.world.connector(connector_id).energy_wh - self.lost_wh.get(connector_id, 0.0)
        return wh * OVERCOUNT_FACTOR if self.station.faults.active("energy_register_overcounts") else wh

    def power_w(self, connector_id: int) -> float:
        station = self.station
        if station.status(connector_id) != "Charging" or station.hardware.latch_open(connector_id):
            return 0.0
        if station.settings.mode_1_2_only:  # the Mode 2 cable's control box limits it, single phase
            return min(station.settings.meter_w, MODE_2_CURRENT_A * VOLTAGE_V)
        world = station.world.connector(connector_id)
        limit_w = (duty_to_current(world.pwm_duty_pct) or 0.0) * VOLTAGE_V * PHASES  # what the PWM offers
        return min(station.settings.meter_w, limit_w)
