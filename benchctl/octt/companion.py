"""Certification day, unattended: the official tool is the Central System, benchctl drives it over HTTP, sits
between the charger and it as the proxy, does the physical steps and gives its own verdict beside the tool's.

`Companion` is the run pipeline's case source (benchctl.run.pipeline). For each case of the plan: the gear goes to
its safe state, the tool runs TC_CP_V16_000_RESET, then the case;
while the case runs benchctl's own observer (benchctl.follow, act=False: the prompts do the acting) judges the
same traffic with the scenario's checks and Appendix D. Each result carries both verdicts and flags a
disagreement.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any, AsyncIterator, Callable, Sequence

from benchctl.bench.config import BenchConfig
from benchctl.csms.capture import Capture
from benchctl.follow.observer import CaseObserver
from benchctl.proxy.bench import ProxiedBench, open_proxied_bench
from benchctl.record.case import ERROR, FAIL, NOT_RUNNABLE, PASS, CaseResult, Check
from benchctl.run.allowances import run_pics, station_allowances
from benchctl.run.pipeline import Run, RunOutput
from benchctl.run.rundir import RunDir
from benchctl.scenario.model import Scenario

from .callbacks import SutCallbackServer
from .client import OcttClient
from .driver import CaseDriver, DrivenCase, PromptRecord
from .evidence import Evidence
from .pace import DEFAULT_IDLE_POLL_S, DEFAULT_POLL_S
from .prompts import PromptBook, load_prompts

log = logging.getLogger("benchctl.octt")

RESET_SUFFIX = ":reset"


@dataclass
class CompanionResult(CaseResult):
    """A case result of a companion run: benchctl's own verdict is `octt.benchctl_verdict`, the tool's is
    `octt.tool_verdict`; `verdict` is the tool's unless benchctl could not drive the case (ERROR)."""

    octt: dict[str, Any] = field(default_factory=dict)


@dataclass
class CompanionSettings:
    tool_url: str
    upstream: str
    poll_s: float = DEFAULT_POLL_S  # the quick pace, after a prompt or a frame
    idle_poll_s: float = DEFAULT_IDLE_POLL_S  # the pace it backs off to while nothing happens
    run_timeout_s: float = 3600.0
    callbacks_host: str | None = None  # serve the SUT callbacks there too (None: not served)
    callbacks_port: int = 0


def tool_verdict(result: str) -> str:
    """The tool's testCase_Result as one of benchctl's verdicts."""
    return {"PASS": PASS, "PASSED": PASS, "FAIL": FAIL, "FAILED": FAIL}.get(result.strip().upper(), ERROR)


