"""Language and judging features added for the remote-action and reset cases: `configured_connector_match`
on an `each_connector` expectation, and Appendix D's duplicate rule across a reboot."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path

import pytest
import websockets

from benchctl.bench.bench import Bench
from benchctl.bench.config import BenchConfig
from benchctl.csms.capture import Capture
from benchctl.csms.server import CentralSystem
from benchctl.scenario.engine import CaseRunner
from benchctl.scenario.model import load_scenario
from benchctl.scenario.status_rules import ExpectedStatus, StatusObservation, judge_statuses
from drivers.steplog import StepLog

SCENARIO = """\
id: TC_900_CS
title: statuses after a reboot
section: '9.9'
steps:
  - expect: BootNotification
    step: 7
    timeout_s: 5
  - expect: StatusNotification
    step: 9
    timeout_s: 2
    each_connector: true
    match: {status: Available}
    configured_connector_match: {status: Unavailable}
"""


async def _run_against(tmp_path: Path, config: BenchConfig, statuses: list[tuple[int, str]]) -> tuple[str, int | None]:
    (tmp_path / "TC_900_CS.yaml").write_text(SCENARIO)
    scenario = load_scenario(tmp_path / "TC_900_CS.yaml")
    csms = CentralSystem(Capture(None), config.values)
    await csms.start()
    try:
        runner = asyncio.create_task(CaseRunner(scenario, Bench(config, {}, StepLog()), csms.link("CP-9")).run())
        async with websockets.connect(f"{csms.url}/CP-9", subprotocols=["ocpp1.6"]) as ws:
            frames = [[2, "b", "BootNotification", {"chargePointVendor": "v", "chargePointModel": "m"}]]
            frames += [[2, f"s{c}", "StatusNotification", {"connectorId": c, "errorCode": "NoError", "status": s}]
                       for c, s in statuses]
            for frame in frames:
                await ws.send(json.dumps(frame))
                await asyncio.wait_for(ws.recv(), 5)
            result = await asyncio.wait_for(runner, 10)
    finally:
        await csms.stop()
    return result.verdict, result.step


@pytest.fixture
def two_connectors(sim_config: BenchConfig) -> BenchConfig:
    return dataclasses.replace(sim_config, connectors=2)


async def test_configured_connector_gets_its_own_match(tmp_path: Path, two_connectors: BenchConfig) -> None:
    assert two_connectors.values["connector_id"] == 1
    verdict = await _run_against(tmp_path, two_connectors, [(0, "Available"), (1, "Unavailable"), (2, "Available")])
    assert verdict == ("PASS", None)


@pytest.mark.parametrize("statuses", [
    [(0, "Available"), (1, "Available"), (2, "Available")],  # the configured connector must be Unavailable
    [(0, "Available"), (1, "Unavailable"), (2, "Unavailable")],  # only the configured one
])
async def test_the_other_connectors_keep_the_plain_match(tmp_path: Path, two_connectors: BenchConfig,
                                                         statuses: list[tuple[int, str]]) -> None:
    assert await _run_against(tmp_path, two_connectors, statuses) == ("FAIL", 9)


def _obs(*statuses: str) -> list[StatusObservation]:
    return [StatusObservation(i, 1, s, "NoError") for i, s in enumerate(statuses)]


def test_the_same_status_again_after_a_reboot_is_not_a_duplicate() -> None:
    expected = [ExpectedStatus(3, 1, "Unavailable", 0), ExpectedStatus(9, 1, "Unavailable", 1, waiting_for="boot")]
    verdict = judge_statuses("TC_013_CS", _obs("Unavailable", "Unavailable"), expected)
    assert verdict.ok, verdict.findings


def test_the_same_status_again_without_a_reboot_is_a_duplicate() -> None:
    expected = [ExpectedStatus(3, 1, "Unavailable", 0), ExpectedStatus(9, 1, "Unavailable", 1)]
    verdict = judge_statuses("TC_013_CS", _obs("Unavailable", "Unavailable"), expected)
    assert [f.rule for f in verdict.findings if f.fail] == ["D.duplicate"]


def test_star_path_collects_over_a_list_and_contains_all_ignores_order() -> None:
    from benchctl.scenario.values import get_path, satisfies

    conf = {"configurationKey": [{"key": "A", "value": "1"}, {"key": "B"}], "unknownKey": []}
    assert get_path(conf, "configurationKey[*].key") == ["A", "B"]
    assert get_path(conf, "configurationKey[*].value") == ["1", None]  # None: that element does not have it
    assert satisfies(get_path(conf, "configurationKey[*].key"), {"contains_all": ["B", "A"]})
    assert not satisfies(get_path(conf, "configurationKey[*].key"), {"contains_all": ["A", "C"]})
    assert not satisfies(get_path(conf, "nothing[*].key"), {"contains_all": []})


LIMIT_SCENARIO = """\
id: TC_901_CS
title: limit and save_request
section: '9.9'
steps:
  - send: GetConfiguration
    step: 7
    payload: {key: [A, B, C, D]}
    limit: {key: "${most}"}
    save_request: {requested: key}
    response_step: 8
    response: {"configurationKey[*].key": {contains_all: "${requested}"}}
