"""The three reports of a run, from synthetic run directories (every verdict, a plan, a run cut off mid-write)
and from a real simulated run."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchctl.bench.config import BenchConfig
from benchctl.report import load_run, write_reports
from benchctl.report.cases import EXCLUDED, NO_RESULT, NOT_SELECTED, case_rows
from benchctl.report.timeline import ACTION, EV, FRAME, RESET, case_timeline
from benchctl.run.rundir import RunDir
from benchctl.run.standalone import run_cases
from benchctl.scenario.model import Scenario

T0 = 1_800_000_000.0
XSS = "<script>alert(1)</script>"


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="microseconds")


def _frame(i: int, t: float, case: str | None, direction: str, msg: list[Any], action: str,
           valid: bool = True, error: str | None = None) -> dict[str, Any]:
    types = {2: "CALL", 3: "CALLRESULT", 4: "CALLERROR"}
    return {"i": i, "ts": _iso(t), "mono": 100.0 + t - T0, "dir": direction, "cp": "CP-1", "case": case,
            "type": types[msg[0]], "id": msg[1], "action": action, "valid": valid, "error": error,
            "raw": json.dumps(msg)}


def _action(t: float, role: str, command: str, args: dict[str, Any], error: str | None = None) -> dict[str, Any]:
    return {"ts": t, "role": role, "command": command, "args": args, "result": None, "error": error,
            "duration_s": 0.001}


UP, DOWN = "charger->csms", "csms->charger"
FRAMES = [
    _frame(0, T0 + 0.5, "TC_001_CS:reset", UP, [2, "b1", "BootNotification",
                                                {"chargePointVendor": "ACME", "chargePointModel": "X1"}],
           "BootNotification"),
    _frame(1, T0 + 1.5, "TC_001_CS", UP, [2, "s1", "StatusNotification",
                                          {"connectorId": 0, "errorCode": "NoError", "status": "Available"}],
           "StatusNotification"),
    _frame(2, T0 + 9.5, "TC_003_CS:reset", UP, [2, "h1", "Heartbeat", {}], "Heartbeat"),
    # the frame the failing check cites; the DUT put markup into a free-text field
    _frame(3, T0 + 10.20, "TC_003_CS", UP, [2, "s2", "StatusNotification",
                                            {"connectorId": 1, "errorCode": "NoError", "status": "Available",
                                             "info": XSS}], "StatusNotification"),
    _frame(4, T0 + 10.21, "TC_003_CS", DOWN, [3, "s2", {}], "StatusNotification"),
    _frame(5, T0 + 20.5, "TC_010_CS", UP, [2, "x1", "Authorize", {"idTag": 7}], "Authorize", valid=False,
           error="idTag: 7 is not of type 'string'"),
    _frame(6, T0 + 50.0, "TC_099_CS", UP, [2, "m1", "MeterValues", {"connectorId": 1, "meterValue": []}],
           "MeterValues"),
]
# logged in the order the steps ended (a nested call ends first), which is not the order they started
CASE_003_ACTIONS = [
    _action(T0 + 10.30, "ev", "set_cp_state", {"state": "C"}),
    _action(T0 + 10.05, "ev", "set_plug", {"connected": True}),
    _action(T0 + 10.10, "ev", "set_cp_state", {"state": "B"}),
    _action(T0 + 10.25, "card", "present", {"uid": "04A1B2C3"}, error="presenter did not answer"),
]
RESULTS = [
    {"id": "TC_001_CS", "title": "Cold Boot Charge Point", "verdict": "PASS", "started": T0 + 1.0,
     "duration_s": 2.0, "step": None, "reason": "", "where": "",
     "checks": [{"step": 2, "description": "StatusNotification.req status is 'Available'", "ok": True,
                 "observed": "Available", "frames": [1]}], "actions": []},
    {"id": "TC_003_CS", "title": "Regular Charging Session - Plugin First", "verdict": "FAIL",
     "started": T0 + 10.0, "duration_s": 0.5, "step": 1,
     "reason": "StatusNotification.req: status is 'Available', expected 'Preparing' (frame #3)",
     "where": "scenarios/TC_003_CS.yaml:11",
     "checks": [{"step": 1, "description": "StatusNotification.req status is 'Preparing'", "ok": False,
                 "observed": "Available", "frames": [3]}],
     "actions": CASE_003_ACTIONS, "retest": True, "section": "2.2.1", "group": "Start Charging Session",
     "certification": "C",
     "status_rules": {"ok": False, "findings": [{"rule": "D.1 Preparing before Charging",
                                                 "message": "connector 1 skipped Preparing", "frames": [3],
                                                 "fail": True}]}},
    {"id": "TC_010_CS", "title": "Remote Start Charging Session", "verdict": "ERROR", "started": T0 + 20.0,
     "duration_s": 1.0, "step": 6, "reason": "bench action failed: card.present: timeout",
     "where": "scenarios/TC_010_CS.yaml:20", "checks": [], "actions": []},
    {"id": "TC_011_CS", "title": "Remote Start Charging Session - Remote Start First", "verdict": "NOT_RUNNABLE",
     "started": T0 + 30.0, "duration_s": 0.0, "step": None, "reason": "the bench has no card presenter",
     "where": "", "checks": [], "actions": []},
    {"id": "TC_020_CS", "title": "Outside the plan", "verdict": "PASS", "started": T0 + 40.0, "duration_s": 1.25,
     "step": None, "reason": "", "where": "", "checks": [], "actions": []},
]
META = {
    "written": _iso(T0), "bench": "lab-1", "bench_file": "bench_configs/lab-1.yaml", "charge_point_id": "CP-1",
    "cases": ["TC_001_CS", "TC_003_CS", "TC_010_CS", "TC_011_CS", "TC_020_CS", "TC_099_CS"],
    "started": T0, "finished": T0 + 60.0, "simulator": {"faults": ["skip_preparing"]},
    "pics_file": "pics/acme-x1.yaml", "pics": {"NumberOfConnectors": 2, "LocalStartSupported": True},
    "dut": {"chargePointVendor": f"ACME {XSS}", "chargePointModel": "X1", "firmwareVersion": "4.2.0",
            "chargePointSerialNumber": "SN-0042"},
    "configuration": [{"key": "HeartbeatInterval", "readonly": False, "value": "300"},
                      {"key": "NumberOfConnectors", "readonly": True, "value": "2"},
                      {"key": "AuthorizationKey", "readonly": False, "value": None}],
    "plan": [{"id": "TC_001_CS", "title": "Cold Boot Charge Point", "section": "2.1.1", "certification": "M",
              "included": True, "reason": "mandatory"},
             {"id": "TC_003_CS", "title": "Regular Charging Session - Plugin First", "section": "2.2.1",
              "certification": "C", "included": True, "reason": "PICS: local start"},
             {"id": "TC_010_CS", "title": "Remote Start Charging Session", "section": "2.2.5",
              "certification": "O", "included": True, "reason": ""},
             {"id": "TC_011_CS", "title": "Remote Start Charging Session - Remote Start First",
              "section": "2.2.6", "certification": "O", "included": True, "reason": ""},
             {"id": "TC_042_CS", "title": "Reservation", "section": "2.9.1", "certification": "C",
              "included": False, "reason": "PICS: reservation not supported"},
             {"id": "TC_050_CS", "title": "Unlock connector", "section": "2.4.1", "certification": "O",
              "included": True, "reason": ""}],
}


def _write_jsonl(path: Path, records: list[dict[str, Any]], tail: str = "") -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + tail, encoding="utf-8")


def _make_run(tmp_path: Path) -> Path:
    """A run that ran five cases and was killed while writing the sixth case's result."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps(META, indent=2), encoding="utf-8")
    truncated = json.dumps({"id": "TC_099_CS", "title": "Killed", "verdict": "PASS"})[:25]
    _write_jsonl(run / "results.jsonl", RESULTS, tail=truncated)
    _write_jsonl(run / "capture.jsonl", FRAMES)
    logged = [_action(T0 + 0.1, "ev", "connect", {}), _action(T0 + 9.0, "ev", "safe_state", {}),
              *sorted(CASE_003_ACTIONS, key=lambda a: a["ts"]), _action(T0 + 49.0, "mains", "set", {"level": True})]
    _write_jsonl(run / "actions.jsonl", logged)
    return run