class Companion:
    """The CaseSource of `benchctl octt run`: the tool's verdict, with benchctl's own beside it."""

    def __init__(self, config: BenchConfig, settings: CompanionSettings, book: PromptBook | None = None) -> None:
        self.config = config
        self.settings = settings
        self.book = book or load_prompts()
        self.session: ProxiedBench | None = None
        self.client = OcttClient(settings.tool_url, run_timeout_s=settings.run_timeout_s)
        self.evidence: Evidence | None = None
        self.driver: CaseDriver | None = None
        self.callbacks: SutCallbackServer | None = None
        self.tool_cases: dict[str, str] = {}
        self.on_prompt: Callable[[PromptRecord], None] | None = None
        self._stack = contextlib.AsyncExitStack()
        self._run: Run[Companion] | None = None

    def meta(self) -> dict[str, Any]:
        return {"mode": "octt", "tool": self.settings.tool_url, "upstream": self.settings.upstream,
                "prompts_file": self.book.file}

    @property
    def run(self) -> Run["Companion"]:
        assert self._run is not None, "open() first"
        return self._run

    @property
    def capture(self) -> Capture:
        return self.run.capture

    async def open(self, run: Run["Companion"]) -> None:
        self._run = run
        try:
            await self._stack.enter_async_context(self.client)
            self.tool_cases = {c.name: c.description for c in await self.client.list_cases()}
            self.session = await self._stack.enter_async_context(
                open_proxied_bench(self.config, run.capture, self.settings.upstream))
        except BaseException:
            await self._stack.aclose()
            raise
        bench = self.session.bench
        bench.steplog.listeners.append(run.run_dir.log_action)
        cp_id = self.config.charge_point_id
        proxy = self.session.proxy
        self.evidence = Evidence(self.capture, bench, self.config.values, self.book,
                                 connected=lambda: any(b.cp_id == cp_id for b in proxy.bridges),
                                 allowances=station_allowances(run_pics(self.config, run.meta)))
        self.driver = CaseDriver(self.client, self.book, self.evidence, bench, poll_s=self.settings.poll_s,
                                 idle_poll_s=self.settings.idle_poll_s, on_prompt=self._prompted)
        if self.settings.callbacks_host is not None:
            self.callbacks = SutCallbackServer(bench, self.book, host=self.settings.callbacks_host,
                                               port=self.settings.callbacks_port, variables=self.evidence.variables)
            await self.callbacks.start()
            self._stack.push_async_callback(self.callbacks.stop)
            run.meta["sut_callbacks"] = self.callbacks.url
            run.write_meta()

    def _prompted(self, record: PromptRecord) -> None:
        if self.on_prompt is not None:
            self.on_prompt(record)

    async def before_case(self, run: Run, scenario: Scenario) -> None:
        """Nothing yet: the case's own 000_RESET (run_case) brings the station to idle."""

    async def first_case(self, run: Run, planned: list[Scenario]) -> None:
        """Nothing more for the first case: the tool's reset case comes first for every case."""

    async def run_case(self, run: Run, scenario: Scenario) -> CompanionResult:
        assert self.session is not None and self.driver is not None and self.evidence is not None, "start() first"
        tool_case = self.book.tool_case(scenario.id)
        octt: dict[str, Any] = {"tool_case": tool_case, "reset_case": self.book.reset_case}
        if tool_case not in self.tool_cases:
            return _result(scenario, NOT_RUNNABLE, f"the tool has no case {tool_case}", octt)
        # 000_RESET: the gear idle first (no cable, no card), then the tool's own reset case
        self.capture.case = self.evidence.case = scenario.id + RESET_SUFFIX
        errors = await self.session.bench.safe_state()
        if errors:
            return _result(scenario, ERROR, "bench safe state failed: " + "; ".join(map(str, errors)), octt)
        reset = await self.driver.drive(self.book.reset_case)
        octt["reset"] = _driven(reset)
        if reset.problem is not None or reset.verdict is None or tool_verdict(reset.verdict.result) != PASS:
            why = reset.problem or f"the tool's verdict {reset.verdict.result if reset.verdict else '?'}"
            return _result(scenario, ERROR, f"station not idle before the case ({self.book.reset_case}): {why}",
                           octt)
        # the case: benchctl's observer listens before the tool starts, so it sees every frame of the case
        self.capture.case = self.evidence.case = scenario.id
        self.evidence.reservation_case = scenario.group == "Reservation"
        values = self.config.values
        observer = CaseObserver(scenario, self.capture, self.session.bench, values, act=False,
                                charge_point_id=self.config.charge_point_id,
                                tool_timeout_s=self.settings.run_timeout_s,
                                start_timeout_s=self.settings.run_timeout_s)
        observing = asyncio.create_task(observer.run())
        driven = await self.driver.drive(tool_case)
        octt.update(_driven(driven))
        checks = [await self._quirk_check(c.check, c.why, c.where) for c in self.book.checks_for(tool_case)]
        own = await self._own_verdict(scenario, observing, observer)
        return self._combine(scenario, driven, own, checks, octt)

    async def _own_verdict(self, scenario: Scenario, observing: "asyncio.Task[CaseResult]",
                           observer: CaseObserver) -> CaseResult:
        """The observer's verdict; once the tool's case ended, what it still waits for cannot come any more
        than its own timeouts allow."""
        grace = float(self.config.values["message_timeout_s"]) + 2
        done, _ = await asyncio.wait({observing}, timeout=grace)
        if not done:
            observing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await observing
            return _result(scenario, ERROR, f"benchctl's observer had not finished {grace:g} s after the tool "
                                            f"ended the case", {})
        try:
            return observing.result()
        except Exception as exc:  # an observer bug must not hide the tool's verdict
            log.exception("%s: observer failed", scenario.id)
            return _result(scenario, ERROR, f"benchctl's observer failed: {exc}", {})

    async def _quirk_check(self, check: str, why: str, where: str) -> Check:
        assert self.session is not None
        bench = self.session.bench
        if check == "no_charging_current":
            # the charger may start charging a moment after the tool's verdict: give it the PWM settle time
            await asyncio.sleep(float(self.config.values.get("pwm_settle_s", 2)))
            measured = await bench.ev.measure()
            ok = measured.current_limit_a is None
            return Check(None, f"no charging current offered on the Control Pilot ({why}; {where})", ok,
                         measured.as_dict())
        raise ValueError(f"unknown case check {check!r} ({where})")

    def _combine(self, scenario: Scenario, driven: DrivenCase, own: CaseResult, checks: list[Check],
                 octt: dict[str, Any]) -> CompanionResult:
        tool = tool_verdict(driven.verdict.result) if driven.verdict is not None else None
        mine = own.verdict
        failed = [c for c in checks if not c.ok]
        if failed and mine == PASS:
            mine = FAIL
        reasons = []
        if driven.problem is not None:
            verdict = ERROR
            reasons.append(driven.problem)
        else:
            verdict = tool if tool is not None else ERROR
        if failed:
            verdict = FAIL if verdict == PASS else verdict
            reasons += [f"benchctl check failed: {c.description}" for c in failed]
        judged = (PASS, FAIL)
        disagreement = tool in judged and mine in judged and tool != mine
        if disagreement:
            reasons.append(f"DISAGREEMENT: the tool says {tool}, benchctl says {mine}"
                           + (f" ({own.reason})" if own.reason else ""))
        elif mine not in judged:
            reasons.append(f"benchctl's own verdict: {mine}" + (f" ({own.reason})" if own.reason else ""))
        elif own.reason and mine != PASS:
            reasons.append(f"benchctl: {own.reason}")
        octt.update({"tool_verdict": tool, "benchctl_verdict": mine, "benchctl_step": own.step,
                     "benchctl_reason": own.reason, "benchctl_where": own.where, "disagreement": disagreement,
                     "checks": [asdict(c) for c in checks]})
        return CompanionResult(scenario.id, scenario.title, verdict, driven.started, driven.duration_s,
                               step=own.step, reason="; ".join(reasons), where=own.where,
                               checks=own.checks + checks, actions=own.actions, section=scenario.section,
                               group=scenario.group, certification=scenario.certification,
                               status_rules=own.status_rules, retest=own.retest, octt=octt)

    async def make_safe(self, why: str) -> None:
        if self.session is not None:
            errors = await self.session.bench.safe_state()
            if errors:
                log.warning("%s: safe state failed: %s", why, "; ".join(map(str, errors)))

    async def close(self, run: Run) -> None:
        await self._stack.aclose()


def _driven(driven: DrivenCase) -> dict[str, Any]:
    return {"tool_result": driven.verdict.result if driven.verdict else None,
            "tool_answer": driven.verdict.raw if driven.verdict else None,
            "problem": driven.problem, "prompts": [p.as_record() for p in driven.prompts]}


def _result(scenario: Scenario, verdict: str, reason: str, octt: dict[str, Any]) -> CompanionResult:
    return CompanionResult(scenario.id, scenario.title, verdict, time.time(), section=scenario.section,
                           group=scenario.group, certification=scenario.certification, reason=reason, octt=octt)


@contextlib.asynccontextmanager
async def companion_run(config: BenchConfig, run_dir: RunDir, settings: CompanionSettings,
                        book: PromptBook | None = None,
                        extra_meta: dict[str, Any] | None = None,
                        outputs: Sequence[RunOutput] = ()) -> AsyncIterator[Run[Companion]]:
    """A companion run, open: its `case(scenario)` runs one case; its `source` is the Companion."""
    cases = list((extra_meta or {}).get("cases") or [])
    run = Run(config, run_dir, Companion(config, settings, book), cases, outputs, extra_meta)
    await run.start()
    try:
        yield run
    finally:
        await run.close()
