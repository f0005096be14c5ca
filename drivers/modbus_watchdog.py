"""Arming a Modbus device's communication watchdog, so the gear goes to its safe outputs when benchctl dies.

Coupler-style relay boards (WAGO 750 fieldbus couplers and the like) switch every output off when no Modbus
request arrived within a watchdog time held in a register. benchctl writes that time on connect, keeps the
device fed with a cheap read while it runs, and writes 0 on a clean close: after a normal exit the outputs
stay at the safe levels benchctl set, after kill -9, a power cut of the controller or a hung process the board
de-energises them by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math

from .errors import DriverError
from .modbus_link import ModbusLink

log = logging.getLogger("drivers.modbus_watchdog")

DEFAULT_WATCHDOG_REGISTER = 0x1000
TICK_S = 0.1  # the register counts 100 ms ticks
FEEDS_PER_PERIOD = 3  # a lost or slow keep-alive must not starve the watchdog


class ModbusWatchdog:
    def __init__(self, link: ModbusLink, role: str, timeout_s: float,
                 register: int = DEFAULT_WATCHDOG_REGISTER) -> None:
        if timeout_s < TICK_S:
            raise ValueError(f"watchdog_s must be at least {TICK_S} s (one tick), not {timeout_s}")
        if not 0 <= register <= 0xFFFF:
            raise ValueError(f"watchdog_register must be 0..65535, not {register}")
        self.link = link
        self.role = role
        self.timeout_s = timeout_s
        self.register = register
        self._feeder: asyncio.Task[None] | None = None

    @property
    def ticks(self) -> int:
        return min(0xFFFF, math.ceil(round(self.timeout_s / TICK_S, 6)))

    async def arm(self) -> None:
        await self.link.write_register(f"{self.role} watchdog", self.register, self.ticks)
        if self._feeder is None:
            self._feeder = asyncio.create_task(self._feed(), name=f"{self.role} watchdog")

    async def disarm(self) -> None:
        if self._feeder is not None:
            self._feeder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._feeder
            self._feeder = None
        await self.link.write_register(f"{self.role} watchdog", self.register, 0)

    async def _feed(self) -> None:
        while True:
            await asyncio.sleep(self.timeout_s / FEEDS_PER_PERIOD)
            try:
                await self.link.read_holding(f"{self.role} watchdog", self.register)
            except DriverError as exc:
                # the next feed may get through; if none does the board goes safe, which is the point
                log.warning("%s: feeding the watchdog failed: %s", self.role, exc)
