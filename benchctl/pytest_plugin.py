"""pytest plugin: scenario files are test items, so firmware teams get pytest's selection, JUnit output and
plugins on the conformance cases.

    pytest --bench bench_configs/sim.yaml scenarios/ -k 003

Only active with --bench. One bench session serves every collected case, in the order collected, on an event
loop of its own thread, so the charger and the gear keep running between items; each case is preceded by
000_RESET as in `benchctl run`, and the run directory (capture, actions, results, reports) is written as
`benchctl run` writes it.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any, Coroutine, Iterator, TypeVar

import pytest

from benchctl.record.case import NOT_APPLICABLE, NOT_RUNNABLE, PASS, CaseResult
from benchctl.scenario.model import Scenario, load_scenario

T = TypeVar("T")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("benchctl", "benchctl conformance scenarios")
    group.addoption("--bench", type=Path, help="bench config: collect scenarios/TC_*.yaml and run them on it")
    group.addoption("--pics", type=Path, help="PICS file: cases its plan leaves out are skipped, with the reason "
                                              "(default: the bench's dut.pics)")
    group.addoption("--bench-runs", type=Path, default=Path("runs"), help="where run directories go")
    group.addoption("--sim-fault", action="append", default=[], help="switch on a fault of the simulated charger")
    group.addoption("--accept-profile", action="store_true",
                    help="run although the charger contradicts the bench or the PICS (the DUT profile check)")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if parent.config.getoption("bench") is None:
        return None
    if file_path.suffix == ".yaml" and file_path.name.startswith("TC_") and file_path.parent.name != "states":
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        scenario = load_scenario(self.path)  # a ConfigError here names file, line and field
        yield ScenarioItem.from_parent(self, name=scenario.id, scenario=scenario)


class CaseFailed(Exception):
    def __init__(self, result: CaseResult) -> None:
        super().__init__(result.reason)
        self.result = result


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: Scenario, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        # -k matches titles and groups too, as `benchctl run -k` does
        self.extra_keyword_matches.update({scenario.title, scenario.group, scenario.section})
        if scenario.certification:
            self.add_marker(f"certification_{scenario.certification}")

    def runtest(self) -> None:
        bench = _bench(self.config)
        if bench.contradiction is not None:  # as `benchctl run` does: exit status 5, no case run
            pytest.exit(f"DUT profile: {bench.contradiction} (--accept-profile runs anyway)", returncode=5)
        reason = bench.plan_excludes.get(self.scenario.id)
        if reason is not None:
            pytest.skip(f"not in the plan of {bench.pics_file}: {reason}")
        result = bench.call(bench.run.case(self.scenario))
        if result.verdict in (NOT_RUNNABLE, NOT_APPLICABLE):
            pytest.skip(result.reason)
        if result.verdict != PASS:
            raise CaseFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CaseFailed):
            r = excinfo.value.result
            lines = [f"{r.id} {r.verdict}" + (f" at step {r.step}" if r.step is not None else "") + f": {r.reason}"]
            if r.where:
                lines.append(f"scenario: {r.where}")
            lines += [f"  step {c.step}: {c.description}: observed {c.observed!r} (frames {c.frames})"
                      for c in r.checks if not c.ok]
            if r.retest:
                lines.append("Appendix D: only findings it says to retest (connectorId 0 without an error); retest "
                             "before counting it")
            return "\n".join(lines)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, 0, f"{self.scenario.id} {self.scenario.title}"


class _BenchThread:
    """The bench session on its own loop and thread, opened at the first case and closed at session end."""

    def __init__(self, config: pytest.Config) -> None:
        from benchctl.bench.config import load_bench
        from benchctl.config.pics import load_pics
        from benchctl.plan import make_plan, plan_as_records
        from benchctl.run.pipeline import Run
        from benchctl.run.rundir import RunDir
        from benchctl.run.standalone import Standalone

        bench = load_bench(config.getoption("bench"))
        if config.getoption("sim_fault"):
            if bench.simulator is None:
                raise pytest.UsageError(f"--sim-fault needs a bench with a simulator; {bench.file} has none")
            from hil_sim.faults import unknown_faults_message

            if problem := unknown_faults_message(config.getoption("sim_fault")):
                raise pytest.UsageError(problem)
            bench.simulator.faults = sorted(set(bench.simulator.faults) | set(config.getoption("sim_fault")))
        items = [i for i in config.stash[_ITEMS] if isinstance(i, ScenarioItem)]
        meta: dict[str, Any] = {}
        self.plan_excludes: dict[str, str] = {}
        pics = config.getoption("pics") or (Path(bench.pics) if bench.pics else None)
        self.pics_file = str(pics)
        if pics is not None:
            plan = make_plan(load_pics(pics), [i.scenario for i in items])
            meta = {"pics_file": str(pics), "pics": load_pics(pics).values(), "plan": plan_as_records(plan)}
            self.plan_excludes = {e.id: e.reason for e in plan if not e.included}
        self.run_dir = RunDir.create(config.getoption("bench_runs"), bench.name)
        source = Standalone(bench, accept_profile=bool(config.getoption("accept_profile")))
        self.run = Run(bench, self.run_dir, source, [i.scenario.id for i in items], extra_meta=meta)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="benchctl-bench", daemon=True)
        self.thread.start()
        self.call(self.run.start())
        from benchctl.run.profile_check import ProfileContradiction

        self.contradiction: ProfileContradiction | None = None
        try:
            self.call(self.run.first_case([i.scenario for i in items if i.scenario.id not in self.plan_excludes]))
        except ProfileContradiction as exc:
            self.contradiction = exc

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def close(self) -> Path:
        try:
            self.call(self.run.close())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
        from benchctl.report import write_reports

        write_reports(self.run_dir.path)
        return self.run_dir.path


_ITEMS = pytest.StashKey[list[pytest.Item]]()
_BENCH = pytest.StashKey[_BenchThread]()


def pytest_configure(config: pytest.Config) -> None:
    for status, word in (("M", "mandatory"), ("C", "conditional"), ("O", "optional")):
        config.addinivalue_line("markers", f"certification_{status}: a case {word} for certification (Appendix C)")


def pytest_collection_finish(session: pytest.Session) -> None:
    """The items after -k / -m deselection: they are the run's cases."""
    session.config.stash[_ITEMS] = list(session.items)


def _bench(config: pytest.Config) -> _BenchThread:
    if _BENCH not in config.stash:
        config.stash[_BENCH] = _BenchThread(config)
    return config.stash[_BENCH]


def pytest_sessionfinish(session: pytest.Session) -> None:
    bench = session.config.stash.get(_BENCH, None)
    if bench is not None:
        path = bench.close()
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"benchctl run directory: {path} (report.html, report.xml, report.json)")
