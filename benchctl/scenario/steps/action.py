"""`action`: a bench action (plug_in, present_id, power_cycle, ...; benchctl/bench/actions.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from benchctl.bench.actions import ACTIONS
from benchctl.config.typed import setting
from benchctl.csms.responder import utc_now

from ..step import Step, StepModel
from ..values import substitute
from .registry import step_kind

if TYPE_CHECKING:
    from ..engine import CaseRunner


@dataclass(kw_only=True)
class ActionStep(StepModel):
    """A bench action: what the tester does by hand (plug in, present a card, cut the power, ...)."""

    action: str = setting(required=True, help="the bench action (benchctl/bench/actions.py; an "
                                              "unknown one is named with the known ones)")
    with_: dict[str, Any] = setting(key="with", default={}, help="the action's arguments")
    save_time: str | None = setting(help="variable that gets the UTC time (ISO 8601) the action was done, to "
                                         "compare the charger's timestamps with")


@step_kind("action", model=ActionStep)
async def action(runner: CaseRunner, step: Step) -> None:
    m = step.typed(ActionStep)
    args = substitute(m.with_, runner.vars)
    await ACTIONS[m.action].func(runner.bench, **args)
    if m.save_time:
        runner.vars[m.save_time] = utc_now()
