"""CaseObserver on recorded traffic: real frames of the simulated charger (recorded by `benchctl run 003 010` on the
sim bench, tests/follow/data) fed through a Capture as the proxy feeds it, with benchctl only watching."""

from __future__ import annotations

import asyncio
import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from follow.replay import Record, recorded, replay, with_raw

from benchctl.bench.bench import Bench
from benchctl.bench.config import BenchConfig
from benchctl.csms.capture import TO_CHARGER, TO_CSMS, Capture
from benchctl.csms.frames import parse
from benchctl.csms.link import ToolRequestError
from benchctl.follow.cue import START, CueMoment, KeypressCue
from benchctl.follow.observer import CaseObserver
from benchctl.follow.traffic import ObservedLink
from benchctl.paths import SCENARIOS
from benchctl.record.case import ERROR, FAIL, NOT_RUNNABLE, PASS
from benchctl.scenario.model import Scenario, load_scenario
from benchctl.scenario.status_rules import Allowances
from drivers.steplog import StepLog

RECORDING = "sim_003_010.jsonl"


def watching_bench(config: BenchConfig) -> Bench:
    """The bench's description without its gear: with act=False the observer only watches."""
    return Bench(config, {}, StepLog())


def quick(config: BenchConfig) -> dict[str, Any]:
    return dict(config.values, message_timeout_s=1.0)


async def observe_cued(scenario: Scenario, config: BenchConfig, before: list[Record], case: list[Record],
                       **kwargs: Any) -> tuple[Any, Capture, list[CueMoment]]:
    """The operator's part: `before` (the reset case) passes while benchctl already listens, then the operator
    cues the start and the case's frames follow."""
    capture = Capture(None)
    moments: list[CueMoment] = []
    tasks: list[asyncio.Task[None]] = []

    async def cue(moment: CueMoment) -> None:
        moments.append(moment)
        if moment.kind == START:
            await replay(capture, before)
            tasks.append(asyncio.create_task(replay(capture, case)))

    observer = CaseObserver(scenario, capture, watching_bench(config), quick(config), act=False, cue=cue, **kwargs)
    result = await observer.run()
    for task in tasks:
        await task
    return result, capture, moments


def tc003() -> tuple[list[Record], list[Record]]:
    return recorded(RECORDING, "TC_003_CS:reset"), recorded(RECORDING, "TC_003_CS")


async def test_a_recorded_healthy_tc003_passes_with_the_recorded_evidence(sim_config: BenchConfig,
                                                                         scenarios: dict[str, Scenario]) -> None:
    before, case = tc003()
    result, capture, moments = await observe_cued(scenarios["TC_003_CS"], sim_config, before, case)
    assert result.verdict == PASS, f"step {result.step}: {result.reason}"
    assert [m.kind for m in moments] == [START]  # act=False: no cue before the later bench action
    by_step = {c.step: c for c in result.checks if c.frames}
    raw = {f.index: f.frame.raw for f in capture.read()}
    assert "Preparing" in case[0]["raw"]
    assert [raw[i] for i in by_step[1].frames] == [case[0]["raw"]]  # the evidence: the frame as captured
    assert "idTagInfo" in raw[by_step[4].frames[0]]  # the tool's Authorize.conf, observed
    assert {c.step for c in result.checks} >= {1, 4, 6, 7}  # 3 and 5 have no matchers, as in the engine
    assert result.status_rules is not None and result.status_rules["ok"]
    assert capture.count == len(before) + len(case)  # benchctl sent nothing


def _status_to(status: str, replaced: str):  # type: ignore[no-untyped-def]
    def change(message: list[Any]) -> list[Any]:
        if message[0] == 2 and message[2] == "StatusNotification" and message[3]["status"] == status:
            message[3]["status"] = replaced
        return message
    return change


@pytest.mark.parametrize("status, instead, step", [("Preparing", "Available", 1), ("Charging", "SuspendedEVSE", 7)])
async def test_a_charger_that_reports_the_wrong_status_fails_at_that_step(
        sim_config: BenchConfig, scenarios: dict[str, Scenario], status: str, instead: str, step: int) -> None:
    before, case = tc003()
    result, _, _ = await observe_cued(scenarios["TC_003_CS"], sim_config, before,
                                      with_raw(case, _status_to(status, instead)))
    assert result.verdict == FAIL
    assert result.step == step, result.reason
    assert instead in result.reason and "StatusNotification" in result.reason


def _without(action: str):  # type: ignore[no-untyped-def]
    """Drop every request of `action` and the answer to it."""
    dropped: set[str] = set()

    def change(message: list[Any]) -> list[Any] | None:
        if message[0] == 2 and message[2] == action:
            dropped.add(message[1])
            return None
        return None if message[0] in (3, 4) and message[1] in dropped else message
    return change


