"""A run: open the bench, run each case with the station returned to idle before it, record every result."""

from __future__ import annotations

import logging
import time
from typing import Callable

from benchctl.bench.config import BenchConfig
from benchctl.csms.capture import Capture
from benchctl.scenario.engine import CaseRunner
from benchctl.scenario.model import Scenario

from .idle import return_to_idle
from .results import ERROR, CaseResult
from .rundir import RunDir
from .session import open_bench

log = logging.getLogger("benchctl.run")

CaseCallback = Callable[[int, Scenario, CaseResult | None], None]


async def run_cases(config: BenchConfig, scenarios: list[Scenario], run_dir: RunDir,
                    on_case: CaseCallback | None = None) -> list[CaseResult]:
    capture = Capture(run_dir.capture_path)
    results: list[CaseResult] = []
    run_dir.write_meta({"bench": config.name, "bench_file": config.file, "charge_point_id": config.charge_point_id,
                        "cases": [s.id for s in scenarios], "started": time.time(),
                        "simulator": None if config.simulator is None else {"faults": config.simulator.faults}})
    try:
        async with open_bench(config, capture) as session:
            session.bench.steplog.listeners.append(run_dir.log_action)
            for n, scenario in enumerate(scenarios, start=1):
                if on_case:
                    on_case(n, scenario, None)
                capture.case = f"{scenario.id}:reset"
                problem = await return_to_idle(session.bench, session.link,
                                               timeout=config.values["message_timeout_s"])
                capture.case = scenario.id
                if problem is not None:
                    result = CaseResult(scenario.id, scenario.title, ERROR, time.time(),
                                        reason=f"station not idle before the case (000_RESET): {problem}")
                else:
                    result = await CaseRunner(scenario, session.bench, session.link).run()
                results.append(result)
                run_dir.append_result(result)
                if on_case:
                    on_case(n, scenario, result)
    finally:
        capture.close()
        run_dir.close()
    return results
