"""`absent`: the document's "the Charge Point does NOT send ...", watched for the whole window."""

from __future__ import annotations

from typing import TYPE_CHECKING

from benchctl.record.case import Check

from ..errors import StepFailed
from ..model import Step
from ..values import mismatches, substitute
from .registry import step_kind

if TYPE_CHECKING:
    from ..engine import CaseRunner


@step_kind("absent")
async def absent(runner: CaseRunner, step: Step) -> None:
    """From this point on, or (since_step) from that step's frame: a message sent before this step ran counts."""
    actions = [step.data["absent"], *step.data["also"]]  # one window for all of them
    seconds = float(substitute(step.data["for_s"], runner.vars))
    match = substitute(step.data["match"], runner.vars)
    start = len(runner.link.inbox) if step.data.get("since_step") is None else runner.since(step)

    def offending() -> tuple[int] | None:
        for i in range(start, len(runner.link.inbox)):
            item = runner.link.inbox[i]
            if item.action in actions and not mismatches(item.payload, match):
                return (i,)
        return None

    found = await runner.link.wait_until(offending, seconds)
    what = f"no {' nor '.join(actions)}" + (f" matching {match}" if match else "") + f" for {seconds:g} s"
    if found is not None:
        sent = runner.link.inbox[found[0]]
        runner.checks.append(Check(step.number, what, False, sent.payload, [sent.frame.index]))
        raise StepFailed(step, step.number, f"the charger sent {sent.action} (frame #{sent.frame.index}), "
                                            f"which it must not: {what}")
    runner.checks.append(Check(step.number, what, True))