async def test_a_step_never_observed_times_out_naming_it(sim_config: BenchConfig,
                                                        scenarios: dict[str, Scenario]) -> None:
    before, case = tc003()
    result, _, _ = await observe_cued(scenarios["TC_003_CS"], sim_config, before,
                                      with_raw(case, _without("StartTransaction")))
    assert result.verdict == FAIL
    assert result.step == 5
    assert "no StartTransaction" in result.reason and "1.0 s" in result.reason


async def test_an_invalid_frame_from_the_charger_fails_the_case(sim_config: BenchConfig,
                                                               scenarios: dict[str, Scenario]) -> None:
    def change(message: list[Any]) -> list[Any]:
        if message[0] == 2 and message[2] == "Authorize":
            message[3] = {"idTag": "04A1B2C3", "unexpected": True}  # additionalProperties: false in the schema
        return message

    before, case = tc003()
    result, _, _ = await observe_cued(scenarios["TC_003_CS"], sim_config, before, with_raw(case, change))
    assert result.verdict == FAIL
    assert "not valid OCPP 1.6" in result.reason


# ---------------------------------------------------------------- a case the tool's first request starts
def tc010(*changes: Any) -> list[Record]:
    """TC_010_CS with its 000_RESET before it: the reset's traffic has a GetConfiguration of every key and
    StatusNotifications, none of which is the case's."""
    records = recorded(RECORDING, "TC_010_CS:reset", "TC_010_CS")
    for change in changes:
        records = with_raw(records, change)
    return records


async def observe_uncued(scenario: Scenario, config: BenchConfig, records: list[Record],
                         **kwargs: Any) -> tuple[Any, Capture]:
    result, capture, _ = await observe_uncued_with(scenario, config, records, **kwargs)
    return result, capture


async def observe_uncued_with(scenario: Scenario, config: BenchConfig, records: list[Record],
                              **kwargs: Any) -> tuple[Any, Capture, CaseObserver]:
    capture = Capture(None)
    observer = CaseObserver(scenario, capture, watching_bench(config), quick(config), act=False, **kwargs)
    running = asyncio.create_task(observer.run())
    await asyncio.sleep(0)  # listening before the tool does anything
    await replay(capture, records)
    return await running, capture, observer


async def test_the_tools_first_request_starts_a_case_and_the_reset_before_it_is_not_the_cases(
        sim_config: BenchConfig, scenarios: dict[str, Scenario]) -> None:
    records = tc010()
    result, capture = await observe_uncued(scenarios["TC_010_CS"], sim_config, records, start_timeout_s=5)
    assert result.verdict == PASS, f"step {result.step}: {result.reason}"
    get_configuration = [r for r in records if '"GetConfiguration"' in r["raw"]]
    assert len(get_configuration) == 2 and '"key"' in get_configuration[1]["raw"]
    raw = {f.index: f.frame.raw for f in capture.read()}
    step1 = next(c for c in result.checks if c.step == 1)
    assert [raw[i] for i in step1.frames] == [get_configuration[1]["raw"]]  # not the reset's of every key
    # Appendix D judged only the case's statuses (Preparing, Charging), not the reset's Finishing, Available
    assert result.status_rules is not None and result.status_rules["ok"]
    judged = {raw[i] for c in result.checks if "StatusNotification" in c.description for i in c.frames}
    assert judged and all("Finishing" not in r and "Available" not in r for r in judged)


async def test_save_answer_reads_the_tools_observed_answer(sim_config: BenchConfig,
                                                           scenarios: dict[str, Scenario]) -> None:
    """State Charging step 12 saves the transaction id the tool gave (2 in the recording: its second)."""
    result, _, observer = await observe_uncued_with(scenarios["TC_010_CS"], sim_config, tc010(), start_timeout_s=5)
    assert result.verdict == PASS
    assert observer.vars["transaction_id"] == 2


async def test_benchctl_never_sends_on_the_observed_link(sim_config: BenchConfig) -> None:
    link = ObservedLink(Capture(None), sim_config.charge_point_id, sim_config.values)
    with pytest.raises(ToolRequestError, match="only observes"):
        await link.call("Reset", {"type": "Soft"})


def _id_tag(old: str, new: str):  # type: ignore[no-untyped-def]
    def change(message: list[Any]) -> list[Any]:
        if message[0] == 2 and isinstance(message[3], dict) and message[3].get("idTag") == old:
            message[3]["idTag"] = new
        return message
    return change


