"""A stuck case is ended at its time budget and the run goes on; Appendix D retests are recorded attempt by
attempt, and a case that passes only on a retry is flagged flaky."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import benchctl.run.standalone as runner_module
from benchctl.bench.config import BenchConfig
from benchctl.paths import SCENARIOS
from benchctl.record.case import ERROR, FAIL, PASS, CaseResult
from benchctl.report import write_reports
from benchctl.run.budget import FACTOR, SLACK_S, case_budget
from benchctl.run.pipeline import Run
from benchctl.run.rundir import RunDir
from benchctl.run.standalone import Standalone, run_cases
from benchctl.scenario.model import Scenario, load_scenario

VALUES = {"message_timeout_s": 10, "connection_timeout_s": 4, "meter_interval_s": 2}


def _scenario(tmp_path: Path, name: str, steps: str) -> Scenario:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"id: {name}\ntitle: {name}\nsection: '0'\ngroup: test\nsteps:\n{steps}")
    return load_scenario(path, SCENARIOS / "states")


def test_budget_is_the_steps_bounds_doubled_plus_slack(tmp_path: Path) -> None:
    s = _scenario(tmp_path, "B1", "  - wait: 5\n  - action: power_cycle\n  - expect: BootNotification\n"
                                  "    timeout_s: 30\n  - send: ClearCache\n")
    assert case_budget(s, VALUES) == FACTOR * (5 + 90 + 30 + 10) + SLACK_S


def test_budget_resolves_bench_values_and_counts_states(tmp_path: Path) -> None:
    s = _scenario(tmp_path, "B2", "  - wait: ${connection_timeout_s}\n  - absent: StatusNotification\n"
                                  "    for_s: 3\n  - state: Charging\n")
    charging_only = _scenario(tmp_path, "B3", "  - state: Charging\n")
    assert case_budget(s, VALUES) == case_budget(charging_only, VALUES) + FACTOR * (4 + 3)
    assert case_budget(charging_only, VALUES) > SLACK_S + FACTOR * 10  # the state's steps are in it


def test_every_scenario_has_a_finite_budget_above_its_waits(scenarios: dict[str, Scenario],
                                                            sim_config: BenchConfig) -> None:
    for scenario in scenarios.values():
        waits = sum(float(s.data["wait"]) for s in scenario.steps
                    if s.kind == "wait" and isinstance(s.data["wait"], (int, float)))
        budget = case_budget(scenario, sim_config.values)
        assert waits < budget < 3600, scenario.id


async def test_a_case_over_its_budget_is_ended_and_the_run_goes_on(fast_sim_config: BenchConfig,
                                                                    scenarios: dict[str, Scenario],
                                                                    tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    stuck = _scenario(tmp_path, "STUCK", "  - wait: 30\n")
    monkeypatch.setattr(runner_module, "case_budget",
                        lambda s, values: 1.0 if s.id == "STUCK" else case_budget(s, values))
    run_dir = RunDir.create(tmp_path, "sim")
    first, after = await run_cases(fast_sim_config, [stuck, scenarios["TC_001_CS"]], run_dir)
    assert first.verdict == ERROR and "time budget of 1 s" in first.reason
    assert 0.9 < first.duration_s < 5
    assert after.verdict == PASS


class Scripted(Standalone):
    """A standalone run whose attempts give scripted verdicts: the retry policy on its own, no charger needed."""

    def __init__(self, config: BenchConfig, verdicts: list[tuple[str, bool]], retries: int) -> None:
        super().__init__(config, retries)
        self.verdicts, self.calls = verdicts, 0

    async def attempt(self, scenario: Scenario) -> CaseResult:
        verdict, retest = self.verdicts[self.calls]
        self.calls += 1
        return CaseResult(scenario.id, scenario.title, verdict, float(self.calls), retest=retest,
                          reason=f"attempt {self.calls}", step=None if verdict == PASS else 3)


@pytest.mark.parametrize("verdicts, retries, calls, final, flaky", [
    ([(FAIL, True), (PASS, False)], 2, 2, PASS, True),            # Appendix D finding, then clean: flaky
    ([(FAIL, True), (FAIL, True), (FAIL, True)], 2, 3, FAIL, False),  # retried up to the count
    ([(FAIL, False)], 2, 1, FAIL, False),                         # a tool validation failure stands
    ([(ERROR, False), (PASS, False)], 1, 2, PASS, True),          # a bench error is retried too
    ([(FAIL, True)], 0, 1, FAIL, False),                          # retries off
])
async def test_retests_as_appendix_d_allows(tmp_path: Path, fast_sim_config: BenchConfig,
                                            verdicts: list[tuple[str, bool]], retries: int, calls: int, final: str,
                                            flaky: bool) -> None:
    run_dir = RunDir.create(tmp_path, "scripted")
    run = Run(fast_sim_config, run_dir, Scripted(fast_sim_config, verdicts, retries), ["R1"])
    scenario = _scenario(tmp_path, "R1", "  - wait: 0\n")
    result = await run.case(scenario)
    assert (run.source.calls, result.verdict, result.flaky) == (calls, final, flaky)
    assert [a["reason"] for a in result.attempts] == [f"attempt {n}" for n in range(1, calls)]
    (stored,) = [json.loads(line) for line in run_dir.results_path.read_text().splitlines()]
    assert stored["attempts"] == result.attempts and stored["flaky"] == flaky
    await run.close()
    html = write_reports(run_dir.path)["html"].read_text()
    assert (f"{calls} attempts" in html) == (calls > 1)
    assert ("flaky, " in html) == flaky