"""


@pytest.mark.parametrize(("most", "answered", "verdict"), [
    (2, ["A", "B"], "PASS"),
    (10, ["A", "B", "C", "D"], "PASS"),  # the list is shorter than the limit
    (3, ["A", "B"], "FAIL"),  # C was asked for and not returned
])
async def test_limit_truncates_a_payload_list_and_save_request_keeps_what_was_sent(
        tmp_path: Path, sim_config: BenchConfig, most: int, answered: list[str], verdict: str) -> None:
    (tmp_path / "TC_901_CS.yaml").write_text(LIMIT_SCENARIO)
    scenario = load_scenario(tmp_path / "TC_901_CS.yaml")
    sim_config.values["most"] = most
    csms = CentralSystem(Capture(None), sim_config.values)
    await csms.start()
    asked: list[list[str]] = []
    try:
        link = csms.link("CP-9")
        async with websockets.connect(f"{csms.url}/CP-9", subprotocols=["ocpp1.6"]) as ws:
            await link.wait_until(lambda: link.connected.is_set(), 5)
            runner = asyncio.create_task(CaseRunner(scenario, Bench(sim_config, {}, StepLog()), link).run())
            request = json.loads(await asyncio.wait_for(ws.recv(), 5))
            asked.append(request[3]["key"])
            keys = [{"key": k, "readonly": False, "value": "x"} for k in answered]
            await ws.send(json.dumps([3, request[1], {"configurationKey": keys}]))
            result = await asyncio.wait_for(runner, 10)
    finally:
        await csms.stop()
    assert asked == [["A", "B", "C", "D"][:most]]
    assert result.verdict == verdict, result.reason
    if verdict == "FAIL":
        assert result.step == 8 and "'C'" in result.reason


def test_every_and_csl_contains_all_and_defaults() -> None:
    from benchctl.scenario.values import satisfies, substitute

    assert satisfies(["Sample.Clock", "Sample.Clock"], {"every": "Sample.Clock"})
    assert not satisfies(["Sample.Clock", None], {"every": "Sample.Clock"})
    assert satisfies(["Sample.Periodic", None], {"every": {"one_of": ["Sample.Periodic", None]}})
    assert not satisfies([], {"every": "Sample.Clock"})
    assert satisfies(["Voltage", "Energy.Active.Import.Register"], {"contains_all": "Energy.Active.Import.Register, Voltage"})
    assert not satisfies(["Voltage"], {"contains_all": "Energy.Active.Import.Register,Voltage"})
    assert substitute("${m:-Energy.Active.Import.Register}", {"m": ""}) == "Energy.Active.Import.Register"
    assert substitute("${m:-Energy.Active.Import.Register}", {}) == "Energy.Active.Import.Register"
    assert substitute("${m:-x}", {"m": "Voltage"}) == "Voltage"
    assert substitute("a ${m:-x} b", {"m": None}) == "a x b"


CALL_ERROR_SCENARIO = """\
id: TC_902_CS
title: or_call_error
section: '9.9'
steps:
  - send: ChangeConfiguration
    step: 1
    payload: {key: MeterValueSampleInterval, value: "-1"}
    response: {status: Rejected}
    response_step: 2
    or_call_error: [PropertyConstraintViolation]
"""


@pytest.mark.parametrize(("answer", "verdict"), [
    ({"status": "Rejected"}, "PASS"),
    ({"status": "Accepted"}, "FAIL"),
    ("PropertyConstraintViolation", "PASS"),
    ("InternalError", "FAIL"),  # a CALLERROR, but not with the code the document names
])
async def test_or_call_error_accepts_a_callerror_with_an_allowed_code(
        tmp_path: Path, sim_config: BenchConfig, answer: dict[str, str] | str, verdict: str) -> None:
    (tmp_path / "TC_902_CS.yaml").write_text(CALL_ERROR_SCENARIO)
    scenario = load_scenario(tmp_path / "TC_902_CS.yaml")
    csms = CentralSystem(Capture(None), sim_config.values)
    await csms.start()
    try:
        link = csms.link("CP-9")
        async with websockets.connect(f"{csms.url}/CP-9", subprotocols=["ocpp1.6"]) as ws:
            await link.wait_until(lambda: link.connected.is_set(), 5)
            runner = asyncio.create_task(CaseRunner(scenario, Bench(sim_config, {}, StepLog()), link).run())
            request = json.loads(await asyncio.wait_for(ws.recv(), 5))
            reply = [3, request[1], answer] if isinstance(answer, dict) else [4, request[1], answer, "no", {}]
            await ws.send(json.dumps(reply))
            result = await asyncio.wait_for(runner, 10)
    finally:
        await csms.stop()
    assert result.verdict == verdict, result.reason
    if verdict == "FAIL":
        assert result.step == 2
