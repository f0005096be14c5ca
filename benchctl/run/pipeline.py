"""The one run pipeline: `benchctl run`, `benchctl follow`, `benchctl octt run`, the pytest plugin and a fleet job
all run their cases through `Run`.

What differs between them is where a case's verdict comes from, a `CaseSource`:
  standalone  benchctl is the Central System and acts every step (benchctl.run.standalone)
  follow      an operator runs the official tool, benchctl observes through its proxy (benchctl.follow.source)
  octt        benchctl drives the official tool and observes beside it (benchctl.octt.companion)
What is the same is here, once: run.json, the capture, one results.jsonl line per case (CaseResult), the chapter 8
timings of each case, the gear's safe state when the run is stopped, and the outputs told as the run goes (live
progress, a fleet agent's progress, the reports at the end).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Generic, Protocol, Sequence, TypeVar

from benchctl.csms.capture import Capture
from benchctl.perf.timings import case_timings
from benchctl.record.case import CaseResult
from benchctl.scenario.model import Scenario, Step

from .rundir import RunDir

if TYPE_CHECKING:
    from benchctl.bench.config import BenchConfig


class RunOutput:
    """Told as a run goes; each method may be left as it is here (nothing to do)."""

    def on_case(self, n: int, scenario: Scenario, result: CaseResult | None) -> None:
        """The n-th case is about to start (result None), or has been judged (its result, already on disk)."""

    def on_step(self, step: Step, case: str) -> None:
        """A step of case `case` starts (several cases run at once on a run with several benches)."""

    def on_end(self, run_dir: Path) -> None:
        """The run directory is complete: every result written, run.json finished."""


class CaseCallback(RunOutput):
    """A plain `on_case(n, scenario, result)` function as an output."""

    def __init__(self, on_case: Callable[[int, Scenario, CaseResult | None], None]) -> None:
        self._on_case = on_case

    def on_case(self, n: int, scenario: Scenario, result: CaseResult | None) -> None:
        self._on_case(n, scenario, result)


class CaseSource(Protocol):
    """Where a run's verdicts come from. The run calls open once; for each case before_case (before the case is
    announced), first_case (the first case only, once announced) and run_case; make_safe when the run is stopped;
    close once (always, whatever happened)."""

    def meta(self) -> dict[str, Any]:
        """The run.json keys of this kind of run (mode, upstream, tool...)."""
        ...

    async def open(self, run: "Run") -> None: ...

    async def before_case(self, run: "Run", scenario: Scenario) -> None: ...

    async def first_case(self, run: "Run", planned: list[Scenario]) -> None: ...

    async def run_case(self, run: "Run", scenario: Scenario) -> CaseResult: ...

    async def make_safe(self, why: str) -> None: ...

    async def close(self, run: "Run") -> None: ...


Source = TypeVar("Source", bound=CaseSource)


class Run(Generic[Source]):
    """A run of cases from `source`; with `lanes` (more sources of the same kind, e.g. one per simulated bench) the
    cases are dealt out to whichever source is free, in the order given, into the same run directory."""

    def __init__(self, config: "BenchConfig", run_dir: RunDir, source: Source, cases: list[str],
                 outputs: Sequence[RunOutput] = (), extra_meta: dict[str, Any] | None = None,
                 lanes: Sequence[Source] = ()) -> None:
        self.config = config
        self.run_dir = run_dir
        self.source = source
        self.lanes = [source, *lanes]
        self.outputs = list(outputs)
        self.capture = Capture(run_dir.capture_path)
        self._captures = {id(source): self.capture}
        if lanes:
            self.capture.bench = 1
        self.meta: dict[str, Any] = {
            "bench": config.name, "bench_file": config.file, "charge_point_id": config.charge_point_id,
            "cases": cases, "started": time.time(),
            "simulator": None if config.simulator is None else {"faults": config.simulator.faults},
            **source.meta(), **(extra_meta or {})} | ({"benches": len(self.lanes)} if lanes else {})
        self._closed = False

    def bench_of(self, source: Source) -> int | None:
        """Which simulated bench `source` is (1, 2...) in a run with several; None in a run with one. Frames, results
        and actions are tagged with it."""
        return self.lanes.index(source) + 1 if len(self.lanes) > 1 else None

    def capture_for(self, source: Source) -> Capture:
        """The capture `source` records into: the run's own for the first source, for each other one a capture of
        its own labels and frames on the same capture.jsonl."""
        key = id(source)
        if key not in self._captures:
            bench = self.bench_of(source)
            assert bench is not None, "a source the run was not given"
            self._captures[key] = self.capture.sibling(bench=bench)
        return self._captures[key]

    async def start(self) -> None:
        self.run_dir.write_meta(self.meta)
        opened: list[Source] = []

        async def open_lane(lane: Source) -> None:
            await lane.open(self)
            opened.append(lane)

        try:
            await _each(self.lanes, open_lane)
        except BaseException:
            if len(self.lanes) > 1:  # a source that failed to open cleaned up itself; the others are closed
                with contextlib.suppress(Exception):
                    await _each(opened, lambda lane: lane.close(self))
            self._finish()
            raise

    async def first_case(self, planned: list[Scenario]) -> None:
        await self.source.first_case(self, planned)

    async def case(self, scenario: Scenario, source: Source | None = None) -> CaseResult:
        """The case judged, its timings measured and its result on disk."""
        source = self.source if source is None else source
        result = await source.run_case(self, scenario)
        records = [f.as_record() for f in self.capture_for(source).frames_of_case(scenario.id)]
        result.timings = [t.as_record() for t in case_timings(records, result.actions)]
        result.bench = self.bench_of(source)
        self.run_dir.append_result(result)
        return result

    def step_started(self, step: Step, case: str) -> None:
        for output in self.outputs:
            output.on_step(step, case)

    def write_meta(self) -> None:
        self.run_dir.write_meta(self.meta)

    async def make_safe(self, why: str) -> None:
        await _each(self.lanes, lambda lane: lane.make_safe(why))

    async def close(self) -> None:
        try:
            await _each(self.lanes, lambda lane: lane.close(self))
        finally:
            self._finish()

    def _finish(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.meta["finished"] = time.time()
        self.run_dir.write_meta(self.meta)
        self.capture.close()
        self.run_dir.close()
        for output in self.outputs:
            output.on_end(self.run_dir.path)

    async def execute(self, scenarios: list[Scenario]) -> list[CaseResult]:
        """Every case, in order (dealt out in that order when the run has several sources). Stopped (Ctrl-C,
        SIGTERM, SIGHUP, an agent's job stopped): the gear goes to its safe state before anything else, not after
        the end of the run has waited for a charger a cut network keeps offline."""
        results: list[CaseResult] = []
        queue = list(enumerate(scenarios, start=1))
        await self.start()
        try:
            await _each(self.lanes, lambda lane: self._work(lane, queue, scenarios, results))
        except asyncio.CancelledError:
            await self.make_safe("the run was stopped")
            raise
        finally:
            await self.close()
        return results

    async def _work(self, source: Source, queue: list[tuple[int, Scenario]], planned: list[Scenario],
                    results: list[CaseResult]) -> None:
        """One source's share: the next case nobody has taken, until none is left."""
        first = True
        while queue:
            n, scenario = queue.pop(0)
            await source.before_case(self, scenario)
            self._tell(n, scenario, None)
            if first:
                first = False
                await source.first_case(self, planned)
            result = await self.case(scenario, source)
            results.append(result)
            self._tell(n, scenario, result)

    def _tell(self, n: int, scenario: Scenario, result: CaseResult | None) -> None:
        for output in self.outputs:
            output.on_case(n, scenario, result)


async def _each(lanes: list[Source], do: Callable[[Source], Awaitable[None]]) -> None:
    """`do` for every source at once. The first failure cancels the others and is raised as it is (a caller's
    `except ProfileContradiction` still sees it); being cancelled cancels them all."""
    if len(lanes) <= 1:
        for lane in lanes:
            await do(lane)
        return
    tasks = [asyncio.ensure_future(do(lane)) for lane in lanes]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    failed = [error for task in done if not task.cancelled() and (error := task.exception()) is not None]
    if failed:
        raise failed[0]
