"""A run: open the bench, run each case with the station returned to idle before it, record every result."""

from __future__ import annotations

import logging
import time
from typing import Any, Callable

from benchctl.bench.config import BenchConfig
from benchctl.csms.capture import Capture
from benchctl.csms.link import ChargerLink, ToolRequestError
from benchctl.scenario.engine import CaseRunner
from benchctl.scenario.model import Scenario

from .configuration import ConfigKey, read_configuration, restore_configuration
from .idle import return_to_idle
from .results import ERROR, CaseResult
from .rundir import RunDir
from .session import open_bench

log = logging.getLogger("benchctl.run")

CaseCallback = Callable[[int, Scenario, CaseResult | None], None]


async def _baseline(link: ChargerLink, meta: dict[str, Any], run_dir: RunDir) -> dict[str, ConfigKey] | None:
    """What the station is before the first case: its BootNotification and every configuration key."""
    boots = [item.payload for item in link.inbox if item.action == "BootNotification"]
    if boots:
        meta["dut"] = boots[-1]
    try:
        baseline = await read_configuration(link)
    except ToolRequestError as exc:
        log.warning("configuration not read, so not restored between cases: %s", exc)
        return None
    meta["configuration"] = [k.as_record() for k in baseline.values()]
    run_dir.write_meta(meta)
    return baseline


def _restore_problem(problems: list[str]) -> str | None:
    return "configuration keys not restored: " + "; ".join(problems) if problems else None


async def run_cases(config: BenchConfig, scenarios: list[Scenario], run_dir: RunDir,
                    on_case: CaseCallback | None = None,
                    extra_meta: dict[str, Any] | None = None) -> list[CaseResult]:
    capture = Capture(run_dir.capture_path)
    results: list[CaseResult] = []
    meta: dict[str, Any] = {
        "bench": config.name, "bench_file": config.file, "charge_point_id": config.charge_point_id,
        "cases": [s.id for s in scenarios], "started": time.time(),
        "simulator": None if config.simulator is None else {"faults": config.simulator.faults}, **(extra_meta or {})}
    run_dir.write_meta(meta)
    baseline: dict[str, ConfigKey] | None = None
    timeout = config.values["message_timeout_s"]
    try:
        async with open_bench(config, capture) as session:
            session.bench.steplog.listeners.append(run_dir.log_action)
            for n, scenario in enumerate(scenarios, start=1):
                if on_case:
                    on_case(n, scenario, None)
                capture.case = f"{scenario.id}:reset"
                problem = await return_to_idle(session.bench, session.link, timeout=timeout)
                if problem is None:
                    if baseline is None:
                        baseline = await _baseline(session.link, meta, run_dir)
                    else:
                        problem = _restore_problem(await restore_configuration(session.link, baseline))
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
            capture.case = "end"
            if baseline is not None and await return_to_idle(session.bench, session.link, timeout=timeout) is None:
                for problem in await restore_configuration(session.link, baseline):
                    log.warning("configuration not restored at the end of the run: %s", problem)
    finally:
        meta["finished"] = time.time()
        run_dir.write_meta(meta)
        capture.close()
        run_dir.close()
    return results
