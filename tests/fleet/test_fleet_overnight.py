"""Overnight style: a plan is submitted in the evening and its reports are there in the morning, with nobody at
the keyboard (no terminal, stdin closed) between `benchctl submit` and the reports."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

from benchctl.paths import ROOT

from support.fleet import Fleet

NIGHT_CASES = ["TC_003_CS", "TC_004_1_CS", "TC_010_CS", "TC_011_1_CS"]  # a plan cut short: fast cases only


def test_from_submit_to_reports_unattended(fleet: Fleet, tmp_path: Path) -> None:
    agent = fleet.start_agent("lab-night", "--tags", "type2,socket")
    # the DUT's PICS lives on the submitter's machine only: it travels inside the job
    pics = tmp_path / "submitter" / "dut-pics.yaml"
    pics.parent.mkdir()
    shutil.copyfile(ROOT / "pics" / "sim.yaml", pics)

    out = fleet.submit("--pics", str(pics), "--cases", *NIGHT_CASES, "--retries", "1", "--require", "type2",
                       "--wait", timeout=240)
    assert out.returncode in (0, 1), out.stdout + out.stderr + fleet.logs()
    job = re.search(r"queued job (\S+):", out.stdout).group(1)
    reports = re.search(r"reports on \S+: (.+)", out.stdout).group(1).split(", ")
    paths = {Path(p).name: Path(p) for p in reports}
    assert sorted(paths) == ["report.html", "report.json", "report.xml"] and all(p.is_file() for p in paths.values())
    run_dir = paths["report.json"].parent
    assert run_dir.parent == agent.runs.resolve()

    report = json.loads(paths["report.json"].read_text())
    ran = [c for c in report["cases"] if c["outcome"] not in ("NOT_SELECTED", "EXCLUDED")]
    assert sorted(c["id"] for c in ran) == sorted(NIGHT_CASES)
    assert report["summary"]["run"] == len(NIGHT_CASES)
    assert report["pics"]["model"] == "hil_sim" and report["plan"], "the PICS plan is in the report"
    # the exit status is the run's: 0 only when every case passed
    assert out.returncode == (0 if all(c["outcome"] == "PASS" for c in ran) else 1), ran
    assert f"{report['summary']['PASS']} passed, {len(ran) - report['summary']['PASS']} not passed" in out.stdout

    junit = ET.parse(paths["report.xml"]).getroot()
    assert {str(case.get("name")).split()[0] for case in junit.iter("testcase")} >= set(NIGHT_CASES)

    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["fleet"]["job"] == job and meta["fleet"]["agent"] == "lab-night" and meta["retries"] == 1
    assert (run_dir / "pics.yaml").read_text() == pics.read_text() and meta["pics_file"] == str(run_dir / "pics.yaml")

    listing = fleet.fleet_json()
    (entry,) = [j for j in listing["jobs"] if j["id"] == job]
    assert entry["state"] == "done" and entry["bench"] == "lab-night" and entry["exit_status"] == out.returncode
    assert entry["reports"]["html"] == str(paths["report.html"])
    assert listing["benches"][0]["status"] == "idle"
