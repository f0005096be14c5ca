"""`absent`: the document's "the Charge Point does NOT send ...", watched for the whole window."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from benchctl.config.typed import setting
from benchctl.record.case import Check

from ..errors import StepFailed
from ..step import Step, StepModel
from ..values import mismatches, substitute
from .registry import step_kind

if TYPE_CHECKING:
    from ..engine import CaseRunner


@dataclass(kw_only=True)
class AbsentStep(StepModel):
    """A charger message that must NOT arrive for a while (the document's "does NOT send")."""

    absent: str = setting(required=True, help="the OCPP action the charger must not send")
    also: list[str] = setting(default=[], help="more actions watched in the same window (\"does NOT send A and "
                                               "does NOT send B\")")
    since_step: int | None = setting(help="the window opens at this step's frame, not when the absent step starts "
                                          "(a message sent right after that frame, before this step ran, counts)")
    match: dict[str, Any] = setting(default={}, help="only messages matching these fields count")
    for_s: float | str = setting(required=True, refs=True, minimum=0, help="how long to watch")


@step_kind("absent", model=AbsentStep)
async def absent(runner: CaseRunner, step: Step) -> None:
    """From this point on, or (since_step) from that step's frame: a message sent before this step ran counts."""
    m = step.typed(AbsentStep)
    actions = [m.absent, *m.also]  # one window for all of them
    seconds = float(substitute(m.for_s, runner.vars))
    match = substitute(m.match, runner.vars)
    start = len(runner.link.inbox) if m.since_step is None else runner.since(step)

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