def _case(doc: dict[str, Any], case_id: str) -> dict[str, Any]:
    return next(c for c in doc["cases"] if c["id"] == case_id)


def test_write_reports_writes_the_three_files(tmp_path: Path) -> None:
    run = _make_run(tmp_path)
    paths = write_reports(run)
    assert paths == {"junit": run / "report.xml", "json": run / "report.json", "html": run / "report.html"}
    assert all(p.stat().st_size > 0 for p in paths.values())


def test_rows_join_plan_and_results(tmp_path: Path) -> None:
    rows = case_rows(load_run(_make_run(tmp_path)))
    assert [(r.id, r.outcome) for r in rows] == [
        ("TC_001_CS", "PASS"), ("TC_003_CS", "FAIL"), ("TC_010_CS", "ERROR"), ("TC_011_CS", "NOT_RUNNABLE"),
        ("TC_042_CS", EXCLUDED), ("TC_050_CS", NOT_SELECTED), ("TC_020_CS", "PASS"), ("TC_099_CS", NO_RESULT)]
    by_id = {r.id: r for r in rows}
    assert by_id["TC_042_CS"].reason == "PICS: reservation not supported"
    assert by_id["TC_020_CS"].in_plan is None and by_id["TC_042_CS"].in_plan is False
    assert by_id["TC_001_CS"].certification == "M"


