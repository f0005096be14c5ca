"""The communication watchdog of a Modbus relay board (the "fieldbus watchdog" of coupler-style I/O such as
WAGO 750 couplers): armed by writing a time in 100 ms units to a holding register, fed by every request the
board receives, and when no request came in that time it switches every output off, so a controller that
died leaves the bench de-energised instead of frozen in whatever state it last commanded."""

from __future__ import annotations

import asyncio
from typing import Callable

WATCHDOG_REGISTER = 0x1000  # watchdog time in ticks; 0 = off
TICK_S = 0.1


class CommunicationWatchdog:
    def __init__(self, on_expiry: Callable[[], None]) -> None:
        self.ticks = 0
        self.expired = False
        self._on_expiry = on_expiry
        self._timer: asyncio.TimerHandle | None = None

    def write(self, ticks: int) -> None:
        self.ticks, self.expired = ticks, False
        self.feed()

    def feed(self) -> None:
        # a timer handle rather than a task: nothing is left pending when the loop of a test ends
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.ticks > 0:
            self._timer = asyncio.get_running_loop().call_later(self.ticks * TICK_S, self._expire)

    def _expire(self) -> None:
        self._timer = None
        self.expired = True
        self._on_expiry()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
