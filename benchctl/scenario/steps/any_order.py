"""`any_order`: a group of expectations whose order the test case document lets the charger choose; each member
takes the first message of its action that satisfies its matchers."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from benchctl.record.case import Check

from ..errors import StepFailed
from ..model import Step
from ..values import mismatches, substitute
from .registry import step_kind
from .taking import await_answer, expect_status, per_connector, take

if TYPE_CHECKING:
    from ..engine import CaseRunner


@step_kind("any_order")
async def any_order(runner: CaseRunner, step: Step) -> None:
    # an each_connector member stands for one expectation per connector (e.g. after a reboot)
    await expect_group(runner, step, [m for child in step.children
                                      for m in (per_connector(runner, child) if child.data["each_connector"]
                                                else [child])])


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
            runner.checks.append(Check(member.number, f"{member.data['expect']}.req (optional) not sent", True))
            expect_status(runner, member, None, members)
            continue
        await await_answer(runner, index)
        take(runner, member, index)
        expect_status(runner, member, runner.link.inbox[index].frame.index, members)
        taken.append(index)
    runner.cursor = max([runner.cursor, *[i + 1 for i in taken]])


async def _one(runner: CaseRunner, member: Step, start: int) -> int:
    """The inbox position of the message the member took, or -1 for an optional member none came for."""
    action = member.data["expect"]
    match = substitute(member.data["match"], runner.vars)
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
    if found is None and member.data["optional"]:
        return -1
    if found is None:
        seen = [runner.link.inbox[i].payload for i in range(start, len(runner.link.inbox))
                if runner.link.inbox[i].action == action]
        detail = f"; received instead: {seen}" if seen else ""
        raise StepFailed(member, member.number, f"no {action} matching {match} within {timeout:.1f} s{detail}")
    return found[0]