def test_junit_counts_and_elements(tmp_path: Path) -> None:
    run = _make_run(tmp_path)
    root = ET.parse(write_reports(run)["junit"]).getroot()
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    for element in (root, suite):
        # 8 rows: ERROR and the case the run never finished are errors; NOT_RUNNABLE, out of plan, not selected
        # are skipped
        assert {k: element.get(k) for k in ("tests", "failures", "errors", "skipped")} == {
            "tests": "8", "failures": "1", "errors": "2", "skipped": "3"}
    assert suite.get("name") == "benchctl"
    assert suite.get("time") == "60.000"
    assert suite.get("timestamp", "").startswith(datetime.fromtimestamp(T0, timezone.utc).strftime("%Y-%m-%dT%H"))
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["bench"] == "lab-1" and props["charge_point_id"] == "CP-1"
    assert props["simulator_faults"] == "skip_preparing" and props["pics_file"] == "pics/acme-x1.yaml"
    assert props["dut.chargePointVendor"] == f"ACME {XSS}"  # escaped by the writer, read back intact

    cases = {c.get("name").split(" ")[0]: c for c in suite.findall("testcase")}
    assert len(cases) == 8
    failing = cases["TC_003_CS"]
    assert failing.get("name") == "TC_003_CS Regular Charging Session - Plugin First"
    assert failing.get("classname") == "Start Charging Session"
    assert failing.get("time") == "0.500"
    failure = failing.find("failure")
    assert failure is not None
    assert failure.get("message") == ("step 1: StatusNotification.req: status is 'Available', "
                                      "expected 'Preparing' (frame #3)")
    assert "scenarios/TC_003_CS.yaml:11" in (failure.text or "")
    assert "StatusNotification.req status is 'Preparing'" in (failure.text or "")
    assert FRAMES[3]["raw"] in (failure.text or "")
    error = cases["TC_010_CS"].find("error")
    assert error is not None and error.get("message") == "step 6: bench action failed: card.present: timeout"
    skipped = cases["TC_011_CS"].find("skipped")
    assert skipped is not None and skipped.get("message") == "the bench has no card presenter"
    out = cases["TC_042_CS"].find("skipped")
    assert out is not None and out.get("message") == "not in plan: PICS: reservation not supported"
    assert cases["TC_050_CS"].find("skipped") is not None
    killed = cases["TC_099_CS"].find("error")
    assert killed is not None and "run ended" in (killed.get("message") or "")
    assert list(cases["TC_001_CS"]) == [] and list(cases["TC_020_CS"]) == []
    assert cases["TC_001_CS"].get("classname") == "2.1.1"  # no group recorded: the plan's section
    assert cases["TC_020_CS"].get("classname") == "benchctl"  # neither group nor section known
    # the truncated results line is reported, not hidden
    system_err = suite.find("system-err")
    assert system_err is not None and "results.jsonl line 6: truncated" in (system_err.text or "")


