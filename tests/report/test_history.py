"""`benchctl runs`, `show` and `diff` over run directories as a run leaves them, damaged ones included."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchctl.record.run import load_run
from benchctl.report.history import RunNotFound, find_run, list_runs
from benchctl.report.run_diff import diff_runs

from support.python_env import python_cache_env

START = 1796600000.0


def call(action: str, payload: dict[str, Any], i: int, case: str) -> dict[str, Any]:
    return {"i": i, "dir": "charger->csms", "case": case, "type": "CALL", "action": action,
            "raw": json.dumps([2, f"m{i}", action, payload])}


def write_run(runs: Path, name: str, started: float, firmware: str, results: list[dict[str, Any]],
              frames: list[dict[str, Any]] = ()) -> Path:  # type: ignore[assignment]
    path = runs / name
    path.mkdir(parents=True)
    meta = {"bench": "lab", "started": started, "cases": [r["id"] for r in results],
            "dut": {"chargePointVendor": "ACME", "chargePointModel": "W1", "firmwareVersion": firmware}}
    (path / "run.json").write_text(json.dumps(meta))
    (path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in results))
    (path / "capture.jsonl").write_text("".join(json.dumps(f) + "\n" for f in frames))
    return path


def result(case: str, verdict: str, **more: Any) -> dict[str, Any]:
    return {"id": case, "title": f"title of {case}", "verdict": verdict, "started": START, "duration_s": 1.0,
            **more}


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    folder = tmp_path / "runs"
    old_frames = [call("StatusNotification", {"connectorId": 1, "status": "Preparing", "timestamp": "t1"}, 5,
                       "TC_003_CS"),
                  call("Authorize", {"idTag": "A"}, 7, "TC_003_CS")]
    new_frames = [call("Heartbeat", {}, 4, "TC_003_CS"),  # on the charger's clock: not a difference
                  call("StatusNotification", {"connectorId": 1, "status": "Preparing", "timestamp": "t2"}, 5,
                       "TC_003_CS"),
                  call("Authorize", {"idTag": "<b>B</b>"}, 6, "TC_003_CS")]
    timing = {"kind": "response", "name": "RemoteStartTransaction", "frames": [1, 2]}
    write_run(folder, "20261201-220000-lab", START, "1.2.0",
              [result("TC_003_CS", "PASS"), result("TC_010_CS", "FAIL", step=6, reason="Rejected"),
               result("TC_012_CS", "PASS", timings=[timing | {"ms": 200.0}])], old_frames)
    write_run(folder, "20261208-220000-lab", START + 7 * 86400, "1.3.0",
              [result("TC_003_CS", "FAIL", step=3, reason="idTag differs"), result("TC_010_CS", "PASS"),
               result("TC_012_CS", "PASS", timings=[timing | {"ms": 900.0}]), result("TC_013_CS", "PASS")],
              new_frames)
    damaged = folder / "20261205-220000-lab"
    damaged.mkdir()
    (damaged / "results.jsonl").write_text(json.dumps(result("TC_003_CS", "PASS")) + "\n{\"id\": \"TC_0")
    (folder / "not-a-run").mkdir()
    return folder


def test_runs_are_listed_newest_first_and_a_damaged_one_with_a_note(runs: Path) -> None:
    listed = list_runs(runs)
    assert [s.name for s in listed] == ["20261208-220000-lab", "20261205-220000-lab", "20261201-220000-lab"]
    assert [s.firmware for s in listed] == ["1.3.0", "", "1.2.0"]
    assert listed[0].counts == {"PASS": 3, "FAIL": 1} and listed[0].verdict == "FAIL"
    assert listed[1].notes == ["run.json is missing", "results.jsonl line 2: truncated (the run was cut off while "
                                                      "writing it); ignored"]


def test_a_run_is_found_by_path_name_or_unique_prefix(runs: Path) -> None:
    assert find_run("20261208", runs) == runs / "20261208-220000-lab"
    assert find_run(str(runs / "20261201-220000-lab"), runs) == runs / "20261201-220000-lab"
    with pytest.raises(RunNotFound, match="names 3 runs"):
        find_run("2026120", runs)
    with pytest.raises(RunNotFound, match="the latest is 20261208-220000-lab"):
        find_run("nope", runs)


def test_diff_names_flips_the_first_differing_frame_and_moved_timings(runs: Path) -> None:
    diff = diff_runs(load_run(runs / "20261201-220000-lab"), load_run(runs / "20261208-220000-lab"))
    assert [(c.id, c.before, c.after, c.new_failure) for c in diff.flipped] == [
        ("TC_003_CS", "PASS", "FAIL", True), ("TC_010_CS", "FAIL", "PASS", False)]
    first = diff.flipped[0].first_difference
    assert first is not None and first.position == 2  # the StatusNotification differs only in its timestamp
    assert first.before and first.before["payload"] == {"idTag": "A"}
    assert first.after and first.after["payload"] == {"idTag": "<b>B</b>"} and first.after["i"] == 6
    assert diff.only_after == ["TC_013_CS"] and diff.unchanged == 1
    assert [(t.case, t.name, t.before_ms, t.after_ms) for t in diff.timings] == [
        ("TC_012_CS", "RemoteStartTransaction", 200.0, 900.0)]
    assert diff_runs(load_run(runs / "20261201-220000-lab"), load_run(runs / "20261208-220000-lab"),
                     min_move_ms=1000.0).timings == []


def benchctl(*args: str, columns: int = 80, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "benchctl.cli", *args], capture_output=True, text=True,
                          timeout=120, env={**python_cache_env(), "COLUMNS": str(columns), "PATH": "/usr/bin:/bin",
                                            "BENCHCTL_LOCK_DIR": os.environ["BENCHCTL_LOCK_DIR"], **env})


@pytest.mark.parametrize("columns", [80, 200])
def test_the_commands_print_whole_names_at_any_width(runs: Path, columns: int) -> None:
    listed = benchctl("runs", "--runs", str(runs), columns=columns)
    assert listed.returncode == 0
    for name in ("20261208-220000-lab", "20261205-220000-lab", "20261201-220000-lab"):
        assert name in listed.stdout
    assert listed.stdout.index("20261208") < listed.stdout.index("20261201")
    shown = benchctl("show", "20261208", "--runs", str(runs), columns=columns)
    assert shown.returncode == 0 and "TC_003_CS" in shown.stdout and "idTag differs" in shown.stdout
    assert "1.3.0" in shown.stdout
    diffed = benchctl("diff", "20261201", "20261208", "--runs", str(runs), columns=columns)
    assert diffed.returncode == 1  # a new failure
    assert "TC_003_CS" in diffed.stdout and "new failure" in diffed.stdout and "Authorize" in diffed.stdout


def test_json_of_runs_show_and_diff_parses(runs: Path) -> None:
    listed = json.loads(benchctl("runs", "--runs", str(runs), "--json").stdout)
    assert [r["firmware"] for r in listed] == ["1.3.0", "", "1.2.0"]
    shown = json.loads(benchctl("show", "20261201", "--runs", str(runs), "--json").stdout)
    assert [(c["id"], c["verdict"]) for c in shown["cases"]] == [("TC_003_CS", "PASS"), ("TC_010_CS", "FAIL"),
                                                                 ("TC_012_CS", "PASS")]
    diffed = json.loads(benchctl("diff", "20261201", "20261208", "--runs", str(runs), "--json").stdout)
    assert [c["id"] for c in diffed["flipped"] if c["new_failure"]] == ["TC_003_CS"]
    assert diffed["timings"][0]["change_ms"] == 700.0


def test_diff_html_escapes_what_the_charger_sent(runs: Path, tmp_path: Path) -> None:
    page = tmp_path / "diff.html"
    out = benchctl("diff", "20261201", "20261208", "--runs", str(runs), "--html", str(page))
    assert out.returncode == 1
    html = page.read_text()
    assert "1.2.0" in html and "1.3.0" in html and "new failure" in html
    assert "&lt;b&gt;B&lt;/b&gt;" in html and "<b>B</b>" not in html


def test_an_unknown_or_ambiguous_run_is_a_usage_error(runs: Path) -> None:
    out = benchctl("show", "2026120", "--runs", str(runs))
    assert out.returncode == 2 and "names 3 runs" in out.stdout
    out = benchctl("diff", "nope", "20261208", "--runs", str(runs))
    assert out.returncode == 2 and "no run 'nope'" in out.stdout


def test_diff_of_two_simulated_firmwares_points_at_the_missing_preparing(tmp_path: Path) -> None:
    folder = tmp_path / "runs"
    assert benchctl("run", "003", "--runs", str(folder)).returncode == 0
    assert benchctl("run", "003", "--sim-fault", "skip_preparing", "--runs", str(folder)).returncode == 1
    good, bad = sorted(p.name for p in folder.iterdir())
    diffed = json.loads(benchctl("diff", good, bad, "--runs", str(folder), "--json").stdout)
    [flip] = diffed["flipped"]
    assert (flip["id"], flip["before"], flip["after"], flip["step"]) == ("TC_003_CS", "PASS", "FAIL", 1)
    first = flip["first_difference"]
    assert first["position"] == 1 and first["after"] is None
    assert first["before"]["action"] == "StatusNotification" and first["before"]["payload"]["status"] == "Preparing"
