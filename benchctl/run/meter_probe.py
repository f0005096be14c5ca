"""The reference meter (role `meter`) read the moment a transaction starts, stops or reports meter values, for
the meter-disagrees warning: the charger's register is compared with what the meter counted between the same
frames."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from benchctl.csms.capture import TO_CSMS, CapturedFrame
from benchctl.csms.frames import CALL
from drivers.errors import DriverError
from drivers.meter.protocol import EnergyMeterProtocol

from .warnings import MeterRead

log = logging.getLogger("benchctl.run")

TRIGGERS = ("StartTransaction", "StopTransaction", "MeterValues")


class MeterProbe:
    """Capture listener: reads the meter for every StartTransaction/StopTransaction from the charger."""

    def __init__(self, meter: EnergyMeterProtocol, reads: dict[int, MeterRead]) -> None:
        self.meter = meter
        self.reads = reads  # frame index -> the reading (RunWatch.meter_reads)
        self._pending: set[asyncio.Task[None]] = set()

    def __call__(self, captured: CapturedFrame) -> None:
        f = captured.frame
        if captured.direction == TO_CSMS and f.message_type == CALL and f.action in TRIGGERS and f.error is None:
            task = asyncio.get_running_loop().create_task(self._read(captured.index))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _read(self, index: int) -> None:
        try:
            reading = await self.meter.read()
            self.reads[index] = MeterRead(reading.energy_wh, reading.power_w, time.time())
        except (DriverError, OSError) as exc:  # no reading, no comparison: never a bench error for a warning
            log.warning("reference meter not read for frame #%d: %s", index, exc)

    async def settle(self, timeout: float = 5.0) -> None:
        """Wait for the reads still in flight (the end of a case)."""
        if self._pending:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.gather(*self._pending, return_exceptions=True), timeout)
