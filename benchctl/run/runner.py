"""A run: start the Central System (and the simulator when the bench has one), assemble the bench, run each
case with the station returned to idle before it, and put the gear in its safe state on every way out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, Callable

from benchctl.bench.bench import Bench
from benchctl.bench.config import BenchConfig
from benchctl.csms.capture import Capture
from benchctl.csms.server import CentralSystem
from benchctl.scenario.engine import CaseRunner
from benchctl.scenario.model import Scenario
from hil_sim.bench import SimBench

from .idle import return_to_idle
from .results import ERROR, CaseResult
from .rundir import RunDir

log = logging.getLogger("benchctl.run")

CaseCallback = Callable[[int, Scenario, CaseResult | None], None]


async def run_cases(config: BenchConfig, scenarios: list[Scenario], run_dir: RunDir,
                    on_case: CaseCallback | None = None) -> list[CaseResult]:
    capture = Capture(run_dir.capture_path)
    values = config.values
    csms = CentralSystem(capture, values, config.csms_host, config.csms_port, config.csms_path,
                         response_timeout=values["message_timeout_s"])
    sim: SimBench | None = None
    bench: Bench | None = None
    results: list[CaseResult] = []
    run_dir.write_meta({"bench": config.name, "bench_file": config.file, "charge_point_id": config.charge_point_id,
                        "cases": [s.id for s in scenarios], "started": time.time(),
                        "simulator": None if config.simulator is None else {"faults": config.simulator.faults}})
    try:
        await csms.start()
        endpoints: dict[str, Any] = {}
        if config.simulator is not None:
            sim = SimBench(config.simulator, csms.url, config.charge_point_id, host=config.csms_host)
            endpoints = await sim.start()
        bench = Bench.build(config, endpoints)
        bench.steplog.listeners.append(run_dir.log_action)
        await bench.connect()
        link = csms.link(config.charge_point_id)
        for n, scenario in enumerate(scenarios, start=1):
            if on_case:
                on_case(n, scenario, None)
            capture.case = f"{scenario.id}:reset"
            problem = await return_to_idle(bench, link, timeout=values["message_timeout_s"])
            capture.case = scenario.id
            if problem is not None:
                result = CaseResult(scenario.id, scenario.title, ERROR, time.time(),
                                    reason=f"station not idle before the case (000_RESET): {problem}")
            else:
                result = await CaseRunner(scenario, bench, link).run()
            results.append(result)
            run_dir.append_result(result)
            if on_case:
                on_case(n, scenario, result)
    finally:
        if bench is not None:
            await bench.safe_state()
            await bench.close()
        if sim is not None:
            await sim.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(csms.stop(), 5)
        capture.close()
        run_dir.close()
    return results