def test_junit_stays_well_formed_with_control_characters(tmp_path: Path) -> None:
    run = _make_run(tmp_path)
    frames = [dict(f) for f in FRAMES]
    frames[3]["raw"] = "garbage \x00\x1b[31m from the charger"
    _write_jsonl(run / "capture.jsonl", frames)
    failure = ET.parse(write_reports(run)["junit"]).getroot().find(".//testcase/failure")
    assert failure is not None and "garbage \ufffd\ufffd[31m from the charger" in (failure.text or "")


def test_json_report_resolves_evidence(tmp_path: Path) -> None:
    run = _make_run(tmp_path)
    doc = json.loads(write_reports(run)["json"].read_text())
    assert doc["run"]["bench"] == "lab-1" and doc["run"]["charge_point_id"] == "CP-1"
    assert doc["run"]["faults"] == ["skip_preparing"] and doc["run"]["finished"] == T0 + 60.0
    assert doc["dut"]["firmwareVersion"] == "4.2.0"
    assert doc["pics"] == META["pics"]
    assert {"key": "NumberOfConnectors", "value": "2", "readonly": True} in doc["configuration"]
    assert [p["id"] for p in doc["plan"]] == [p["id"] for p in META["plan"]]
    assert doc["summary"] == {"PASS": 2, "FAIL": 1, "ERROR": 1, "NOT_RUNNABLE": 1, "NOT_APPLICABLE": 0,
                              "NO_RESULT": 1,
                              "NOT_SELECTED": 1, "EXCLUDED": 1, "total": 8, "run": 5,
                              "warnings": 0, "warned_cases": 0}
    assert any("results.jsonl line 6: truncated" in note for note in doc["notes"])

    failing = _case(doc, "TC_003_CS")
    assert (failing["verdict"], failing["step"], failing["retest"]) == ("FAIL", 1, True)
    (check,) = failing["checks"]
    assert check["frames"] == [3]
    assert check["cited"] == [FRAMES[3]]  # the raw frame itself, not only its index
    assert failing["status_rules"]["findings"][0]["cited"][0]["raw"] == FRAMES[3]["raw"]
    assert [f["i"] for f in failing["frames"]] == [3, 4]
    assert [f["i"] for f in failing["reset_frames"]] == [2]
    assert [a["ts"] for a in failing["actions"]] == sorted(a["ts"] for a in CASE_003_ACTIONS)
    assert [a["command"] for a in failing["reset_actions"]] == ["safe_state"]
    assert failing["result"]["where"] == "scenarios/TC_003_CS.yaml:11"

    out = _case(doc, "TC_042_CS")
    assert (out["outcome"], out["in_plan"], out["plan_reason"]) == (EXCLUDED, False, "PICS: reservation not supported")
    assert "verdict" not in out and out["frames"] == []
    killed = _case(doc, "TC_099_CS")
    assert killed["outcome"] == NO_RESULT
    assert [f["i"] for f in killed["frames"]] == [6]
    # logged after the last finished case and before the cut-off case's first frame: its return to idle
    assert killed["actions"] == [] and [a["command"] for a in killed["reset_actions"]] == ["set"]


def test_dangling_frame_reference_is_marked_missing(tmp_path: Path) -> None:
    run = _make_run(tmp_path)
    _write_jsonl(run / "capture.jsonl", [f for f in FRAMES if f["i"] != 3])
    doc = json.loads(write_reports(run)["json"].read_text())
    assert _case(doc, "TC_003_CS")["checks"][0]["cited"] == [{"i": 3, "missing": True}]
    assert "frame #3 is not in the capture" in (run / "report.html").read_text()


