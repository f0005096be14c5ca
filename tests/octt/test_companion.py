"""benchctl drives the stand-in tool end to end: the sim bench does the physical steps, benchctl answers every
prompt, the tool and benchctl's own observer both judge each case."""

from __future__ import annotations

import json
from pathlib import Path

from benchctl.csms.capture import TO_CHARGER, TO_CSMS
from benchctl.record.case import ERROR, FAIL, PASS

from octt_harness import companion, fast_config


async def test_cases_pass_in_the_tool_and_in_benchctl_with_frames_unchanged(tmp_path: Path, scenarios) -> None:
    async with companion(tmp_path) as (run, tool):
        results = [await run.case(scenarios[case]) for case in ("TC_003_CS", "TC_010_CS", "TC_005_1_CS")]
        for result in results:
            assert (result.id, result.verdict, result.reason) == (result.id, PASS, "")
            assert result.octt["tool_verdict"] == PASS and result.octt["benchctl_verdict"] == PASS
            assert result.octt["disagreement"] is False
            assert result.octt["problem"] is None and result.octt["reset"]["problem"] is None
            assert all(p["rule"] is not None and p["answer"] is True for p in result.octt["prompts"])
        # the tool's results are the ones benchctl recorded
        assert [r["testCase_Result"] for r in tool.results] == ["PASS"] * 6
        prompts = [p["rule"] for p in results[0].octt["prompts"]]
        assert prompts == ["setup", "plug_in", "present_valid", "expected_statuses"]
        # byte for byte: what the tool received and sent is what the capture holds, in order
        captured = run.capture.read()
        assert [f.raw for f in tool.frames if f.direction == TO_CSMS] == \
            [c.frame.raw for c in captured if c.direction == TO_CSMS]
        assert [f.raw for f in tool.frames if f.direction == TO_CHARGER] == \
            [c.frame.raw for c in captured if c.direction == TO_CHARGER]


async def test_cold_boot_passes_with_the_power_cycle_and_the_heartbeat_answered_from_the_capture(
        tmp_path: Path, scenarios) -> None:
    async with companion(tmp_path) as (run, tool):
        result = await run.case(scenarios["TC_001_CS"])
    assert (result.verdict, result.reason, result.octt["benchctl_verdict"]) == (PASS, "", PASS)
    prompts = {p["rule"]: p for p in result.octt["prompts"]}
    assert list(prompts) == ["setup", "power_cycle", "heartbeat_interval", "expected_statuses"]
    # resume first, then act: the Yes went out before the mains relay moved
    cycle = prompts["power_cycle"]
    assert cycle["action"] == "power_cycle" and cycle["answered_mono"] <= cycle["action_started_mono"]
    heartbeat = prompts["heartbeat_interval"]
    assert "the capture" in heartbeat["reason"] and len(heartbeat["frames"]) == 2
    beats = [f for f in run.capture.read() if f.index in heartbeat["frames"]]
    assert [f.frame.action for f in beats] == ["Heartbeat", "Heartbeat"]


async def test_an_unknown_prompt_ends_its_case_with_its_text_and_the_next_case_runs(tmp_path: Path,
                                                                                    scenarios) -> None:
    odd = "Hold the cable at a 45 degree angle and click 'Yes'."
    async with companion(tmp_path, unknown_prompts={"TC_CP_V16_003": odd}) as (run, tool):
        ended = await run.case(scenarios["TC_003_CS"])
        after = await run.case(scenarios["TC_010_CS"])
    assert ended.verdict == ERROR and odd in ended.reason
    unknown = [p for p in ended.octt["prompts"] if p["rule"] is None]
    assert [(p["text"], p["answer"], p["action"]) for p in unknown] == [(odd, False, None)]
    # answered No, so the tool ended the case there: nothing was plugged in for it
    assert ended.octt["tool_result"] == "FAIL" and "plug_in" not in [p["rule"] for p in ended.octt["prompts"]]
    assert tool.results[1]["prompts"] == [odd]
    assert after.verdict == PASS and after.octt["disagreement"] is False
    html = (run.run_dir.path / "report.html")
    from benchctl.report import write_reports

    write_reports(run.run_dir.path)
    assert odd.replace("'", "&#x27;") in html.read_text()


async def test_a_tool_configured_with_another_valid_tag_disagrees_with_benchctl_and_it_is_flagged(
        tmp_path: Path, scenarios) -> None:
    config = fast_config(tmp_path)
    ours, second = config.values["valid_id_tag"], config.values["valid_id_tag_2"]
    # the tool's <Configured Valid IdTag> is the bench's second card: the charger accepts both, so benchctl's
    # observer sees a correct session, while the tool fails its Authorize idTag validation
    async with companion(tmp_path, config, tool_values={"valid_id_tag": second, "valid_id_tag_2": ours}) as (run, _):
        result = await run.case(scenarios["TC_003_CS"])
    assert result.octt["tool_verdict"] == FAIL and result.octt["benchctl_verdict"] == PASS
    assert result.octt["disagreement"] is True and result.verdict == FAIL
    assert "DISAGREEMENT: the tool says FAIL, benchctl says PASS" in result.reason
    from benchctl.report import write_reports

    written = write_reports(run.run_dir.path)
    html = written["html"].read_text()
    assert "<strong>DISAGREE</strong>: tool FAIL · benchctl PASS" in html  # in the case table
    assert "yes: the tool and benchctl disagree" in html  # in the case's section
    report = json.loads(written["json"].read_text())
    assert report["cases"][0]["octt"]["disagreement"] is True


async def test_a_charger_fault_fails_the_case_in_both(tmp_path: Path, scenarios) -> None:
    async with companion(tmp_path, fast_config(tmp_path, ["skip_preparing"])) as (run, _):
        result = await run.case(scenarios["TC_003_CS"])
    assert (result.octt["tool_verdict"], result.octt["benchctl_verdict"]) == (FAIL, FAIL)
    assert result.octt["disagreement"] is False and result.verdict == FAIL
    # the tool listed Preparing as not received: benchctl said No, with the reason
    listed = [p for p in result.octt["prompts"] if p["rule"] == "expected_statuses"]
    assert listed and listed[0]["answer"] is False and "Preparing" in listed[0]["reason"]


async def test_068_and_069_present_the_cards_in_the_documents_order(tmp_path: Path, scenarios) -> None:
    """TC_068_CS: <Configured Valid IdTag 2> first (no Authorize, no StopTransaction), then the transaction's own
    card; TC_069_CS: the group's other card, which ends the transaction. The tool and benchctl both PASS."""
    config = fast_config(tmp_path)
    async with companion(tmp_path, config) as (run, tool):
        results = [await run.case(scenarios[case]) for case in ("TC_068_CS", "TC_069_CS")]
    for result in results:
        assert (result.verdict, result.reason) == (PASS, ""), result.octt
        assert result.octt["tool_verdict"] == PASS and result.octt["benchctl_verdict"] == PASS
    cards = [[p["args"]["id_tag"] for p in r.octt["prompts"] if p["action"] == "present_id"] for r in results]
    valid, other = config.values["valid_id_tag"], config.values["valid_id_tag_2"]
    assert cards == [[other, valid], [other]]