async def test_values_the_tool_chooses_are_taken_from_its_request(sim_config: BenchConfig,
                                                                 scenarios: dict[str, Scenario]) -> None:
    """The tool starts the transaction with its own idTag: not judged, and the StartTransaction is matched
    against that one (state Charging, step 11: idTag is ${id_tag})."""
    result, _ = await observe_uncued(scenarios["TC_010_CS"], sim_config, tc010(_id_tag("04A1B2C3", "T00LTAG")),
                                     start_timeout_s=5)
    assert result.verdict == PASS, f"step {result.step}: {result.reason}"
    step11 = [c for c in result.checks if c.step == 11 and "idTag" in c.description]
    assert step11 and step11[0].observed == "T00LTAG"


async def test_a_charger_that_starts_with_another_idtag_than_the_tools_fails_step_11(
        sim_config: BenchConfig, scenarios: dict[str, Scenario]) -> None:
    def change(message: list[Any]) -> list[Any]:
        if message[0] == 2 and message[2] == "StartTransaction":
            message[3]["idTag"] = "SOMEONE"
        return message

    result, _ = await observe_uncued(scenarios["TC_010_CS"], sim_config, tc010(change), start_timeout_s=5)
    assert result.verdict == FAIL and result.step == 11, result.reason


async def test_a_rejected_remote_start_fails_the_response_step(sim_config: BenchConfig,
                                                              scenarios: dict[str, Scenario]) -> None:
    remote_start: set[str] = set()

    def change(message: list[Any]) -> list[Any]:
        if message[0] == 2 and message[2] == "RemoteStartTransaction":
            remote_start.add(message[1])
        elif message[0] == 3 and message[1] in remote_start:
            message[2] = {"status": "Rejected"}
        return message

    result, _ = await observe_uncued(scenarios["TC_010_CS"], sim_config, tc010(change), start_timeout_s=5)
    assert result.verdict == FAIL and result.step == 6, result.reason
    assert "Rejected" in result.reason


async def test_a_tool_request_never_observed_is_an_error_naming_the_step(sim_config: BenchConfig,
                                                                        scenarios: dict[str, Scenario]) -> None:
    records = [r for r in tc010(_without("RemoteStartTransaction"))
               if not ("StartTransaction" in r["raw"] or "Charging" in r["raw"])]
    result, _ = await observe_uncued(scenarios["TC_010_CS"], sim_config, records, start_timeout_s=5,
                                     tool_timeout_s=0.5)
    assert result.verdict == ERROR
    assert result.step == 5
    assert "step 5" in result.reason and "RemoteStartTransaction.req" in result.reason and "tool" in result.reason


async def test_a_case_the_tool_never_starts_is_an_error(sim_config: BenchConfig,
                                                       scenarios: dict[str, Scenario]) -> None:
    result, _ = await observe_uncued(scenarios["TC_010_CS"], sim_config, recorded(RECORDING, "TC_010_CS:reset"),
                                     start_timeout_s=0.5)
    assert result.verdict == ERROR and result.step == 1
    assert "did not start" in result.reason and "GetConfiguration" in result.reason


async def test_cases_judged_on_what_only_the_tool_sees_are_not_runnable(sim_config: BenchConfig,
                                                                       scenarios: dict[str, Scenario]) -> None:
    result = await CaseObserver(scenarios["TC_073_CS"], Capture(None), watching_bench(sim_config),
                                quick(sim_config), act=False).run()
    assert result.verdict == NOT_RUNNABLE
    assert "connection" in result.reason


# ---------------------------------------------------------------- the operator's keypress
async def test_the_operators_enter_starts_the_case(sim_config: BenchConfig, scenarios: dict[str, Scenario]) -> None:
    read_end, write_end = os.pipe()
    said: list[str] = []
    capture = Capture(None)
    with os.fdopen(read_end, "r") as console_in, os.fdopen(write_end, "w") as keyboard:
        cue = KeypressCue(said.append, console_in)
        observer = CaseObserver(scenarios["TC_003_CS"], capture, watching_bench(sim_config), quick(sim_config),
                                act=False, cue=cue)
        running = asyncio.create_task(observer.run())
        await asyncio.sleep(0.2)
        assert not running.done() and said and "TC_CP_V16_003" in said[0] and "press Enter" in said[0]
        await replay(capture, recorded(RECORDING, "TC_003_CS:reset"))  # before Enter: not the case's
        keyboard.write("\n")
        keyboard.flush()
        await asyncio.sleep(0.2)
        await replay(capture, recorded(RECORDING, "TC_003_CS"))
        result = await running
    assert result.verdict == PASS, f"step {result.step}: {result.reason}"


