"""A bench assembled from a bench config: one driver per role, connected, and put in its safe state."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from drivers.base import Driver
from drivers.errors import DriverError, MissingExtraError
from drivers.evse_tester.protocol import EVEmulatorProtocol
from drivers.meter.protocol import EnergyMeterProtocol
from drivers.relay.protocol import DigitalOutputProtocol, PowerSwitch
from drivers.rfid.protocol import RFIDPresenterProtocol
from drivers.steplog import StepLog

from . import registry
from .config import BenchConfig
from .registry import DriverPluginError
from .roles import resolve_refs

log = logging.getLogger("benchctl.bench")


class Bench:
    def __init__(self, config: BenchConfig, drivers: dict[str, Driver], steplog: StepLog) -> None:
        self.config = config
        self.drivers = drivers
        self.steplog = steplog
        self.values = config.values

    @classmethod
    def build(cls, config: BenchConfig, endpoints: dict[str, Any] | None = None,
              steplog: StepLog | None = None, broken: dict[str, Exception] | None = None) -> "Bench":
        """Build every role's driver. With `broken`, a role whose driver cannot be made (a missing hardware
        library, say) is recorded there and left out, instead of stopping the whole bench."""
        steplog = steplog or StepLog()
        drivers = {}
        for name, role in config.roles.items():
            settings = resolve_refs(role, endpoints or {}, config.file)
            try:
                drivers[name] = registry.spec(role.driver).build(name, settings, steplog)
            except (DriverError, MissingExtraError, ValueError, DriverPluginError) as exc:
                if broken is None:
                    raise
                broken[name] = exc
        # drivers made of other roles (the card carousel's outputs) get them once every role is built
        for name, driver in list(drivers.items()):
            bind = getattr(driver, "bind", None)
            if bind is None:
                continue
            try:
                bind(drivers)
            except (DriverError, ValueError) as exc:
                if broken is None:
                    raise
                broken[name] = exc
                del drivers[name]
        return cls(config, drivers, steplog)

    def has(self, role: str) -> bool:
        return role in self.drivers

    @property
    def ev(self) -> EVEmulatorProtocol:
        return self._get("ev", EVEmulatorProtocol)

    @property
    def card(self) -> RFIDPresenterProtocol:
        return self._get("card", RFIDPresenterProtocol)

    @property
    def meter(self) -> EnergyMeterProtocol:
        """The reference energy meter (role `meter`)."""
        return self._get("meter", EnergyMeterProtocol)

    def output(self, role: str) -> DigitalOutputProtocol:
        return self._get(role, DigitalOutputProtocol)

    def power(self, role: str) -> PowerSwitch:
        return PowerSwitch(self.output(role), off_time_s=self.values["power_off_s"])

    def _get(self, role: str, kind: type) -> Any:
        driver = self.drivers.get(role)
        if driver is None:
            raise KeyError(f"this bench has no role '{role}' ({self.config.file})")
        if not isinstance(driver, kind):
            raise TypeError(f"role '{role}' is a {type(driver).__name__}, not a {kind.__name__}")
        return driver

    async def connect(self) -> None:
        for driver in self.drivers.values():
            await driver.connect()

    async def safe_state(self) -> list[DriverError]:
        """Put every role in its safe state; keep going past failures so one dead device leaves the rest safe."""
        errors = []
        for driver in self.drivers.values():
            try:
                await driver.safe_state()
            except (DriverError, OSError, asyncio.TimeoutError) as exc:
                log.error("safe state of %s failed: %s", driver.role, exc)
                errors.append(exc if isinstance(exc, DriverError) else driver.error(str(exc)))
        return errors

    async def close(self) -> None:
        for driver in self.drivers.values():
            try:
                await driver.close()
            except Exception as exc:  # closing must never hide the original error
                log.warning("closing %s: %s", driver.role, exc)