def test_html_report_content(tmp_path: Path) -> None:
    run = _make_run(tmp_path)
    page = write_reports(run)["html"].read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    for case_id in ("TC_001_CS", "TC_003_CS", "TC_010_CS", "TC_011_CS", "TC_042_CS", "TC_050_CS", "TC_020_CS",
                    "TC_099_CS"):
        assert f'<tr class="case-row" data-case="{case_id}">' in page
    row_042 = page.split('data-case="TC_042_CS">')[1].split("</tr>")[0]
    assert ">out<" in row_042 and "EXCLUDED" in row_042 and "PICS: reservation not supported" in row_042
    row_020 = page.split('data-case="TC_020_CS">')[1].split("</tr>")[0]
    assert "in (not in plan)" in row_020 and "1.2 s" in row_020
    row_001 = page.split('data-case="TC_001_CS">')[1].split("</tr>")[0]
    assert ">M<" in row_001 and "PASS" in row_001

    # header, DUT, PICS, configuration
    assert "lab-1" in page and "CP-1" in page and "skip_preparing" in page and "pics/acme-x1.yaml" in page
    assert "SN-0042" in page and "4.2.0" in page
    assert "LocalStartSupported" in page
    configuration = page.split('<table class="configuration">')[1].split("</table>")[0]
    config_row = configuration.split("<td>NumberOfConnectors</td>")[1].split("</tr>")[0]
    assert "<code>2</code>" in config_row and "read-only" in config_row
    assert "(no value)" in configuration.split("<td>AuthorizationKey</td>")[1].split("</tr>")[0]
    assert "read-write" in configuration.split("<td>HeartbeatInterval</td>")[1].split("</tr>")[0]

    # the failing case: its step, what was expected, and the raw frame it cites (escaped)
    section = page.split('<section class="case c-FAIL" id="case-TC_003_CS">')[1].split("</section>")[0]
    assert "Failed at step 1" in section
    assert "StatusNotification.req status is &#x27;Preparing&#x27;" in section
    assert '<pre class="raw">' + _escaped(FRAMES[3]["raw"]) + "</pre>" in section
    assert "D.1 Preparing before Charging" in section and "connector 1 skipped Preparing" in section
    assert "scenarios/TC_003_CS.yaml:11" in section
    error_section = page.split('id="case-TC_010_CS">')[1].split("</section>")[0]
    assert "Failed at step 6" in error_section and "invalid:" in error_section
    # a case never run has no section; the one cut off has one, with the frames it got
    assert 'id="case-TC_042_CS"' not in page
    assert "MeterValues" in page.split('id="case-TC_099_CS">')[1]


def _escaped(text: str) -> str:
    from html import escape
    return escape(text, quote=True)


def test_html_escapes_everything_from_the_run(tmp_path: Path) -> None:
    run = _make_run(tmp_path)
    page = write_reports(run)["html"].read_text(encoding="utf-8")
    assert XSS not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # in the DUT block and in the cited frame
    assert "<script" not in page.lower()


def test_html_is_self_contained(tmp_path: Path) -> None:
    page = write_reports(_make_run(tmp_path))["html"].read_text(encoding="utf-8")
    lowered = page.lower()
    assert "http://" not in lowered and "https://" not in lowered
    assert "<link" not in lowered and " src=" not in lowered and "@import" not in lowered
    assert "<style>" in lowered
    # the only links are to sections of the page itself
    hrefs = [part.split('"')[0] for part in page.split('href="')[1:]]
    assert hrefs and all(h.startswith("#case-") for h in hrefs)  # a case, or a frame of its timeline