async def test_a_closed_console_is_an_error_not_a_verdict(sim_config: BenchConfig,
                                                         scenarios: dict[str, Scenario]) -> None:
    read_end, write_end = os.pipe()
    os.close(write_end)
    with os.fdopen(read_end, "r") as console_in:
        observer = CaseObserver(scenarios["TC_003_CS"], Capture(None), watching_bench(sim_config),
                                quick(sim_config), act=False, cue=KeypressCue(lambda text: None, console_in))
        result = await observer.run()
    assert result.verdict == ERROR
    assert "console" in result.reason


def _mode12_flow(case: list[Record]) -> list[Record]:
    """A Mode 1/2-only station's first moments: the short power flow after the plug (Preparing), back to
    Available, then Preparing again when the card is presented (Appendix D, last rule)."""
    first = next(i for i, r in enumerate(case) if '"Preparing"' in r["raw"] and r["raw"].startswith("[2,"))
    answer = next(i for i in range(first + 1, len(case)) if case[i]["dir"] == "csms->charger")
    extra = []
    for n, status in enumerate(("Available", "Preparing")):
        payload = {"connectorId": 1, "status": status, "errorCode": "NoError"}
        extra += [dict(case[first], raw=json.dumps([2, f"flow-{n}", "StatusNotification", payload])),
                  dict(case[answer], raw=json.dumps([3, f"flow-{n}", {}]))]
    return case[:answer + 1] + extra + case[answer + 1:]


@pytest.mark.parametrize(("allowances", "verdict"), [(Allowances(mode12_only=True), PASS), (None, FAIL)])
async def test_a_followed_case_is_judged_with_the_stations_allowances(
        sim_config: BenchConfig, scenarios: dict[str, Scenario], allowances: Allowances | None,
        verdict: str) -> None:
    """The Appendix D allowances of the station's PICS (here Mode 1/2-only) hold for a followed case as for a
    case benchctl runs itself (follow_cases derives them from the run's PICS)."""
    before, case = tc003()
    result, _, _ = await observe_cued(scenarios["TC_003_CS"], sim_config, before, _mode12_flow(case),
                                      allowances=allowances)
    assert result.verdict == verdict, f"step {result.step}: {result.reason}"
    if verdict == FAIL:
        assert result.reason.startswith("Appendix D") and "Available" in result.reason


OFFLINE_PART = """\
id: TC_039_CS
title: the offline part, followed
section: '2.14.6'
steps:
  - wait: 1
    note: the charger reconnects and sends what it queued while offline
"""


@pytest.mark.parametrize(("told", "verdict"), [(True, PASS), (False, FAIL)])
async def test_statuses_queued_offline_are_a_replay_once_the_proxy_told_the_reconnection(
        sim_config: BenchConfig, tmp_path: Path, told: bool, verdict: str) -> None:
    """A charger that queued its statuses offline sends them after reconnecting, stamped before the connection:
    followed, that is a legal replay (Appendix D) once the proxy told benchctl of the reconnection."""
    (tmp_path / "TC_039_CS.yaml").write_text(OFFLINE_PART)
    scenario = load_scenario(tmp_path / "TC_039_CS.yaml", SCENARIOS / "states")
    capture, pending = Capture(None), dict[str, str]()
    cp_id = sim_config.charge_point_id
    tasks: list[asyncio.Task[None]] = []

    async def cue(moment: CueMoment) -> None:
        if moment.kind == START:
            tasks.append(asyncio.create_task(reconnect()))

    async def reconnect() -> None:  # once the case has started
        await asyncio.sleep(0.1)
        reconnected = time.time()
        if told:
            observer.link.connection_opened(cp_id, reconnected)
        for n, status in enumerate(("Preparing", "Charging")):
            stamped = datetime.fromtimestamp(reconnected - 60 + n, timezone.utc).isoformat()
            payload = {"connectorId": 1, "status": status, "errorCode": "NoError", "timestamp": stamped}
            capture.add(TO_CSMS, cp_id, parse(json.dumps([2, f"q{n}", "StatusNotification", payload]), pending))
            capture.add(TO_CHARGER, cp_id, parse(json.dumps([3, f"q{n}", {}]), pending))

    observer = CaseObserver(scenario, capture, watching_bench(sim_config), quick(sim_config), act=False, cue=cue)
    result = await observer.run()
    await asyncio.gather(*tasks)
    assert result.verdict == verdict, result.reason
    assert result.status_rules is not None
    rules = {f["rule"] for f in result.status_rules["findings"]}
    assert ("D.offline-replay" in rules) is told
