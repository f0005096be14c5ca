"""What `expect` and `any_order` share: awaiting a group of expectations together, judging a charger message a
step took (matchers, timing, the tool's answer as evidence, saved values) and the StatusNotification expectations
Appendix D is judged against."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from benchctl.csms.capture import CapturedFrame
from benchctl.record.case import Check

from ..errors import StepFailed
from ..status_rules import BOOT_WAIT, ExpectedStatus
from ..step import Step
from ..values import match_text, mismatches, substitute
from ..values import with_text as _with

if TYPE_CHECKING:
    from ..engine import CaseRunner
    from .expect import After, ExpectStep


def expectation(step: Step) -> ExpectStep:
    """The model of an expect step (an any_order member is one: the loader takes no other)."""
    from .expect import ExpectStep  # expect.py imports this module

    return step.typed(ExpectStep)


async def expect_group(runner: CaseRunner, group: Step, members: list[Step]) -> None:
    """The members awaited together; the first failure by step number is the group's."""
    start = runner.since(group)
    outcomes = await asyncio.gather(*(_one(runner, m, start) for m in members), return_exceptions=True)
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    if failures:
        unexpected = [f for f in failures if not isinstance(f, StepFailed)]
        if unexpected:
            raise unexpected[0]
        failed = [f for f in failures if isinstance(f, StepFailed)]
        raise min(failed, key=lambda f: f.number if f.number is not None else 10**6)
    positions = [o for o in outcomes if isinstance(o, int)]  # no failure: one inbox position per member
    taken = []
    waiting_for = runner.waiting_for  # the members are awaited together: each waited for the same thing
    for member, index in zip(members, positions):
        runner.waiting_for = waiting_for
        if index == -1:
            runner.checks.append(Check(member.number, f"{expectation(member).expect}.req (optional) not sent", True))
            expect_status(runner, member, None, members)
            continue
        await await_answer(runner, index)
        take(runner, member, index)
        expect_status(runner, member, runner.link.inbox[index].frame.index, members)
        taken.append(index)
    runner.cursor = max([runner.cursor, *[i + 1 for i in taken]])


async def _one(runner: CaseRunner, member: Step, start: int) -> int:
    """The inbox position of the message the member took, or -1 for an optional member none came for."""
    m = expectation(member)
    action = m.expect
    match = substitute(m.match, runner.vars)
    timeout = runner.timeout(member)

    def first_satisfying() -> tuple[int] | None:
        runner.check_invalid_frames(member)
        for i in range(start, len(runner.link.inbox)):
            item = runner.link.inbox[i]
            if i not in runner.consumed and item.action == action and not mismatches(item.payload, match):
                runner.consumed.add(i)
                return (i,)
        return None

    found = await runner.link.wait_until(first_satisfying, timeout)
    if found is None and m.optional:
        return -1
    if found is None:
        seen = [runner.link.inbox[i].payload for i in range(start, len(runner.link.inbox))
                if runner.link.inbox[i].action == action]
        detail = f"; received instead: {seen}" if seen else ""
        wanted = f"{action} ({match_text(match)})" if match_text(match) else action
        raise StepFailed(member, member.number, f"no {wanted} within {timeout:.1f} s{detail}",
                         expected=f"{action}.req{_with(match)} within {timeout:.1f} s")
    return found[0]



def take(runner: CaseRunner, step: Step, index: int) -> None:
    """Judge the matched charger message at inbox `index`, and record the evidence of its steps."""
    runner.consumed.add(index)
    item = runner.link.inbox[index]
    d = expectation(step)
    runner.mode.answered(runner, step, item.answer)
    after = d.after
    if after:
        _judge_timing(runner, step, item.frame, after)  # before this step's own frame replaces an earlier one
    if step.number is not None:
        runner.frames_by_step[step.number] = item.frame
    answer = runner.link.answers.get(item.frame.frame.unique_id or "")
    if d.answer_step is not None and answer is not None:
        runner.frames_by_step[d.answer_step] = answer
        if d.answer is not None:
            runner.checks.append(Check(d.answer_step, f"{d.expect}.conf answered {item.answer}", True,
                                       item.answer, [answer.index]))
    runner.judge(step, step.number, f"{d.expect}.req", item.payload, substitute(d.match, runner.vars), item.frame)
    runner.warn_if(step, step.number, item.payload, item.frame)
    runner.save(d.save, item.payload)
    runner.save(d.save_answer, item.answer or {})


