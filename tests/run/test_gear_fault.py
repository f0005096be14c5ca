"""A gear fault inside a case's own bench step (not in the reset before it): the EV emulator or the card presenter
stops answering mid-case. The case ends as ERROR within its budget, naming the device, and the gear is already
safe when its result is recorded (the cable the case plugged in is out), not only at the next case's reset."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from benchctl.bench.config import BenchConfig
from benchctl.record.case import CaseResult
from benchctl.run.budget import case_budget
from benchctl.run.pipeline import Run
from benchctl.run.rundir import RunDir
from benchctl.run.standalone import Standalone
from benchctl.scenario.model import Scenario
from drivers.steplog import Step
from hil_sim.bench import SimBench

EV_DEVICE_ID = 1  # the sim bench's EV emulator on the simulated Modbus server


async def _run_with_fault(config: BenchConfig, scenario: Scenario, tmp_path: Path,
                          hang: Callable[[SimBench, Step], bool | None]) -> tuple[CaseResult, dict[str, object]]:
    """Run the case; `hang(sim, step)` sees every bench step and hangs a device (True when it did). The device
    answers again once a step failed, so the safe state can reach it. What the simulated world shows when the
    result is in is returned with it."""
    run = Run(config, RunDir.create(tmp_path, "sim"), Standalone(config), [scenario.id])
    await run.start()
    try:
        source = run.source
        assert source.session is not None and source.session.sim is not None
        sim = source.session.sim

        def watch(step: Step) -> None:
            if step.error is not None:
                assert sim.modbus is not None
                sim.modbus.silent_devices.clear()
                sim.presenter.silent = False
            else:
                hang(sim, step)

        await source.meet_charger([scenario])
        source.session.bench.steplog.listeners.append(watch)
        result = await source.attempt(scenario)
        source.session.bench.steplog.listeners.remove(watch)
        connector = sim.world.connector(1)
        world = {"plugged_ev_side": connector.plugged_ev_side, "ev_state": connector.ev_state,
                 "card_uid": sim.world.card_uid, "cable": connector.plugged_charger_side}
    finally:
        await run.close()
    return result, world


def _hang_ev(sim: SimBench, step: Step) -> None:
    if step.role == "ev" and step.command == "set_plug" and step.args == {"connected": True}:
        assert sim.modbus is not None
        sim.modbus.silent_devices.add(EV_DEVICE_ID)  # plug_in's next request (state C) gets no answer


def _hang_presenter(sim: SimBench, step: Step) -> None:
    if step.role == "ev" and step.command == "set_cp_state" and step.args == {"state": "C"}:
        sim.presenter.silent = True  # the cable is in: the card step that follows gets no answer


@pytest.mark.parametrize(("role", "hang"), [("ev", _hang_ev), ("card", _hang_presenter)])
async def test_gear_that_hangs_mid_case_ends_it_as_error_with_the_gear_safe(
        fast_sim_config: BenchConfig, scenarios: dict[str, Scenario], tmp_path: Path, role: str,
        hang: Callable[[SimBench, Step], None]) -> None:
    """The EV emulator or the card presenter stops answering inside the case's own bench step."""
    scenario = scenarios["TC_003_CS"]
    result, world = await _run_with_fault(fast_sim_config, scenario, tmp_path, hang)
    assert result.verdict == "ERROR", result.reason
    assert "bench" in (result.reason or "") and role in (result.reason or ""), result.reason
    assert result.duration_s < case_budget(scenario, fast_sim_config.values)
    assert world == {"plugged_ev_side": False, "ev_state": "A", "card_uid": None, "cable": False}, world
