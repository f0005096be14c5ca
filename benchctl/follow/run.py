"""A followed run: the charger dials benchctl's proxy, the proxy dials the tool, and each case of the plan is
observed in turn while the operator runs it in the tool. The run directory is the one `benchctl run` writes
(capture.jsonl from the proxy, actions.jsonl, results.jsonl, run.json), so the reports read it the same way."""

from __future__ import annotations

import ssl
import time
from typing import Any, Callable

from benchctl.bench.config import BenchConfig
from benchctl.csms.capture import Capture
from benchctl.perf.timings import case_timings
from benchctl.proxy.bench import open_proxied_bench
from benchctl.proxy.tls import UpstreamTls
from benchctl.record.case import CaseResult
from benchctl.run.rundir import RunDir
from benchctl.run.runner import run_pics, station_allowances
from benchctl.scenario.model import Scenario

from .cue import FINISHED, Cue, CueMoment, give
from .observer import CaseObserver

CaseCallback = Callable[[int, Scenario, CaseResult | None], None]


async def follow_cases(config: BenchConfig, scenarios: list[Scenario], run_dir: RunDir, upstream: str, *,
                       cue: Cue | None, act: bool = True, on_case: CaseCallback | None = None,
                       tool_timeout_s: float | None = None, start_timeout_s: float | None = None,
                       upstream_tls: UpstreamTls | ssl.SSLContext | None = None,
                       extra_meta: dict[str, Any] | None = None) -> list[CaseResult]:
    """Each case observed in order; `on_case(n, scenario, None)` just before benchctl starts watching it (the
    operator may start it in the tool from then on), `on_case(n, scenario, result)` once judged. Between cases,
    with act, the gear goes back to idle after the cue's FINISHED moment, so the tool's reset case finds the
    connector free."""
    capture = Capture(run_dir.capture_path)
    meta: dict[str, Any] = {
        "bench": config.name, "bench_file": config.file, "charge_point_id": config.charge_point_id,
        "cases": [s.id for s in scenarios], "started": time.time(), "mode": "follow", "upstream": upstream,
        "act": act, "simulator": None if config.simulator is None else {"faults": config.simulator.faults},
        **(extra_meta or {})}
    run_dir.write_meta(meta)
    pics = run_pics(config, meta)  # the station's Appendix D allowances and `pics.<field>`, as in `benchctl run`
    allowances = station_allowances(pics)
    results: list[CaseResult] = []
    try:
        async with open_proxied_bench(config, capture, upstream, upstream_tls) as proxied:
            proxied.bench.steplog.listeners.append(run_dir.log_action)
            for n, scenario in enumerate(scenarios, start=1):
                if n > 1 and act:
                    if cue is not None:
                        await give(cue, CueMoment(scenarios[n - 2].id, FINISHED, None))
                    capture.case = f"{scenarios[n - 2].id}:idle"
                    await proxied.bench.safe_state()
                capture.case = scenario.id
                first_frame = len(capture.frames)
                observer = CaseObserver(scenario, capture, proxied.bench, config.values, act=act, cue=cue,
                                        tool_timeout_s=tool_timeout_s, start_timeout_s=start_timeout_s,
                                        allowances=allowances, pics=pics)
                if on_case is not None:
                    on_case(n, scenario, None)
                proxied.proxy.connection_listeners.append(observer.link.connection_opened)
                try:
                    result = await observer.run()
                finally:
                    proxied.proxy.connection_listeners.remove(observer.link.connection_opened)
                records = [f.as_record() for f in capture.frames[first_frame:] if f.case == scenario.id]
                result.timings = [t.as_record() for t in case_timings(records, result.actions)]
                run_dir.append_result(result)
                results.append(result)
                if on_case is not None:
                    on_case(n, scenario, result)
    finally:
        meta["finished"] = time.time()
        run_dir.write_meta(meta)
        capture.close()
        run_dir.close()
    return results
