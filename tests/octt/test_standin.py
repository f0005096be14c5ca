"""The stand-in tool over the real wire: the simulated charger dials its OCPP endpoint, the test plays the operator
over its HTTP API and does the physical steps with the sim bench's drivers."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable

import aiohttp
import pytest
from aiohttp import web

from benchctl.bench.actions import ACTIONS
from benchctl.bench.bench import Bench
from benchctl.bench.config import BenchConfig
from benchctl.csms.capture import TO_CHARGER, TO_CSMS
from hil_sim.bench import SimBench
from octt_standin import StandInTool

# The prompt texts as OCTT-AUTOMATION.md records them, typed out again here on purpose: the stand-in's data
# module must show exactly these.
SETUP = "Ensure that charge point is setup for this test."
POWER_CYCLE = "Power cycle the charge point and then resume the test case by clicking 'Yes'."
PLUG_IN = "First resume the test case by clicking 'Yes' and plugin cable."
PRESENT_VALID = "First resume the test case by clicking 'Yes' and present valid identification."
UNPLUG = "First resume the test case by clicking 'Yes' and Unplug cable."
UNPLUG_EV_SIDE = "First resume the test case by clicking 'Yes'and unplug at EV side."

# the layout public clients parse (the entry regex and the (newlines - 4) / 3 entry count)
STATUS_ENTRY = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2})?\s*-\s*ConnectorId\s*:\s*(\d+)"
                          r"\s*-\s*(\w+)\s*-\s*\n(\w+)\s*-\s*(N/A)\s*-\s*(Yes|No)")
HEARTBEAT = re.compile(r"Expected Heartbeat Interval : (\d+)\nActual Heartbeat Interval : (\d+)")

FAST = {"heartbeat_interval_s": 1, "boot_retry_interval_s": 1, "message_timeout_s": 3}


@dataclass
class Rig:
    tool: StandInTool
    sim: SimBench
    bench: Bench
    values: dict[str, Any]

    async def act(self, name: str, **kwargs: Any) -> None:
        await ACTIONS[name].func(self.bench, **kwargs)


async def _until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


async def _open_rig(config: BenchConfig, **tool_options: Any) -> AsyncIterator[Rig]:
    values = {**config.values, **FAST}
    tool = StandInTool(values, **tool_options)
    await tool.start()
    assert config.simulator is not None
    sim = SimBench(config.simulator, tool.ocpp_url, config.charge_point_id)
    bench: Bench | None = None
    try:
        bench = Bench.build(config, await sim.start())
        await bench.connect()
        await _until(lambda: tool.central.statuses.get(1) == "Available")
        yield Rig(tool, sim, bench, values)
    finally:
        if bench is not None:
            await bench.safe_state()
            await bench.close()
        await sim.stop()
        await tool.stop()


@pytest.fixture
async def rig(sim_config: BenchConfig) -> AsyncIterator[Rig]:
    async for r in _open_rig(sim_config):
        yield r


@dataclass
class Operator:
    """Drives the tool's HTTP API as the lab's tester would: start a case, poll for prompts, click, act."""

    rig: Rig
    act_first: set[str] = field(default_factory=set)  # prompts it acts on BEFORE clicking Yes (the wrong order)
    say_no: set[str] = field(default_factory=set)
    seen: list[str] = field(default_factory=list)

    def physical(self, text: str) -> tuple[str, dict[str, Any]] | None:
        return {
            POWER_CYCLE: ("power_cycle", {}),
            PLUG_IN: ("plug_in", {}),
            PRESENT_VALID: ("present_id", {"id_tag": self.rig.values["valid_id_tag"]}),
            UNPLUG: ("unplug", {}),
            UNPLUG_EV_SIDE: ("ev_side_disconnect", {}),
        }.get(text)

    async def run(self, case: str) -> dict[str, Any]:
        url = self.rig.tool.http_url
        async with aiohttp.ClientSession() as http:
            body = {"testCaseID": case, "executionType": "start"}
            verdict = asyncio.ensure_future(http.post(f"{url}/ocpp/autoExecTestcase", json=body))
            while not verdict.done():
                async with http.get(f"{url}/ocpp/isWaitingOnPrompt") as resp:
                    waiting = await resp.json()
                if waiting:
                    async with http.get(f"{url}/ocpp/getPrompt") as resp:
                        text = await resp.text()
                    await self.handle(http, text)
                await asyncio.sleep(0.05)
            async with await verdict as resp:
                assert resp.status == 200, await resp.text()
                return await resp.json()

    async def answer(self, http: aiohttp.ClientSession, yes: bool) -> None:
        last = self.rig.tool.central.last_transaction_id
        body = {"continuePrompt": yes, "auto": "api", "transactionID": -1 if last is None else last}
        async with http.post(f"{self.rig.tool.http_url}/ocpp/autoExecPrompt", json=body) as resp:
            assert resp.status == 200, await resp.text()

    async def handle(self, http: aiohttp.ClientSession, text: str) -> None:
        self.seen.append(text)
        step = self.physical(text)
        if text in self.say_no:
            await self.answer(http, False)
        elif step is not None and text in self.act_first:
            before = len(self.rig.tool.requests)
            await self.rig.act(step[0], **step[1])
            await _until(lambda: len(self.rig.tool.requests) > before)  # the tool got the charger's reaction
            await self.answer(http, True)
        elif step is not None:
            await self.answer(http, True)  # resume first, then act
            await self.rig.act(step[0], **step[1])
        elif text == SETUP:
            await self.answer(http, True)
        elif m := HEARTBEAT.fullmatch(text):
            await self.answer(http, m.group(1) == m.group(2))
        elif text.startswith("Expected StatusNotifications\n"):
            entries = STATUS_ENTRY.findall(text)
            assert len(entries) == (text.count("\n") - 4) / 3, text
            await self.answer(http, all(e[5] == "Yes" for e in entries))
        else:
            await self.answer(http, False)  # a prompt it does not know: never guess


def _statuses(text: str) -> list[tuple[str, str, str]]:
    return [(cid, status, got) for _, cid, status, _, _, got in STATUS_ENTRY.findall(text)]


# ------------------------------------------------------------------------- the HTTP API itself
async def test_case_list_and_http_errors(rig: Rig) -> None:
    url = rig.tool.http_url
    assert url.startswith("http://127.0.0.1:") and rig.tool.ocpp_url.startswith("ws://127.0.0.1:")
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{url}/ocpp/getTestcases") as resp:
            names = [c["name"] for c in (await resp.json())["testcases"]]
        assert names == ["TC_CP_V16_000_RESET", "TC_CP_V16_001", "TC_CP_V16_003", "TC_CP_V16_005_1", "TC_CP_V16_010",
                         "TC_CP_V16_068", "TC_CP_V16_069"]
        async with http.post(f"{url}/ocpp/autoExecTestcase",
                             json={"testCaseID": "TC_CP_V16_999", "executionType": "start"}) as resp:
            assert resp.status == 404 and "TC_CP_V16_999" in (await resp.json())["error"]
        async with http.post(f"{url}/ocpp/autoExecTestcase", data="{not json") as resp:
            assert resp.status == 400 and "not JSON" in (await resp.json())["error"]
        async with http.post(f"{url}/ocpp/autoExecPrompt",
                             json={"continuePrompt": True, "auto": "api", "transactionID": -1}) as resp:
            assert resp.status == 409
        async with http.get(f"{url}/ocpp/isWaitingOnPrompt") as resp:
            assert await resp.json() is False

        # a second case while one runs (the first waits at its setup prompt)
        body = {"testCaseID": "TC_CP_V16_010", "executionType": "start"}
        first = asyncio.ensure_future(http.post(f"{url}/ocpp/autoExecTestcase", json=body))
        await _until(lambda: rig.tool.box.waiting)
        async with http.post(f"{url}/ocpp/autoExecTestcase", json=body) as resp:
            assert resp.status == 409 and "TC_CP_V16_010 is running" in (await resp.json())["error"]
        async with http.get(f"{url}/ocpp/getPrompt") as resp:
            assert await resp.text() == SETUP
        async with http.post(f"{url}/ocpp/autoExecPrompt", json={"continuePrompt": "yes"}) as resp:
            assert resp.status == 400
        # public scripts send -1 before any transaction, never null
        async with http.post(f"{url}/ocpp/autoExecPrompt",
                             json={"continuePrompt": False, "auto": "api", "transactionID": None}) as resp:
            assert resp.status == 400 and "transactionID must be an integer" in (await resp.json())["error"]
        async with http.post(f"{url}/ocpp/autoExecPrompt",
                             json={"continuePrompt": False, "auto": "api", "transactionID": -1}) as resp:
            assert resp.status == 200
        async with await first as resp:
            result = await resp.json()
    # answering No fails the case, naming the prompt
    assert result["testCase_Result"] == "FAIL" and result["step"] == "setup" and SETUP in result["reason"]


# ------------------------------------------------------------------------- the cases, with a correct operator
async def test_003_passes_then_reset_stops_and_frees_the_connector(rig: Rig) -> None:
    operator = Operator(rig)
    result = await operator.run("TC_CP_V16_003")
    assert result["testCase_Result"] == "PASS", result
    assert operator.seen[:3] == [SETUP, PLUG_IN, PRESENT_VALID]
    listing = operator.seen[3]
    assert listing.startswith("Expected StatusNotifications\n")
    assert _statuses(listing) == [("1", "PREPARING", "Yes"), ("1", "CHARGING", "Yes")]
    transaction_id = result["transactionID"]
    assert transaction_id in rig.tool.central.open_transactions

    reset = await Operator(rig).run("TC_CP_V16_000_RESET")
    assert reset["testCase_Result"] == "PASS", reset
    assert reset["prompts"] == [SETUP, UNPLUG]  # stopped remotely; the cable was still in
    stops = [r for r in rig.tool.requests if r.action == "StopTransaction"]
    assert [(s.payload["transactionId"], s.payload["reason"]) for s in stops] == [(transaction_id, "Remote")]
    assert rig.tool.central.statuses[1] == "Available" and not rig.tool.central.open_transactions


async def test_001_cold_boot_passes(rig: Rig) -> None:
    operator = Operator(rig)
    result = await operator.run("TC_CP_V16_001")
    assert result["testCase_Result"] == "PASS", result
    assert operator.seen[:2] == [SETUP, POWER_CYCLE]
    assert operator.seen[2] == "Expected Heartbeat Interval : 1\nActual Heartbeat Interval : 1"
    boots = [rig.tool.central.answers[r.index] for r in rig.tool.requests if r.action == "BootNotification"]
    assert [(b["status"], b["interval"]) for b in boots[-2:]] == [("Rejected", 1), ("Accepted", 1)]
    assert _statuses(operator.seen[3]) == [("0", "AVAILABLE", "Yes"), ("1", "AVAILABLE", "Yes")]


async def test_005_1_passes(rig: Rig) -> None:
    operator = Operator(rig)
    result = await operator.run("TC_CP_V16_005_1")
    assert result["testCase_Result"] == "PASS", result
    assert operator.seen[:3] == [SETUP, PLUG_IN, UNPLUG_EV_SIDE]
    changes = [json.loads(f.raw)[3] for f in rig.tool.frames
               if f.direction == TO_CHARGER and json.loads(f.raw)[0] == 2 and json.loads(f.raw)[2] == "ChangeConfiguration"]
    assert [c["key"] for c in changes] == ["MinimumStatusDuration", "StopTransactionOnEVSideDisconnect",
                                           "UnlockConnectorOnEVSideDisconnect"]
    stop = [r for r in rig.tool.requests if r.action == "StopTransaction"][-1]
    assert stop.payload["reason"] == "EVDisconnected"
    assert _statuses(operator.seen[-1]) == [("1", "PREPARING", "Yes"), ("1", "CHARGING", "Yes"),
                                            ("1", "FINISHING", "Yes")]


async def test_010_passes_and_frames_are_recorded_raw_in_order(rig: Rig) -> None:
    result = await Operator(rig).run("TC_CP_V16_010")
    assert result["testCase_Result"] == "PASS", result
    frames = rig.tool.frames
    calls = {}
    for f in frames:
        message = json.loads(f.raw)  # raw text, as it went over the wire
        if message[0] == 2:
            calls[message[1]] = (f.direction, message[2])
        else:  # every answer follows its request, in the other direction
            direction, _ = calls.pop(message[1])
            assert f.direction != direction
    assert [f.index for f in frames] == list(range(len(frames)))
    assert {f.direction for f in frames} == {TO_CSMS, TO_CHARGER}
    tool_calls = [json.loads(f.raw)[2] for f in frames if f.direction == TO_CHARGER and json.loads(f.raw)[0] == 2]
    assert tool_calls == ["GetConfiguration", "RemoteStartTransaction"]
    start = next(f for f in frames if f.direction == TO_CSMS and '"StartTransaction"' in f.raw)
    answer = frames[frames.index(start) + 1]
    assert json.loads(answer.raw)[2]["transactionId"] == result["transactionID"]


# ------------------------------------------------------------------------- operators that get it wrong
async def test_acting_before_resuming_is_missed_and_fails(rig: Rig) -> None:
    operator = Operator(rig, act_first={PRESENT_VALID})
    result = await operator.run("TC_CP_V16_003")
    assert result["testCase_Result"] == "FAIL"
    assert (result["step"], result["reason"]) == ("3", "no Authorize received within 3 s")
    assert any(r.action == "Authorize" for r in rig.tool.requests)  # it came, but before the Yes


async def test_a_missed_status_is_listed_as_not_received_and_fails(rig: Rig) -> None:
    operator = Operator(rig, act_first={PLUG_IN})
    result = await operator.run("TC_CP_V16_010")
    assert result["testCase_Result"] == "FAIL"
    assert _statuses(operator.seen[-1]) == [("1", "PREPARING", "No"), ("1", "CHARGING", "Yes")]
    assert result["step"] == "Expected StatusNotifications"


async def test_answering_no_fails_the_case(rig: Rig) -> None:
    result = await Operator(rig, say_no={PLUG_IN}).run("TC_CP_V16_010")
    assert result["testCase_Result"] == "FAIL" and result["step"] == "3" and PLUG_IN in result["reason"]
    assert not rig.tool.box.waiting


async def test_a_case_nobody_answers_ends_at_its_time_limit(sim_config: BenchConfig) -> None:
    async for rig in _open_rig(sim_config, case_time_limit_s=0.5):
        result = await rig.tool.run_case("TC_CP_V16_010")
        assert result["testCase_Result"] == "FAIL" and result["step"] == "setup"
        assert result["reason"] == "time limit of 0.5 s reached"
        assert not rig.tool.box.waiting and rig.tool.running is None


# ------------------------------------------------------------------------- options
async def test_unknown_prompt_ends_the_case_cleanly(sim_config: BenchConfig) -> None:
    strange = "Please rotate the charge point by 90 degrees."
    async for rig in _open_rig(sim_config, unknown_prompts={"TC_CP_V16_003": strange}):
        operator = Operator(rig)
        result = await operator.run("TC_CP_V16_003")
        assert operator.seen == [strange]
        assert result["testCase_Result"] == "FAIL" and strange in result["reason"]
        assert result["prompts"] == [strange]
        # nothing left hanging: no prompt open, the next case runs
        assert not rig.tool.box.waiting and rig.tool.running is None
        assert (await Operator(rig).run("TC_CP_V16_000_RESET"))["testCase_Result"] == "PASS"


async def test_auto_answer_clicks_yes_for_a_follower(sim_config: BenchConfig) -> None:
    """Nobody drives the HTTP prompts: the stand-in clicks Yes itself; a follower acts on the tool's traffic."""
    async for rig in _open_rig(sim_config, auto_answer=0.2):
        tool = rig.tool

        async def follow() -> None:
            # the tool asks the charger's configuration right before its plug-in prompt: plug in once the
            # stand-in has clicked that prompt away
            await _until(lambda: any('"GetConfiguration"' in f.raw for f in tool.frames))
            await _until(lambda: PLUG_IN in tool.box.shown and not tool.box.waiting)
            await rig.act("plug_in")
        follower = asyncio.ensure_future(follow())
        result = await tool.run_case("TC_CP_V16_010")
        await follower
        assert result["testCase_Result"] == "PASS", result
        assert result["prompts"][:2] == [SETUP, PLUG_IN]


async def test_sut_api_callbacks_replace_the_physical_prompts(sim_config: BenchConfig) -> None:
    called: list[tuple[str, str | None]] = []
    holder: dict[str, Rig] = {}
    actions = {"plugin": ("plug_in", {}), "plugout": ("unplug", {}), "reset": ("power_cycle", {})}

    async def callback(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        called.append((name, request.query.get("connector_id")))
        rig = holder["rig"]
        action, kwargs = actions.get(name) or ("present_id", {"id_tag": rig.values["valid_id_tag"]})
        asyncio.ensure_future(rig.act(action, **kwargs))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/{name}", callback)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        async for rig in _open_rig(sim_config, sut_api=f"http://{host}:{port}"):
            holder["rig"] = rig
            result = await rig.tool.run_case("TC_CP_V16_003")
            assert result["testCase_Result"] == "PASS", result
            assert result["prompts"] == []  # nobody is asked anything
            assert called == [("plugin", "1"), ("start", "1")]
            reset = await rig.tool.run_case("TC_CP_V16_000_RESET")
            assert reset["testCase_Result"] == "PASS", reset
            assert called[-1] == ("plugout", "1")
    finally:
        await runner.cleanup()
