"""What report.html tells a certification lab and a vendor, and where: the verdict banner first, the selected
cases next, a failed case's failing check with expected and observed side by side, the steps of a reusable state
by the state's numbering, the test configuration and the manual steps the bench did."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from report.test_reports import DOWN, FRAMES, META, RESULTS, T0, UP, _action, _frame, _make_run, _write_jsonl

from benchctl.report import write_reports
from benchctl.report.evidence import json_lines


def _page(run: Path) -> str:
    return write_reports(run)["html"].read_text(encoding="utf-8")


def _failing_003(**changes: Any) -> list[dict[str, Any]]:
    checks = [{"step": 1, "description": "StatusNotification.req connectorId is 1", "ok": True, "observed": 1,
               "frames": [3], "expected": 1},
              {"step": 1, "description": "StatusNotification.req status is 'Preparing'", "ok": False,
               "observed": "Available", "frames": [3], "expected": "Preparing"}]
    return [RESULTS[0], dict(RESULTS[1], checks=checks, **changes), *RESULTS[2:]]


def test_the_page_opens_on_the_verdict_banner(tmp_path: Path) -> None:
    page = _page(_make_run(tmp_path))
    body = page.split("<body>", 1)[1]
    banner = body.split("</header>")[0]
    assert body.lstrip().startswith('<header class="banner b-FAIL" id="verdict">')
    assert '<span class="verdict v-FAIL">FAIL</span>' in banner
    assert "1 (not every case passed)" in banner  # the exit status
    assert "X1" in banner and "firmware 4.2.0" in banner and "SN-0042" in banner and "lab-1" in banner
    assert "2026" not in banner and "2027-01-15" in banner  # T0 is 2027-01-15
    for outcome, n in (("PASS", 2), ("FAIL", 1), ("ERROR", 1), ("NOT_RUNNABLE", 1), ("NO_RESULT", 1)):
        assert f'<span class="verdict v-{outcome}">{n} {outcome.replace("_", " ")}</span>' in banner
    assert "of 6 selected cases" in banner
    # the first thing after the banner is the case table; PICS and configuration are folded at the end
    assert body.index("<h2>Test cases</h2>") < body.index("<h2>Case details</h2>") < body.index(
        '<details class="pics">')
    assert body.index('<details class="config-keys">') > body.index("<h2>Case details</h2>")


def test_verdict_and_exit_status_of_a_passing_and_a_cut_off_run(tmp_path: Path) -> None:
    run = _make_run(tmp_path)
    _write_jsonl(run / "results.jsonl", [RESULTS[0]])
    (run / "run.json").write_text(json.dumps(dict(META, cases=["TC_001_CS"])), encoding="utf-8")
    banner = _page(run).split("</header>")[0]
    assert '<span class="verdict v-PASS">PASS</span>' in banner and "0 (every case passed)" in banner
    assert "of 1 selected case<" in banner or "of 1 selected case\n" in banner or "of 1 selected case " in banner

    (run / "run.json").write_text(json.dumps({k: v for k, v in META.items() if k != "finished"}), encoding="utf-8")
    banner = _page(run).split("</header>")[0]
    assert "INCOMPLETE" in banner and "the run was cut off" in banner


def test_only_the_selected_cases_are_listed_the_others_are_folded_with_their_reasons(tmp_path: Path) -> None:
    page = _page(_make_run(tmp_path))
    table = page.split("<h2>Test cases</h2>")[1].split("</table>")[0]
    assert 'data-case="TC_003_CS"' in table and 'data-case="TC_099_CS"' in table
    assert 'data-case="TC_042_CS"' not in table and 'data-case="TC_050_CS"' not in table
    folded = page.split('<details class="others">')[1].split("</details>")[0]
    assert "Not run: 2 cases of the plan" in folded
    assert 'data-case="TC_042_CS"' in folded and "PICS: reservation not supported" in folded
    assert 'data-case="TC_050_CS"' in folded and "in the plan, not selected for this run" in folded


def test_a_failed_case_starts_with_its_failing_check_expected_beside_observed(tmp_path: Path) -> None:
    run = _make_run(tmp_path)
    _write_jsonl(run / "results.jsonl", _failing_003())
    section = _page(run).split('id="case-TC_003_CS">')[1].split("</section>")[0]
    evidence = section.split('<div class="evidence">')[1].split('<p class="reason">')[0]
    assert evidence.lstrip().startswith(
        '<h4 class="failing-check">Failed at step 1: StatusNotification.req status is &#x27;Preparing&#x27;</h4>')
    expected, observed = evidence.split('<pre class="json">')[1:3]
    assert '<mark class="diff">  &quot;status&quot;: &quot;Preparing&quot;</mark>' in expected
    assert '  &quot;connectorId&quot;: 1,\n' in expected  # the step's other field: the same, not marked
    assert '<mark class="diff">  &quot;status&quot;: &quot;Available&quot;,</mark>' in observed
    assert '<mark class="diff">  &quot;connectorId' not in observed
    # the cited frame: linked from the evidence, its timeline row highlighted and the link's target
    assert '<a href="#case-TC_003_CS-frame-3">frame #3</a>' in evidence
    row = section.split('id="case-TC_003_CS-frame-3"')[0].rsplit("<tr", 1)[1]
    assert 'class="cited"' in row
    # the Checks table lists the failing check, first
    checks = section.split('<table class="checks">')[1].split("</table>")[0]
    rows = checks.split("<tr")[2:]
    assert "FAILED" in rows[0] and "status is &#x27;Preparing&#x27;" in rows[0] and "ok" in rows[1]


def test_a_reusable_states_step_is_named_by_the_state(tmp_path: Path) -> None:
    run = _make_run(tmp_path)
    results = _failing_003(state="Charging", where="scenarios/states/Charging.yaml:40")
    for check in results[1]["checks"]:
        check["state"] = "Charging"
    _write_jsonl(run / "results.jsonl", results)
    section = _page(run).split('id="case-TC_003_CS">')[1].split("</section>")[0]
    assert "Failed at Charging / step 1: " in section
    assert "<td>Charging / step 1</td>" in section.split('<table class="checks">')[1]
    # the JUnit message and the JSON report say it too
    junit = (run / "report.xml").read_text(encoding="utf-8")
    assert 'message="Charging / step 1: StatusNotification.req' in junit
    assert "  Charging / step 1: StatusNotification.req status is" in junit
    doc = json.loads((run / "report.json").read_text(encoding="utf-8"))
    case = next(c for c in doc["cases"] if c["id"] == "TC_003_CS")
    assert (case["step"], case["state"]) == (1, "Charging")
    assert [c["state"] for c in case["checks"]] == ["Charging", "Charging"]
    # a record written before the state was recorded: its file says it
    _write_jsonl(run / "results.jsonl", [RESULTS[0], dict(RESULTS[1], checks=[],
                                                         where="scenarios/states/Charging.yaml:40")])
    section = _page(run).split('id="case-TC_003_CS">')[1].split("</section>")[0]
    assert '<h4 class="failing-check">Failed at Charging / step 1</h4>' in section


def test_test_configuration_lists_read_only_values_and_the_values_each_case_used(tmp_path: Path) -> None:
    run = _make_run(tmp_path)
    changes = [
        # TC_001_CS's Configuration State sets the key to the value it had: the case still ran with it set
        _frame(8, T0 + 1.1, "TC_001_CS", DOWN, [2, "c0", "ChangeConfiguration",
                                                {"key": "HeartbeatInterval", "value": "300"}], "ChangeConfiguration"),
        _frame(9, T0 + 1.2, "TC_001_CS", UP, [3, "c0", {"status": "Accepted"}], "ChangeConfiguration"),
        _frame(10, T0 + 10.01, "TC_003_CS", DOWN, [2, "c1", "ChangeConfiguration",
                                                   {"key": "HeartbeatInterval", "value": "60"}], "ChangeConfiguration"),
        _frame(11, T0 + 10.02, "TC_003_CS", UP, [3, "c1", {"status": "Accepted"}], "ChangeConfiguration"),
        # refused: the case never ran with it
        _frame(12, T0 + 10.03, "TC_003_CS", DOWN, [2, "c2", "ChangeConfiguration",
                                                   {"key": "AuthorizationKey", "value": "00ff"}], "ChangeConfiguration"),
        _frame(13, T0 + 10.04, "TC_003_CS", UP, [3, "c2", {"status": "Rejected"}], "ChangeConfiguration"),
        # the return to idle before TC_010 puts it back
        _frame(14, T0 + 19.0, "TC_010_CS:reset", DOWN, [2, "c3", "ChangeConfiguration",
                                                        {"key": "HeartbeatInterval", "value": "300"}],
               "ChangeConfiguration"),
        _frame(15, T0 + 19.1, "TC_010_CS:reset", UP, [3, "c3", {"status": "Accepted"}], "ChangeConfiguration"),
    ]
    _write_jsonl(run / "capture.jsonl", FRAMES + changes)
    section = _page(run).split('<h2 id="test-configuration">')[1].split("<h2")[0]
    readonly = section.split("Read-only keys (1)")[1].split("</table>")[0]
    assert "<td>NumberOfConnectors</td><td><code>2</code></td>" in readonly
    readwrite = section.split("Read-write keys (2)")[1].split("</table>")[0]
    heartbeat = readwrite.split("<td>HeartbeatInterval</td>")[1].split("</tr>")[0]
    assert heartbeat.startswith("<td><code>300</code></td>")
    assert "TC_001_CS: <code>300</code></span>; <span class=\"used\">TC_003_CS: <code>60</code>" in heartbeat
    assert "TC_010_CS" not in heartbeat  # the return to idle before it put the start value back
    authorization = readwrite.split("<td>AuthorizationKey</td>")[1].split("</tr>")[0]
    assert "00ff" not in authorization and "the start value in every case" in authorization


def test_on_several_benches_a_value_is_carried_only_into_the_same_benchs_next_cases(tmp_path: Path) -> None:
    """TC_003_CS ran on bench 2 and left HeartbeatInterval at 60; TC_010_CS ran after it on bench 1, whose
    charger never had that value."""
    run = _make_run(tmp_path)
    benches = {"TC_001_CS": 1, "TC_003_CS": 2, "TC_010_CS": 1}
    _write_jsonl(run / "results.jsonl", [dict(r, bench=benches.get(r["id"], 1)) for r in RESULTS])
    changes = [
        _frame(8, T0 + 10.01, "TC_003_CS", DOWN, [2, "c1", "ChangeConfiguration",
                                                  {"key": "HeartbeatInterval", "value": "60"}], "ChangeConfiguration"),
        _frame(9, T0 + 10.02, "TC_003_CS", UP, [3, "c1", {"status": "Accepted"}], "ChangeConfiguration"),
    ]
    _write_jsonl(run / "capture.jsonl", FRAMES + changes)
    section = _page(run).split('<h2 id="test-configuration">')[1].split("<h2")[0]
    heartbeat = section.split("<td>HeartbeatInterval</td>")[1].split("</tr>")[0]
    assert "TC_003_CS: <code>60</code>" in heartbeat
    assert "TC_010_CS" not in heartbeat


def test_manual_steps_are_counted_with_the_cases_that_needed_them(tmp_path: Path) -> None:
    run = _make_run(tmp_path)
    results = [dict(RESULTS[0], actions=[_action(T0 + 1.2, "mains", "cycle", {})]), *RESULTS[1:]]
    _write_jsonl(run / "results.jsonl", results)
    logged = [_action(T0 + 1.2, "mains", "cycle", {}), _action(T0 + 9.0, "ev", "safe_state", {}),
              _action(T0 + 9.1, "mains", "set", {"level": True}),  # put at rest: housekeeping
              _action(T0 + 9.2, "ev", "set_plug", {"connected": False}),  # the idle return unplugs
              *sorted(RESULTS[1]["actions"], key=lambda a: a["ts"])]
    _write_jsonl(run / "actions.jsonl", logged)
    section = _page(run).split('<h2 id="manual-steps">')[1].split("<h2")[0]
    rows = {r.split("</td>")[0]: r for r in section.split("<tr><td>")[1:]}
    assert set(rows) == {"power cycle", "plug the cable in", "unplug the cable", "EV to CP state B",
                         "EV to CP state C"}  # the card's present failed: not a step done
    assert '<td class="n">1</td><td>TC_001_CS</td>' in rows["power cycle"]
    assert "<td>TC_003_CS:reset</td>" in rows["unplug the cable"]
    assert "<td>TC_003_CS</td>" in rows["plug the cable in"]


def test_pretty_json_marks_the_differing_fields_and_what_lies_inside_them() -> None:
    lines = json_lines({"a": 1, "idTagInfo": {"status": "Blocked", "expiryDate": "x"}, "b": [1, 2]},
                       {"idTagInfo.status", "b"})
    assert lines == [("{", False), ('  "a": 1,', False), ('  "idTagInfo": {', False),
                     ('    "status": "Blocked",', True), ('    "expiryDate": "x"', False), ("  },", False),
                     ('  "b": [', True), ("    1,", True), ("    2", True), ("  ]", True), ("}", False)]

