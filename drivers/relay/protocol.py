"""Digital outputs with `set`/`get`, and `on`/`off`/`cycle` on top, so any relay can serve as any switch."""

from __future__ import annotations

import asyncio
from abc import abstractmethod

from ..base import Driver
from ..steplog import step


class DigitalOutputProtocol(Driver):
    """One named relay channel. `True` means energised at the logical level (after any inversion)."""

    @abstractmethod
    async def set(self, level: bool) -> None:
        """Drive the output to this logical level."""

    @abstractmethod
    async def get(self) -> bool:
        """Read back the logical level."""


class PowerSwitch:
    """Power-style verbs on a digital output: `on`, `off`, `cycle`."""

    def __init__(self, output: DigitalOutputProtocol, off_time_s: float = 1.0) -> None:
        self.output = output
        self.off_time_s = off_time_s
        # step() logs through these, so a power cycle appears in the action log like any driver call
        self.role = output.role
        self.steplog = output.steplog

    @step
    async def on(self) -> None:
        await self.output.set(True)

    @step
    async def off(self) -> None:
        await self.output.set(False)

    @step
    async def cycle(self, off_time_s: float | None = None, reason: str | None = None) -> None:
        """`reason` is only recorded (the action log, a case's timeline): why benchctl cut the power itself."""
        await self.output.set(False)
        await asyncio.sleep(self.off_time_s if off_time_s is None else off_time_s)
        await self.output.set(True)
