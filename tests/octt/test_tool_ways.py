"""What public automation scripts show the desktop tool doing, played by the stand-in, and benchctl coping: a prompt
flag that stays up after its answer, an answer call that blocks, a non-boolean isWaitingOnPrompt, transactionID
-1 before any transaction, and a poll that is quick after activity but slow when idle."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from benchctl.bench.actions import ACTIONS
from benchctl.octt.client import OcttClient
from benchctl.octt.driver import PromptRecord
from benchctl.octt.pace import CASE_CHANGE_HOLD_S, QUICK_FOR_S, Answered
from benchctl.record.case import PASS
from octt_standin import StandInTool
from octt_standin import prompts as tool_prompts

from octt_harness import companion

IS_WAITING = "/ocpp/isWaitingOnPrompt"


def _plug_ins(run) -> int:  # type: ignore[no-untyped-def]
    assert run.source.session is not None
    return sum(1 for s in run.source.session.bench.steplog.steps
               if s.role == "ev" and s.command == "set_plug" and s.args.get("connected") is True)


async def test_a_prompt_flag_that_stays_up_after_the_answer_is_answered_and_acted_on_once(
        tmp_path: Path, scenarios) -> None:
    async with companion(tmp_path, sticky_prompt_s=0.6) as (run, tool):
        result = await run.case(scenarios["TC_003_CS"])
        plugged = _plug_ins(run)
    assert (result.verdict, result.reason) == (PASS, ""), result.octt
    assert [p["rule"] for p in result.octt["prompts"]] == ["setup", "plug_in", "present_valid", "expected_statuses"]
    assert tool.box.late_answers == []  # never answered a prompt whose flag was still up
    assert plugged == 1  # one plug-in for one prompt (the reset case before it plugs nothing)
    assert [a.text for a in tool.box.answers].count(tool_prompts.PLUG_IN) == 1


async def test_an_answer_call_that_blocks_longer_than_a_short_call_does_not_end_the_case(
        tmp_path: Path, scenarios) -> None:
    async with companion(tmp_path, answer_delay_s=1.5) as (run, tool):
        run.source.client.call_timeout_s = 0.5  # every other call is short; the answer is given minutes
        result = await run.case(scenarios["TC_003_CS"])
    assert (result.verdict, result.reason) == (PASS, ""), result.octt
    prompts = {p["rule"]: p for p in result.octt["prompts"]}
    plug = prompts["plug_in"]
    # the plug-in followed the prompt going down, not the answer call that was still held
    assert plug["answered_mono"] <= plug["action_started_mono"] < plug["seen_mono"] + 1.0
    assert tool.box.late_answers == []


async def test_a_non_boolean_is_waiting_answer_is_no_prompt(sim_config, tmp_path: Path, scenarios) -> None:
    for odd in (None, "", "false", {"waiting": False}, 0):
        tool = StandInTool(dict(sim_config.values), idle_waiting=odd)
        await tool.start()
        try:
            async with OcttClient(tool.http_url) as client:
                assert await client.is_waiting_on_prompt() is False, odd
        finally:
            await tool.stop()
    async with companion(tmp_path, idle_waiting=None) as (run, _):
        result = await run.case(scenarios["TC_010_CS"])
    assert (result.verdict, result.reason) == (PASS, ""), result.octt


async def test_transaction_id_is_minus_one_before_any_transaction_then_the_transactions(
        tmp_path: Path, scenarios) -> None:
    async with companion(tmp_path) as (run, tool):
        result = await run.case(scenarios["TC_003_CS"])
    assert result.verdict == PASS, result.octt
    sent = [(a.text.splitlines()[0], a.transaction_id) for a in tool.box.answers]
    started = tool.central.last_transaction_id
    assert isinstance(started, int)
    # the reset case and the case's first prompts come before any transaction; the closing list after it
    assert sent[0][1] == -1 and (tool_prompts.PLUG_IN, -1) in sent
    assert sent[-1] == ("Expected StatusNotifications", started)


async def test_an_idle_poll_backs_off_and_a_prompt_is_still_acted_on_at_once(tmp_path: Path) -> None:
    idle_s = 5.0
    # a long heartbeat: nothing on the wire while the tool waits, as in a case's quiet stretch
    async with companion(tmp_path, tool_values={"heartbeat_interval_s": 300}) as (run, tool):
        assert run.source.driver is not None
        await asyncio.sleep(1.0)  # the boot's frames are over
        opened: list[float] = []

        async def tool_side() -> None:
            await asyncio.sleep(idle_s)
            opened.append(time.monotonic())
            await tool.box.ask(tool_prompts.PLUG_IN, 10)

        t0 = time.monotonic()
        prompts: list[PromptRecord] = []
        script = asyncio.create_task(tool_side())
        problem = await run.source.driver.handle_prompts_while("idle", script, prompts)
    assert problem is None and [p.action for p in prompts] == ["plug_in"]
    polls = [t - t0 for t, path in tool.calls if path == IS_WAITING and t0 <= t < opened[0]]
    # quick for QUICK_FOR_S after the start, then backing off: about once a second once the steps up are over
    quick = run.source.driver.poll_s
    assert len([t for t in polls if t < QUICK_FOR_S]) <= QUICK_FOR_S / quick + 2, polls
    backed_off = QUICK_FOR_S + 1.5
    assert len([t for t in polls if t >= backed_off]) <= (idle_s - backed_off) + 1, polls
    record = prompts[0]
    assert record.seen_mono - opened[0] <= run.source.driver.idle_poll_s + 0.3
    assert record.action_started_mono is not None
    assert (record.action_started_mono - record.seen_mono) * 1000 < 50  # prompt seen to action


async def test_a_frame_through_the_proxy_makes_the_idle_poll_look_again_quickly(tmp_path: Path) -> None:
    async with companion(tmp_path, tool_values={"heartbeat_interval_s": 300}) as (run, tool):
        assert run.source.driver is not None and run.source.session is not None
        await asyncio.sleep(1.0)
        delays: list[float] = []

        bench = run.source.session.bench

        async def tool_side() -> None:
            for _ in range(3):
                await asyncio.sleep(3.0)  # idle: the poll is at its slow pace, its next look about 0.6 s off
                await ACTIONS["plug_in"].func(bench, ready=False)  # the charger reports Preparing
                await _until(lambda: tool.central.statuses.get(1) == "Preparing")
                delays.append(time.monotonic())
                await tool.box.ask("Sending Remote Stop Transaction", 10)  # answered Yes, no action
                await ACTIONS["unplug"].func(bench)
                await _until(lambda: tool.central.statuses.get(1) == "Available")

        prompts: list[PromptRecord] = []
        script = asyncio.create_task(tool_side())
        await run.source.driver.handle_prompts_while("wake", script, prompts)
        script.result()
    seen = [(p.seen_mono - opened) * 1000 for p, opened in zip(prompts, delays)]
    assert len(seen) == 3 and max(seen) < 250, seen  # an idle poll alone would wait up to 1000 ms


async def _until(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


def test_a_prompt_answered_in_the_previous_case_is_the_same_one_only_for_a_moment() -> None:
    text = tool_prompts.SETUP
    now = time.monotonic()
    assert Answered("TC_CP_V16_000_RESET", text, now).same_prompt("TC_CP_V16_003", text)
    assert not Answered("TC_CP_V16_000_RESET", text, now - CASE_CHANGE_HOLD_S - 1).same_prompt("TC_CP_V16_003", text)
    # in its own case it stays the same prompt until its flag drops, however long that takes
    assert Answered("TC_CP_V16_003", text, now - 60).same_prompt("TC_CP_V16_003", text)
    assert not Answered("TC_CP_V16_003", text, now).same_prompt("TC_CP_V16_003", tool_prompts.PLUG_IN)
