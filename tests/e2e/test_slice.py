"""The walking skeleton end to end: simulated charger and gear, real drivers, real WebSocket, run directory."""

from __future__ import annotations

import json
import re
from pathlib import Path

from benchctl.bench.config import BenchConfig
from benchctl.run.rundir import RunDir, read_results
from benchctl.run.standalone import run_cases
from benchctl.scenario.model import Scenario


async def test_healthy_charger_passes_the_three_cases(sim_config: BenchConfig, scenarios: dict[str, Scenario],
                                                      tmp_path: Path) -> None:
    run_dir = RunDir.create(tmp_path, "sim")
    chosen = [scenarios[i] for i in ("TC_001_CS", "TC_003_CS", "TC_010_CS")]
    results = await run_cases(sim_config, chosen, run_dir)

    assert [(r.id, r.verdict) for r in results] == [("TC_001_CS", "PASS"), ("TC_003_CS", "PASS"),
                                                    ("TC_010_CS", "PASS")], [r.reason for r in results]
    # one record per case, flushed to disk
    records = read_results(run_dir.path)
    assert [r["id"] for r in records] == ["TC_001_CS", "TC_003_CS", "TC_010_CS"]
    # every tool validation of the document is a check with its step number
    steps_checked = {r["id"]: {c["step"] for c in r["checks"]} for r in records}
    assert {2, 3, 4, 5, 7} <= steps_checked["TC_001_CS"]
    assert {1, 4, 6, 7} <= steps_checked["TC_003_CS"]
    assert {3, 6, 11, 12, 13} <= steps_checked["TC_010_CS"]
    assert all(c["ok"] for r in records for c in r["checks"])

    lines = [json.loads(line) for line in run_dir.capture_path.read_text().splitlines()]
    # the charger's connections in their place among the frames: the first, and one after each power cycle
    assert [r["event"]["kind"] for r in lines if r["dir"] == "connection"][:1] == ["open"]
    capture = [r for r in lines if r["dir"] != "connection"]
    assert {f["dir"] for f in capture} == {"charger->csms", "csms->charger"}
    assert all(f["valid"] for f in capture), [f for f in capture if not f["valid"]]
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", f["ts"]) for f in capture)
    # 000_RESET before each case empties the authorization cache (pre-condition of section 1.3)
    assert {f["case"] for f in capture if f["action"] == "ClearCache" and f["dir"] == "csms->charger"} == \
        {"TC_001_CS:reset", "TC_003_CS:reset", "TC_010_CS:reset", "end"}
    actions = {f["action"] for f in capture if f["case"] == "TC_003_CS"}
    assert {"StatusNotification", "Authorize", "StartTransaction"} <= actions

    # the bench actions went through the real drivers, logged as steps with their arguments
    logged = [json.loads(line) for line in run_dir.actions_path.read_text().splitlines()]
    commands = {(a["role"], a["command"]) for a in logged}
    assert {("ev", "set_plug"), ("ev", "set_cp_state"), ("card", "present"), ("mains", "cycle")} <= commands
    assert any(a["command"] == "present" and a["args"]["uid"] == "04A1B2C3" for a in logged)
    case_003 = next(r for r in records if r["id"] == "TC_003_CS")
    assert any(a["command"] == "set_plug" and a["args"] == {"connected": True} for a in case_003["actions"])


async def test_skip_preparing_names_the_step_and_reason(fast_sim_config: BenchConfig,
                                                        scenarios: dict[str, Scenario], tmp_path: Path) -> None:
    assert fast_sim_config.simulator is not None
    fast_sim_config.simulator.faults = ["skip_preparing"]
    run_dir = RunDir.create(tmp_path, "sim")
    (result,) = await run_cases(fast_sim_config, [scenarios["TC_003_CS"]], run_dir)
    assert (result.verdict, result.step) == ("FAIL", 1)
    assert "no StatusNotification" in result.reason
    record = read_results(run_dir.path)[0]
    assert record["verdict"] == "FAIL" and record["step"] == 1 and "TC_003_CS.yaml" in record["where"]
    # the reason says what was awaited, and the awaited message is the failed check of the case's Checks
    assert "no StatusNotification (status Preparing) from the charger within" in result.reason
    failed = [c for c in record["checks"] if not c["ok"]]
    assert [(c["step"], c["state"]) for c in failed] == [(1, "")]
    assert "StatusNotification.req with status Preparing" in failed[0]["description"]


async def test_a_reusable_states_steps_are_numbered_as_the_states(fast_sim_config: BenchConfig,
                                                                  scenarios: dict[str, Scenario],
                                                                  tmp_path: Path) -> None:
    """TC_005_1 starts with the state Charging (2.25 Table 105): a failure inside it is Charging's step, and its
    checks say so, where the case's own steps 1 and 3 are the case's."""
    assert fast_sim_config.simulator is not None
    fast_sim_config.simulator.faults = ["no_start_transaction"]
    run_dir = RunDir.create(tmp_path, "sim")
    (result,) = await run_cases(fast_sim_config, [scenarios["TC_005_1_CS"]], run_dir)
    assert result.verdict == "FAIL" and result.state == "Charging", result.reason
    assert "states/Charging.yaml" in result.where
    numbered = [c for c in result.checks if c.step is not None]  # the configuration state's have no step
    assert numbered and all(c.state == "Charging" for c in numbered)
    assert [c.step for c in result.failed_checks] == [result.step]
