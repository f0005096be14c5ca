"""`benchctl run` runs the plan of the DUT's PICS, records it with the charger's configuration, writes the three
reports, and leaves the charger's configuration as it found it."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from test_cli import benchctl

from benchctl.bench.config import BenchConfig
from benchctl.paths import ROOT
from benchctl.run.rundir import RunDir
from benchctl.run.standalone import run_cases
from benchctl.scenario.model import load_scenario


def test_list_without_selection_is_the_plan_of_the_pics(tmp_path: Path) -> None:
    full = benchctl("run", "--list", cwd=tmp_path)
    assert full.returncode == 0 and "TC_003_CS" in full.stdout
    no_local = benchctl("run", "--list", "--pics", str(ROOT / "pics" / "no-local-start-stop.yaml"), cwd=tmp_path)
    assert no_local.returncode == 0, no_local.stderr
    assert "TC_010_CS" in no_local.stdout and "TC_003_CS" not in no_local.stdout  # 003 needs local start


def test_run_writes_plan_configuration_and_reports(tmp_path: Path) -> None:
    out = benchctl("run", "003", "--runs", str(tmp_path / "runs"), cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    (run_dir,) = (tmp_path / "runs").iterdir()
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["pics_file"].endswith("pics/sim.yaml") and meta["pics"]["fixed_cable"] is False
    plan = {e["id"]: e for e in meta["plan"]}
    assert plan["TC_003_CS"]["included"] and not plan["TC_017_2_CS"]["included"]  # a socket, not tethered
    keys = {k["key"]: k for k in meta["configuration"]}
    assert keys["NumberOfConnectors"] == {"key": "NumberOfConnectors", "readonly": True, "value": "1"}
    assert meta["dut"]["chargePointModel"] == "hil_sim" and meta["finished"] >= meta["started"]
    suite = ET.parse(run_dir / "report.xml").getroot()
    assert any("TC_003_CS" in (case.get("name") or "") for case in suite.iter("testcase"))
    report = json.loads((run_dir / "report.json").read_text())
    assert "TC_003_CS" in json.dumps(report)
    assert "TC_003_CS" in (run_dir / "report.html").read_text()


async def test_a_key_a_case_changes_is_restored_before_the_next(sim_config: BenchConfig, tmp_path: Path) -> None:
    changer = tmp_path / "TC_900_CS.yaml"
    changer.write_text(
        "id: TC_900_CS\ntitle: changes a key\nsection: '9.9'\n"
        "configuration: {ConnectionTimeOut: 17}\n"
        "steps:\n  - send: GetConfiguration\n    payload: {key: [ConnectionTimeOut]}\n"
        "    response: {'configurationKey[key=ConnectionTimeOut].value': '17'}\n")
    reader = tmp_path / "TC_901_CS.yaml"
    reader.write_text(
        "id: TC_901_CS\ntitle: reads it\nsection: '9.9'\n"
        "steps:\n  - send: GetConfiguration\n    payload: {key: [ConnectionTimeOut]}\n"
        "    response: {'configurationKey[key=ConnectionTimeOut].value': '60'}\n")
    scenarios = [load_scenario(changer, ROOT / "scenarios" / "states"),
                 load_scenario(reader, ROOT / "scenarios" / "states")]
    results = await run_cases(sim_config, scenarios, RunDir.create(tmp_path, "sim"))
    assert [(r.id, r.verdict) for r in results] == [("TC_900_CS", "PASS"), ("TC_901_CS", "PASS")], \
        [r.reason for r in results]
