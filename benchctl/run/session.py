"""Everything a bench needs while benchctl works with it: the Central System the charger dials, the simulator
when the bench has one, and the assembled drivers. Leaving the context puts the gear in its safe state,
whatever happened inside."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any, AsyncIterator

from benchctl.bench.bench import Bench
from benchctl.bench.config import BenchConfig
from benchctl.csms.capture import Capture
from benchctl.csms.link import ChargerLink
from benchctl.csms.server import CentralSystem
from hil_sim.bench import SimBench


@dataclass
class BenchSession:
    config: BenchConfig
    csms: CentralSystem
    bench: Bench
    sim: SimBench | None
    broken: dict[str, Exception]  # roles whose driver could not be built (only when connect=False)

    @property
    def link(self) -> ChargerLink:
        return self.csms.link(self.config.charge_point_id)


@contextlib.asynccontextmanager
async def open_bench(config: BenchConfig, capture: Capture, connect: bool = True) -> AsyncIterator[BenchSession]:
    """With connect=False nothing is connected yet and roles that cannot be built are listed in `broken`,
    so a check can report each one."""
    values = config.values
    csms = CentralSystem(capture, values, config.csms_host, config.csms_port, config.csms_path,
                         response_timeout=values["message_timeout_s"])
    sim: SimBench | None = None
    bench: Bench | None = None
    try:
        await csms.start()
        endpoints: dict[str, Any] = {}
        if config.simulator is not None:
            sim = SimBench(config.simulator, csms.url, config.charge_point_id, host=config.csms_host)
            endpoints = await sim.start()
        broken: dict[str, Exception] = {}
        bench = Bench.build(config, endpoints, broken=None if connect else broken)
        if connect:
            await bench.connect()
        yield BenchSession(config, csms, bench, sim, broken)
    finally:
        if bench is not None:
            await bench.safe_state()
            await bench.close()
        if sim is not None:
            await sim.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(csms.stop(), 5)
