"""The standalone run's cases: benchctl is the Central System, opens the bench, returns the station to idle before
each case (000_RESET, configuration restored), runs the case within its time budget and retries it as Appendix D
allows. The run pipeline (benchctl.run.pipeline) does the rest; `run_cases` is the whole run in one call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from benchctl.bench.config import BenchConfig
from benchctl.config.pics import scenario_variables
from benchctl.csms.capture import Capture
from benchctl.csms.config_key import ConfigKey
from benchctl.csms.link import ChargerLink, ToolRequestError
from benchctl.plan.waits import mandated_wait_s
from benchctl.record.case import ERROR, FAIL, PASS, CaseResult
from benchctl.scenario.engine import CaseRunner
from benchctl.scenario.model import Scenario
from benchctl.scenario.status_rules import Allowances
from benchctl.security.pki import LabPki
from benchctl.transfer.run_files import FileSetupError, RunFiles

from .allowances import run_pics, station_allowances
from .budget import case_budget
from .configuration import read_configuration
from .files import start_run_files
from .idle import return_to_idle
from .meter_probe import MeterProbe
from .pipeline import Run, RunOutput
from .profile_check import DutProfile, ProfileContradiction, compare_profile
from .rundir import RunDir
from .session import BenchSession, open_bench
from .warnings import RunWatch

log = logging.getLogger("benchctl.run")


class Standalone:
    """The CaseSource of `benchctl run`, the pytest plugin and a fleet job (one bench session across cases)."""

    def __init__(self, config: BenchConfig, retries: int = 0, accept_profile: bool = False) -> None:
        self.config = config
        self.retries = retries  # Appendix D retests of a case, at most
        self.accept_profile = accept_profile  # a contradicting DUT profile is recorded, not a stop
        self.baseline: dict[str, ConfigKey] | None = None
        self.timeout = float(config.values["message_timeout_s"])
        self._stack = contextlib.AsyncExitStack()
        self.session: BenchSession | None = None
        self.budget: Callable[[Scenario, dict[str, Any]], float] = case_budget
        self.pki: LabPki | None = None  # the run's test PKI (run_dir/pki): firmware signing, TLS
        self.files: RunFiles | None = None  # the file server, started for the first case that moves files
        self._met = False  # meet_charger has just left the station idle, baseline read: the next reset is done
        self.pics: dict[str, Any] | None = None  # the run's PICS answers, read once: `pics.<field>`, profile check
        self.allowances = Allowances()  # the Appendix D rules the PICS switches on
        values = config.values
        self.watch = RunWatch(float(values["clock_warning_s"]), float(values["meter_accuracy_pct"]),
                              int(values["connector_id"]) if "meter" in config.roles else None)
        self.meter_probe: MeterProbe | None = None  # reads the reference meter at each transaction's ends
        self._scanned = 0  # the capture index the warnings have seen up to
        self._run: Run | None = None
        self._capture: Capture | None = None
        self._next: Scenario | None = None  # the case about to start, once told

    def meta(self) -> dict[str, Any]:
        return {}

    @property
    def run(self) -> Run:
        assert self._run is not None, "open() first"
        return self._run

    @property
    def capture(self) -> Capture:
        assert self._capture is not None, "open() first"
        return self._capture

    def workdir(self, run: Run) -> Path:
        """Where this bench's PKI and file server live: the run directory, or benches/<n>/ in it for the second
        bench on (each simulated bench has its own roots and firmware images)."""
        path, bench = run.run_dir.path, run.bench_of(self)
        return path if bench in (None, 1) else path / "benches" / str(bench)

    async def open(self, run: Run) -> None:
        self._run = run
        self._capture = run.capture_for(self)
        self.pics = run_pics(self.config, run.meta)
        self.allowances = station_allowances(self.pics)
        try:
            # the simulator is commissioned with its roots (open_bench): it trusts this PKI's manufacturer root
            self.pki = LabPki.create(self.workdir(run) / "pki", cpo_name=self.config.values["cpo_name"])
            self.session = await self._stack.enter_async_context(open_bench(self.config, self.capture, pki=self.pki))
        except BaseException:
            await self._stack.aclose()
            raise
        bench = run.bench_of(self)
        self.session.bench.steplog.listeners.append(lambda step: run.run_dir.log_action(step, bench))
        self.watch.attached_at = self.session.link.attached_at
        if self.session.bench.has("meter"):
            self.meter_probe = MeterProbe(self.session.bench.meter, self.watch.meter_reads)
            self.capture.listeners.append(self.meter_probe)

    async def before_case(self, run: Run, scenario: Scenario) -> None:
        """Only noted (the case's own 000_RESET, in attempt, brings the station to idle): on a run with several
        benches the first case of this one is not the plan's first."""
        self._next = scenario

    async def first_case(self, run: Run, planned: list[Scenario]) -> None:
        await self.meet_charger(planned)

    async def run_case(self, run: Run, scenario: Scenario) -> CaseResult:
        """The case, retried up to `retries` times when Appendix D allows (a FAIL found only by its status rules,
        or an ERROR of the bench); the final result carries the earlier attempts."""
        result = await self.attempt(scenario)
        earlier: list[dict[str, Any]] = []
        while len(earlier) < self.retries and retestable(result):
            earlier.append(attempt_summary(result))
            log.info("%s: %s, retrying (%d of %d)", scenario.id, result.verdict, len(earlier), self.retries)
            result = await self.attempt(scenario)
        result.attempts = earlier
        result.flaky = bool(earlier) and result.verdict == PASS
        return result

    async def attempt(self, scenario: Scenario) -> CaseResult:
        """000_RESET (idle, configuration restored), then the case within its time budget."""
        session, capture = self.session, self.capture
        assert session is not None, "open() first"
        capture.case = f"{scenario.id}:reset"
        problem = None
        if self._met:
            self._met = False
        elif (problem := await return_to_idle(session.bench, session.link, self.timeout, self.baseline)) is None:
            if self.baseline is None:
                self.baseline = await self._read_baseline(session.link)
        capture.case = scenario.id
        if problem is not None:
            result = _error(scenario, f"station not idle before the case (000_RESET): {problem}")
        elif (files_problem := await self._files_for(scenario)) is not None:
            result = _error(scenario, files_problem)
        else:
            budget = self.budget(scenario, self.config.values)
            started = time.time()
            try:
                known = {k: v.as_record() for k, v in (self.baseline or {}).items()}
                case_runner = CaseRunner(scenario, session.bench, session.link,
                                         files=self.files if scenario.file_server else None, known_keys=known,
                                         allowances=self.allowances, pics=self.pics)
                case_runner.on_step = lambda step: self.run.step_started(step, scenario.id)
                result = await asyncio.wait_for(case_runner.run(), budget)
            except asyncio.TimeoutError:
                # the next case's 000_RESET (or the end of the run) brings the station back, power cycle included
                result = _error(scenario, f"the case exceeded its time budget of {budget:.0f} s (derived from its "
                                          f"steps) and was ended")
                result.started, result.duration_s = started, time.time() - started
        if result.verdict == ERROR:
            # a gear fault, a case past its budget: whatever the case left plugged in or presented goes now, not
            # at the next case's 000_RESET after its waits
            await self.make_safe(f"{scenario.id} ended in ERROR")
        await self._warnings(result)
        return result

    async def meet_charger(self, planned: list[Scenario]) -> DutProfile | None:
        """Before the first case: the station idle, its BootNotification and configuration read and compared with
        the bench and the PICS (run.json's dut_profile). Raises ProfileContradiction when the charger contradicts
        them in a way that would make cases fail, unless accept_profile; None when the station is not idle (the
        first case then reports why)."""
        session, run = self.session, self.run
        assert session is not None, "open() first"
        first = self._next or (planned[0] if planned else None)
        if first is not None:
            self.capture.case = f"{first.id}:reset"
        if await return_to_idle(session.bench, session.link, timeout=self.timeout) is not None:
            return None
        self.baseline = await self._read_baseline(session.link)
        self._met = True
        if self.baseline is None:
            profile = DutProfile(error="GetConfiguration not answered")
        else:
            profile = compare_profile(run.meta.get("dut"), self.baseline, self.config, self.pics, planned)
        run.meta["dut_profile"] = profile.as_record(overridden=self.accept_profile and bool(profile.contradictions))
        run.write_meta()
        for row in profile.contradictions:
            log.warning("DUT profile: %s: charger %s, bench/PICS %s: %s", row.key, row.charger, row.expected, row.note)
        if profile.contradictions and not self.accept_profile:
            raise ProfileContradiction(profile)
        return profile

    async def _warnings(self, result: CaseResult) -> None:
        """The run's warnings over the frames since the last case (its 000_RESET included): never a verdict."""
        if self.meter_probe is not None:
            await self.meter_probe.settle()
        capture = self.capture
        # this session's frames only (a resumed run's earlier ones were scanned before), read back as needed
        result.warnings += self.watch.scan(capture.iter_frames(max(self._scanned, capture.first_index)))
        self._scanned = capture.next_index

    async def _files_for(self, scenario: Scenario) -> str | None:
        """Start the file server for the first case that moves files; why it cannot be, or None."""
        if not scenario.file_server or self.files is not None:
            return None
        assert self.session is not None and self.pki is not None
        try:
            self.files = await start_run_files(self.workdir(self.run), self.config, self.session.sim, self.baseline,
                                               self.pki)
        except (FileSetupError, OSError, ValueError) as exc:
            return f"file server: {exc}"
        self._stack.push_async_callback(self.files.stop)  # stopped at the end of the run, before the bench
        return None

    async def make_safe(self, why: str) -> None:
        """Every role in its safe state now (a stop, a gear fault), before whatever else the run still does."""
        session = self.session
        if session is None:
            return
        t0 = time.monotonic()
        errors = await session.bench.safe_state()
        log.warning("%s: gear in its safe state after %.2f s%s", why, time.monotonic() - t0,
                    "" if not errors else " (failed: " + "; ".join(map(str, errors)) + ")")

    async def close(self, run: Run) -> None:
        """Leave the charger as the run found it, then the bench in its safe state (whatever happened)."""
        try:
            session = self.session
            if session is not None and self.baseline is not None:
                self.capture.case = "end"
                problem = await return_to_idle(session.bench, session.link, self.timeout, self.baseline)
                if problem is not None:
                    log.warning("the charger is not left as the run found it: %s", problem)
        finally:
            await self._stack.aclose()

    async def _read_baseline(self, link: ChargerLink) -> dict[str, ConfigKey] | None:
        """What the station is before the first case: its BootNotification and every configuration key."""
        boots = [item.payload for item in link.inbox if item.action == "BootNotification"]
        if boots:
            self.run.meta["dut"] = boots[-1]
        try:
            baseline = await read_configuration(link)
        except ToolRequestError as exc:
            log.warning("configuration not read, so not restored between cases: %s", exc)
            return None
        self.run.meta["configuration"] = [k.as_record() for k in baseline.values()]
        self.run.write_meta()
        return baseline


def _error(scenario: Scenario, reason: str) -> CaseResult:
    return CaseResult(scenario.id, scenario.title, ERROR, time.time(), section=scenario.section,
                      group=scenario.group, certification=scenario.certification, reason=reason)


def retestable(result: CaseResult) -> bool:
    """Appendix D: a FAIL of a tool validation stands; one found only by the status rules may be retested, and
    an ERROR is the bench's or the run's, not a verdict on the charger."""
    return result.verdict == ERROR or (result.verdict == FAIL and result.retest is True)


def attempt_summary(result: CaseResult) -> dict[str, Any]:
    return {"verdict": result.verdict, "step": result.step, "reason": result.reason, "started": result.started,
            "duration_s": round(result.duration_s, 3), "retest": result.retest}


async def run_cases(config: BenchConfig, scenarios: list[Scenario], run_dir: RunDir,
                    outputs: Sequence[RunOutput] = (), extra_meta: dict[str, Any] | None = None, retries: int = 0,
                    accept_profile: bool = False, benches: int = 1) -> list[CaseResult]:
    """A standalone run of `scenarios`, on `benches` simulated benches at once when more than one (each its own
    simulator and Central System; the cases dealt out in the order given). Raises ProfileContradiction (nothing
    run, run.json says why) when the charger contradicts the bench or the PICS and `accept_profile` is not given."""
    count = max(1, min(benches, len(scenarios)))
    if count > 1 and (problem := why_one_bench(config)) is not None:
        raise ValueError(f"{config.file}: {benches} benches at once: {problem}")
    sources = [Standalone(config, retries, accept_profile) for _ in range(count)]
    run = Run(config, run_dir, sources[0], [s.id for s in scenarios], outputs, extra_meta, lanes=sources[1:])
    return await run.execute(longest_first(scenarios, config, run.meta) if count > 1 else scenarios)


def why_one_bench(config: BenchConfig) -> str | None:
    """Why the bench can run only once at a time, or None when copies of it can run side by side: a simulated bench
    whose gear is all on loopback ports of its own."""
    if config.simulator is None:
        return "it is a real bench with one charger; only a simulated bench can be run several times at once"
    mqtt = config.simulator.control.mqtt
    if mqtt is not None:
        return (f"its simulated gear takes its commands on the MQTT broker {mqtt.get('host')}:{mqtt.get('port')} "
                f"under {mqtt.get('prefix')}/, which every copy of the bench would share")
    return None


def longest_first(scenarios: list[Scenario], config: BenchConfig, meta: dict[str, Any]) -> list[Scenario]:
    """The order cases are dealt to several benches: the longest by their mandated waits first, so no bench is
    left with a long case at the end while the others idle (plan order among equals)."""
    boot_s = config.simulator.station.boot_delay_s if config.simulator is not None else 0.0
    values = config.values | scenario_variables(run_pics(config, meta))
    waits = {s.id: mandated_wait_s(s, values, boot_s=boot_s, connectors=config.connectors) for s in scenarios}
    return sorted(scenarios, key=lambda s: -waits[s.id])
