"""Every scenario, end to end against the simulated bench: it passes against the healthy charger, and each
fault of the simulator fails the case and step it declares (hil_sim.faults), so every check is shown to be
able to fail. A scenario no fault can fail is reported here too."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchctl.bench.config import BenchConfig
from benchctl.paths import SCENARIOS
from benchctl.run.rundir import RunDir
from benchctl.run.runner import run_cases
from benchctl.scenario.model import Scenario
from hil_sim.faults import FAULTS

CASE_IDS = sorted(p.stem for p in SCENARIOS.glob("TC_*.yaml"))


def _fault_targets() -> list[tuple[str, str, int]]:
    """Every declared fault with the case and step it must fail (from hil_sim.faults, so none is forgotten)."""
    targets = []
    for fault in FAULTS.values():
        for target in fault.caught_by:
            case, _, step = target.partition(" step ")
            targets.append((fault.name, case, int(step)))
    return targets


@pytest.mark.parametrize("case", CASE_IDS)
async def test_case_passes_against_the_healthy_charger(case: str, sim_config: BenchConfig,
                                                       scenarios: dict[str, Scenario], tmp_path: Path) -> None:
    (result,) = await run_cases(sim_config, [scenarios[case]], RunDir.create(tmp_path, "sim"))
    assert result.verdict == "PASS", f"{result.verdict} at step {result.step}: {result.reason} ({result.where})"
    assert all(c.ok for c in result.checks)


@pytest.mark.parametrize(("fault", "case", "step"), _fault_targets())
async def test_each_fault_fails_its_case_at_its_step(fault: str, case: str, step: int,
                                                     fast_sim_config: BenchConfig,
                                                     scenarios: dict[str, Scenario], tmp_path: Path) -> None:
    assert fast_sim_config.simulator is not None
    fast_sim_config.simulator.faults = [fault]
    (result,) = await run_cases(fast_sim_config, [scenarios[case]], RunDir.create(tmp_path, "sim"))
    assert result.verdict == "FAIL", f"{result.verdict}: {result.reason}"
    assert result.step == step, result.reason
    assert result.reason
    assert result.where.startswith(scenarios[case].file) or "states" in result.where


def test_every_scenario_is_failed_by_some_fault() -> None:
    caught = {case for _, case, _ in _fault_targets()}
    assert sorted(set(CASE_IDS) - caught) == []


def test_every_fault_names_an_existing_scenario() -> None:
    assert sorted({case for _, case, _ in _fault_targets()} - set(CASE_IDS)) == []
