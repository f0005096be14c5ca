"""The one run pipeline on its own, with a scripted case source: what it calls when, what it writes, what its
outputs are told, and that a stopped run puts the gear safe before it closes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from benchctl.bench.config import BenchConfig
from benchctl.csms.capture import TO_CHARGER, TO_CSMS
from benchctl.csms.frames import parse
from benchctl.paths import SCENARIOS
from benchctl.record.case import PASS, CaseResult
from benchctl.run.pipeline import Run, RunOutput
from benchctl.run.rundir import RunDir
from benchctl.scenario.model import Scenario, Step, load_scenario


def _scenario(tmp_path: Path, name: str) -> Scenario:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"id: {name}\ntitle: {name}\nsection: '0'\ngroup: test\nsteps:\n  - wait: 0\n")
    return load_scenario(path, SCENARIOS / "states")


class Scripted:
    """A case source that records the pipeline's calls; each case is `attempts` request/answer pairs, the case's
    label given again before each (as a retry does)."""

    def __init__(self, attempts: int = 1, hang: str | None = None) -> None:
        self.calls: list[str] = []
        self.attempts = attempts
        self.hang = hang  # the case whose run never ends (the run is stopped meanwhile)

    def meta(self) -> dict[str, Any]:
        return {"mode": "scripted"}

    async def open(self, run: Run["Scripted"]) -> None:
        self.calls.append("open")

    async def before_case(self, run: Run["Scripted"], scenario: Scenario) -> None:
        self.calls.append(f"before {scenario.id}")

    async def first_case(self, run: Run["Scripted"], planned: list[Scenario]) -> None:
        self.calls.append(f"first {[s.id for s in planned]}")

    async def run_case(self, run: Run["Scripted"], scenario: Scenario) -> CaseResult:
        self.calls.append(f"run {scenario.id}")
        if scenario.id == self.hang:
            await asyncio.Event().wait()
        for attempt in range(self.attempts):
            run.capture.case = f"{scenario.id}:reset"
            run.capture.case = scenario.id
            uid = f"{scenario.id}-{attempt}"
            pending: dict[str, str] = {}
            run.capture.add(TO_CHARGER, "CP", parse(json.dumps([2, uid, "ClearCache", {}]), pending))
            await asyncio.sleep(0.01 * (attempt + 1))
            run.capture.add(TO_CSMS, "CP", parse(json.dumps([3, uid, {"status": "Accepted"}]), pending))
        run.step_started(scenario.steps[0], scenario.id)
        return CaseResult(scenario.id, scenario.title, PASS, 0.0)

    async def make_safe(self, why: str) -> None:
        self.calls.append(f"safe: {why}")

    async def close(self, run: Run["Scripted"]) -> None:
        self.calls.append("close")


class Told(RunOutput):
    def __init__(self) -> None:
        self.events: list[str] = []

    def on_case(self, n: int, scenario: Scenario, result: CaseResult | None) -> None:
        self.events.append(f"{n} {scenario.id} {result.verdict if result else 'starts'}")

    def on_step(self, step: Step, case: str) -> None:
        self.events.append(f"step {step.kind} of {case}")

    def on_end(self, run_dir: Path) -> None:
        self.events.append(f"end {(run_dir / 'results.jsonl').read_text().count(chr(10))} results")


async def test_a_run_calls_its_source_in_order_and_tells_its_outputs(tmp_path: Path,
                                                                      fast_sim_config: BenchConfig) -> None:
    cases = [_scenario(tmp_path, "A1"), _scenario(tmp_path, "A2")]
    source, told = Scripted(), Told()
    run_dir = RunDir.create(tmp_path / "runs", "sim")
    results = await Run(fast_sim_config, run_dir, source, ["A1", "A2"], [told], {"extra": 1}).execute(cases)
    assert [r.id for r in results] == ["A1", "A2"]
    assert source.calls == ["open", "before A1", "first ['A1', 'A2']", "run A1", "before A2", "run A2", "close"]
    assert told.events == ["1 A1 starts", "step wait of A1", "1 A1 PASS", "2 A2 starts", "step wait of A2", "2 A2 PASS",
                           "end 2 results"]
    meta = json.loads((run_dir.path / "run.json").read_text())
    assert (meta["mode"], meta["extra"], meta["cases"]) == ("scripted", 1, ["A1", "A2"])
    assert meta["finished"] >= meta["started"]


async def test_a_retried_case_is_timed_on_its_last_attempt_only(tmp_path: Path, fast_sim_config: BenchConfig) -> None:
    run_dir = RunDir.create(tmp_path / "runs", "sim")
    run = Run(fast_sim_config, run_dir, Scripted(attempts=2), ["R1"])
    (result,) = await run.execute([_scenario(tmp_path, "R1")])
    # the first attempt's request/answer are frames 0 and 1, the last attempt's 2 and 3
    assert [t["frames"] for t in result.timings] == [[2, 3]]
    (stored,) = [json.loads(line) for line in run_dir.results_path.read_text().splitlines()]
    assert stored["timings"] == result.timings


async def test_a_stopped_run_puts_the_gear_safe_then_closes(tmp_path: Path, fast_sim_config: BenchConfig) -> None:
    source, told = Scripted(hang="S2"), Told()
    run_dir = RunDir.create(tmp_path / "runs", "sim")
    run = Run(fast_sim_config, run_dir, source, ["S1", "S2"], [told])
    task = asyncio.create_task(run.execute([_scenario(tmp_path, "S1"), _scenario(tmp_path, "S2")]))
    while "run S2" not in source.calls:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert source.calls[-2:] == ["safe: the run was stopped", "close"]
    assert told.events[-1] == "end 1 results"  # the finished case is on disk, the stopped one is not
    assert "finished" in json.loads((run_dir.path / "run.json").read_text())
