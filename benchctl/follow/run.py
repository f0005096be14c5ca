"""A followed run: the charger dials benchctl's proxy, the proxy dials the tool, and each case of the plan is
observed in turn while the operator runs it in the tool. It goes through the one run pipeline
(benchctl.run.pipeline) with `Followed` as its case source, so the run directory is the one `benchctl run` writes
(capture.jsonl from the proxy, actions.jsonl, results.jsonl, run.json) and the reports read it the same way."""

from __future__ import annotations

import contextlib
import ssl
from typing import Any, Sequence

from benchctl.bench.config import BenchConfig
from benchctl.proxy.bench import ProxiedBench, open_proxied_bench
from benchctl.proxy.tls import UpstreamTls
from benchctl.record.case import CaseResult
from benchctl.run.allowances import run_pics, station_allowances
from benchctl.run.pipeline import Run, RunOutput
from benchctl.run.rundir import RunDir
from benchctl.scenario.model import Scenario
from benchctl.scenario.status_rules import Allowances

from .cue import FINISHED, Cue, CueMoment, give
from .observer import CaseObserver


class Followed:
    """The CaseSource of `benchctl follow`. Between cases, with act, the gear goes back to idle after the cue's
    FINISHED moment, so the tool's reset case finds the connector free."""

    def __init__(self, config: BenchConfig, upstream: str, *, cue: Cue | None, act: bool = True,
                 tool_timeout_s: float | None = None, start_timeout_s: float | None = None,
                 upstream_tls: UpstreamTls | ssl.SSLContext | None = None) -> None:
        self.config = config
        self.upstream = upstream
        self.cue = cue
        self.act = act
        self.tool_timeout_s = tool_timeout_s
        self.start_timeout_s = start_timeout_s
        self.upstream_tls = upstream_tls
        self.proxied: ProxiedBench | None = None
        self.pics: dict[str, Any] | None = None
        self.allowances = Allowances()
        self._previous: str | None = None
        self._stack = contextlib.AsyncExitStack()

    def meta(self) -> dict[str, Any]:
        return {"mode": "follow", "upstream": self.upstream, "act": self.act}

    async def open(self, run: Run) -> None:
        # the station's Appendix D allowances and `pics.<field>`, as in `benchctl run`
        self.pics = run_pics(self.config, run.meta)
        self.allowances = station_allowances(self.pics)
        self.proxied = await self._stack.enter_async_context(
            open_proxied_bench(self.config, run.capture, self.upstream, self.upstream_tls))
        self.proxied.bench.steplog.listeners.append(run.run_dir.log_action)

    async def before_case(self, run: Run, scenario: Scenario) -> None:
        """The gear idle again after the previous case, before the next is announced to the operator."""
        assert self.proxied is not None, "open() first"
        if self._previous is not None and self.act:
            if self.cue is not None:
                await give(self.cue, CueMoment(self._previous, FINISHED, None))
            run.capture.case = f"{self._previous}:idle"
            await self.proxied.bench.safe_state()
        self._previous = scenario.id

    async def first_case(self, run: Run, planned: list[Scenario]) -> None:
        """Nothing before the first case: the tool's own reset case brings the station to idle."""

    async def run_case(self, run: Run, scenario: Scenario) -> CaseResult:
        proxied = self.proxied
        assert proxied is not None, "open() first"
        run.capture.case = scenario.id
        observer = CaseObserver(scenario, run.capture, proxied.bench, self.config.values, act=self.act, cue=self.cue,
                                tool_timeout_s=self.tool_timeout_s, start_timeout_s=self.start_timeout_s,
                                allowances=self.allowances, pics=self.pics)
        observer.runner.on_step = lambda step: run.step_started(step, scenario.id)
        proxied.proxy.connection_listeners.append(observer.link.connection_opened)
        try:
            return await observer.run()
        finally:
            proxied.proxy.connection_listeners.remove(observer.link.connection_opened)

    async def make_safe(self, why: str) -> None:
        if self.proxied is not None:
            await self.proxied.bench.safe_state()

    async def close(self, run: Run) -> None:
        await self._stack.aclose()


async def follow_cases(config: BenchConfig, scenarios: list[Scenario], run_dir: RunDir, upstream: str, *,
                       cue: Cue | None, act: bool = True, outputs: Sequence[RunOutput] = (),
                       tool_timeout_s: float | None = None, start_timeout_s: float | None = None,
                       upstream_tls: UpstreamTls | ssl.SSLContext | None = None,
                       extra_meta: dict[str, Any] | None = None) -> list[CaseResult]:
    """Each case observed in order; an output's `on_case(n, scenario, None)` comes just before benchctl starts
    watching it (the operator may start it in the tool from then on), `on_case(n, scenario, result)` once
    judged."""
    source = Followed(config, upstream, cue=cue, act=act, tool_timeout_s=tool_timeout_s,
                      start_timeout_s=start_timeout_s, upstream_tls=upstream_tls)
    return await Run(config, run_dir, source, [s.id for s in scenarios], outputs, extra_meta).execute(scenarios)
