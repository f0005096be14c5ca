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
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Generic, Protocol, Sequence, TypeVar

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

    def on_step(self, step: Step) -> None:
        """A step of the current case starts."""

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
    def __init__(self, config: "BenchConfig", run_dir: RunDir, source: Source, cases: list[str],
                 outputs: Sequence[RunOutput] = (), extra_meta: dict[str, Any] | None = None) -> None:
        self.config = config
        self.run_dir = run_dir
        self.source = source
        self.outputs = list(outputs)
        self.capture = Capture(run_dir.capture_path)
        self.meta: dict[str, Any] = {
            "bench": config.name, "bench_file": config.file, "charge_point_id": config.charge_point_id,
            "cases": cases, "started": time.time(),
            "simulator": None if config.simulator is None else {"faults": config.simulator.faults},
            **source.meta(), **(extra_meta or {})}
        self._closed = False

    async def start(self) -> None:
        self.run_dir.write_meta(self.meta)
        try:
            await self.source.open(self)
        except BaseException:
            self._finish()
            raise

    async def first_case(self, planned: list[Scenario]) -> None:
        await self.source.first_case(self, planned)

    async def case(self, scenario: Scenario) -> CaseResult:
        """The case judged, its timings measured and its result on disk."""
        result = await self.source.run_case(self, scenario)
        records = [f.as_record() for f in self.capture.frames_of_case(scenario.id)]
        result.timings = [t.as_record() for t in case_timings(records, result.actions)]
        self.run_dir.append_result(result)
        return result

    def step_started(self, step: Step) -> None:
        for output in self.outputs:
            output.on_step(step)

    def write_meta(self) -> None:
        self.run_dir.write_meta(self.meta)

    async def make_safe(self, why: str) -> None:
        await self.source.make_safe(why)

    async def close(self) -> None:
        try:
            await self.source.close(self)
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
        """Every case in order. Stopped (Ctrl-C, SIGTERM, SIGHUP, an agent's job stopped): the gear goes to its safe
        state before anything else, not after the end of the run has waited for a charger a cut network keeps
        offline."""
        results: list[CaseResult] = []
        await self.start()
        try:
            for n, scenario in enumerate(scenarios, start=1):
                await self.source.before_case(self, scenario)
                self._tell(n, scenario, None)
                if n == 1:
                    await self.first_case(scenarios)
                result = await self.case(scenario)
                results.append(result)
                self._tell(n, scenario, result)
        except asyncio.CancelledError:
            await self.make_safe("the run was stopped")
            raise
        finally:
            await self.close()
        return results

    def _tell(self, n: int, scenario: Scenario, result: CaseResult | None) -> None:
        for output in self.outputs:
            output.on_case(n, scenario, result)