async def await_answer(runner: CaseRunner, index: int) -> None:
    """The request reaches the engine before its answer is on the wire; the answer is evidence too."""
    unique_id = runner.link.inbox[index].frame.frame.unique_id or ""
    await runner.link.wait_until(lambda: unique_id in runner.link.answers, 5.0)


def _judge_timing(runner: CaseRunner, step: Step, frame: CapturedFrame, after: After) -> None:
    ref = runner.frames_by_step.get(after.step)
    if ref is None:
        raise StepFailed(step, step.number, f"timing refers to step {after.step}, which has no frame yet")
    seconds = float(substitute(after.seconds, runner.vars))
    tolerance = float(substitute(after.tolerance_s, runner.vars))
    delay = frame.mono - ref.mono
    ok = abs(delay - seconds) <= tolerance
    action = expectation(step).expect
    runner.checks.append(Check(step.number, f"{action} {seconds:g} ± {tolerance:g} s after step {after.step}", ok,
                               round(delay, 3), [ref.index, frame.index]))
    if not ok:
        raise StepFailed(step, step.number, f"{action} came {delay:.2f} s after step {after.step}"
                                            f", expected {seconds:g} ± {tolerance:g} s (frames #{ref.index}, "
                                            f"#{frame.index})")


def expect_status(runner: CaseRunner, step: Step, index: int | None, group: list[Step] | None = None) -> None:
    """Remember a StatusNotification expectation, and what the tool was waiting for around it."""
    m = expectation(step)
    if m.expect != "StatusNotification":
        waits = {"StartTransaction": "StartTransaction", "StopTransaction": "StopTransaction",
                 "BootNotification": "boot"}
        runner.waiting_for = waits.get(m.expect, runner.waiting_for)
        return
    match = substitute(m.match, runner.vars)
    waiting_for = runner.waiting_for
    for member in group or []:
        action = expectation(member).expect
        if action in ("StartTransaction", "StopTransaction"):
            waiting_for = action
        elif action == "BootNotification":
            waiting_for = BOOT_WAIT  # statuses reported together with a (re)boot
    connector = match.get("connectorId", runner.vars.get("connector_id"))
    status = match.get("status")
    runner.status_expectations.append(ExpectedStatus(
        step.number, connector if isinstance(connector, int) else None,
        status if isinstance(status, str) else "", index, optional=m.optional,
        waiting_for=waiting_for))
    runner.waiting_for = None


def per_connector(runner: CaseRunner, step: Step) -> list[Step]:
    """An each_connector expectation as one plain expectation per connector it stands for."""
    members = []
    m = expectation(step)
    configured = int(substitute("${connector_id}", runner.vars))
    for connector_id in runner.connectors_of(step):
        # the document's "<Configured ConnectorId> is X, the other StatusNotification messages are Y"
        own = m.configured_connector_match if connector_id == configured else {}
        changes: dict[str, Any] = {"match": {**m.match, **own, "connectorId": connector_id}, "each_connector": False}
        if connector_id != configured:  # one message to save from: the configured connector's
            changes.update(save={}, save_answer={})
            if m.each_connector == "evse":
                # the mates' reports are the station's choice (a fault of the stage or of the one connector)
                changes["optional"] = True
        members.append(Step("expect", dict(step.data, **changes), step.file, step.line, replace(m, **changes)))
    return members
