"""`expect`: a charger message that must arrive. It takes the next message of its action after the previous
matched one and judges it, as the tool does (an each_connector one: a group, one member per connector)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from benchctl.csms.link import Received
from benchctl.record.case import Check

from ..errors import StepFailed
from ..model import Step
from ..status_rules import epoch
from ..values import mismatches, substitute
from .any_order import expect_group
from .registry import step_kind
from .taking import await_answer, expect_status, per_connector, take

if TYPE_CHECKING:
    from ..engine import CaseRunner


@step_kind("expect")
async def expect(runner: CaseRunner, step: Step) -> None:
    if step.data["each_connector"]:
        await expect_group(runner, step, per_connector(runner, step))
    else:
        await _expect_one(runner, step)


async def _expect_one(runner: CaseRunner, step: Step) -> None:
    action = step.data["expect"]
    timeout = runner.timeout(step)

    start = runner.since(step)
    end = runner.until(step)
    optional = step.data["optional"]
    match = substitute(step.data["match"], runner.vars)
    # a status (or meter values) of another connector is not this step's: Appendix D judges the statuses
    connector = match.get("connectorId") if action in ("StatusNotification", "MeterValues") else None

    def next_of_action() -> tuple[int] | None:
        """The next frame of the action; for an optional step the first one that matches, or (-1,) once a
        frame of the action came that does not: the step was skipped and that frame is the next steps'."""
        runner.check_invalid_frames(step)
        passed = False
        for i in range(start, len(runner.link.inbox) if end is None else end):
            item = runner.link.inbox[i]
            if i in runner.consumed or item.action != action:
                continue
            if isinstance(connector, int) and item.payload.get("connectorId") != connector:
                continue
            if not mismatches(item.payload, match):
                return (i,)
            if action == "StatusNotification" and _replayed(runner, item):
                continue  # a status queued while offline: history the tool does not wait for (Appendix D)
            if not optional:
                return (i,)
            passed = True
        return (-1,) if passed else None

    # with until_step every candidate is already in: nothing to wait for
    found = next_of_action() if end is not None else await runner.link.wait_until(next_of_action, timeout)
    if found is None or found[0] == -1:
        if optional:
            runner.checks.append(Check(step.number, f"{action}.req (optional) not sent", True))
            expect_status(runner, step, None)
            return
        if end is not None:
            raise StepFailed(step, step.number, f"no {action} from the charger before the frame of step "
                                                f"{step.data['until_step']}")
        raise StepFailed(step, step.number, f"no {action} from the charger within {timeout:.1f} s")
    index = found[0]
    await await_answer(runner, index)
    take(runner, step, index)
    expect_status(runner, step, runner.link.inbox[index].frame.index)
    runner.cursor = max(runner.cursor, index + 1)


def _replayed(runner: CaseRunner, item: Received) -> bool:
    """A StatusNotification stamped before the connection it came on began: queued while the charger was
    offline and sent after it reconnected (Appendix D judges the chain; a waiting step passes over it)."""
    stamp = epoch(item.payload.get("timestamp"))
    if stamp is None:
        return False
    starts = [t for c in runner.link.security.connections
              if c.get("accepted") and (t := epoch(c.get("at"))) is not None and t <= item.frame.wall]
    return bool(starts) and stamp < max(starts)