def test_timeline_merges_frames_and_actions_in_time_order(tmp_path: Path) -> None:
    record = load_run(_make_run(tmp_path))
    row = next(r for r in case_rows(record) if r.id == "TC_003_CS")
    events = case_timeline(record, row)
    assert [e.t for e in events] == sorted(e.t for e in events)  # type: ignore[type-var]
    described = [(e.phase, e.kind, e.frame["i"] if e.frame else f"{e.action['role']}.{e.action['command']}")
                 for e in events]  # type: ignore[index]
    assert described == [
        (RESET, ACTION, "ev.safe_state"),
        (RESET, FRAME, 2),
        ("case", EV, "ev.set_plug"),
        ("case", EV, "ev.set_cp_state"),
        ("case", FRAME, 3),
        ("case", FRAME, 4),
        ("case", ACTION, "card.present"),
        ("case", EV, "ev.set_cp_state"),
    ]

    page = (write_reports(record.path)["html"]).read_text(encoding="utf-8")
    case = page.split('id="case-TC_003_CS">')[1].split("</section>")[0]
    # the return to idle comes first, folded away; then the case's own events, each part in time order
    reset = case.split('<details class="reset">')[1].split("</details>")[0]
    assert "TC_003_CS:reset" in case.split('<details class="reset">')[1].split("</summary>")[0]
    assert reset.index("ev.safe_state") < reset.index("<td>#2</td>")
    section = case.split('<table class="timeline">')[-1].split("</table>")[0]
    markers = ["cable plugged in", "CP state → B", "<td>#3</td>", "<td>#4</td>", "card.present", "CP state → C"]
    positions = [section.index(m) for m in markers]
    assert positions == sorted(positions)
    assert "<td>#2</td>" not in section
    assert "error: presenter did not answer" in section
    cited_row = section[section.rindex("<tr", 0, section.index("<td>#3</td>")):section.index("<td>#3</td>")]
    assert "cited" in cited_row


def test_run_cut_off_with_truncated_and_missing_files(tmp_path: Path) -> None:
    """Killed before run.json was written, mid-line in the capture, before any result or action."""
    run = tmp_path / "killed"
    run.mkdir()
    _write_jsonl(run / "capture.jsonl", FRAMES[:2], tail=json.dumps(FRAMES[2])[:40])
    (run / "results.jsonl").write_text("", encoding="utf-8")
    paths = write_reports(run)
    record = load_run(run)
    assert len(record.frames) == 2 and record.results == [] and record.actions == []
    assert any("run.json is missing" in n for n in record.notes)
    assert any("capture.jsonl line 3: truncated" in n for n in record.notes)
    suite = ET.parse(paths["junit"]).getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "0"
    doc = json.loads(paths["json"].read_text())
    assert doc["cases"] == [] and doc["summary"]["total"] == 0 and doc["dut"] is None
    page = paths["html"].read_text(encoding="utf-8")
    assert "run.json is missing" in page and "capture.jsonl line 3: truncated" in page


def test_bad_line_in_the_middle_is_skipped_and_named(tmp_path: Path) -> None:
    run = _make_run(tmp_path)
    lines = (run / "results.jsonl").read_text().splitlines()
    (run / "results.jsonl").write_text("\n".join([lines[0], "{not json", *lines[1:5]]) + "\n")
    record = load_run(run)
    assert [r.id for r in record.results] == ["TC_001_CS", "TC_003_CS", "TC_010_CS", "TC_011_CS", "TC_020_CS"]
    assert "results.jsonl line 2: not valid JSON; ignored" in record.notes


async def test_reports_of_a_real_simulated_run(sim_config: BenchConfig, scenarios: dict[str, Scenario],
                                               tmp_path: Path) -> None:
    run_dir = RunDir.create(tmp_path, "sim")
    (result,) = await run_cases(sim_config, [scenarios["TC_003_CS"]], run_dir)
    assert result.verdict == "PASS", result.reason
    paths = write_reports(run_dir.path)

    suite = ET.parse(paths["junit"]).getroot().find("testsuite")
    assert suite is not None and (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("1", "0", "0")
    (case,) = suite.findall("testcase")
    assert case.get("name") == f"TC_003_CS {scenarios['TC_003_CS'].title}"

    doc = json.loads(paths["json"].read_text())
    (entry,) = doc["cases"]
    assert (entry["id"], entry["verdict"]) == ("TC_003_CS", "PASS")
    assert {"StatusNotification", "Authorize", "StartTransaction"} <= {f["action"] for f in entry["frames"]}
    assert all(c["cited"] and "missing" not in c["cited"][0] for c in entry["checks"] if c["frames"])
    assert any(a["command"] == "set_plug" for a in entry["actions"])

    page = paths["html"].read_text(encoding="utf-8")
    assert 'data-case="TC_003_CS"' in page and scenarios["TC_003_CS"].title in page
    timeline = page.split('id="case-TC_003_CS">')[1].split('<table class="timeline">')[-1]
    assert timeline.index("cable plugged in") < timeline.index("StartTransaction")
    assert "http://" not in page and "https://" not in page
