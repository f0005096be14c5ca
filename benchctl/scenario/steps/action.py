"""`action`: a bench action (plug_in, present_id, power_cycle, ...; benchctl/bench/actions.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from benchctl.bench.actions import ACTIONS
from benchctl.csms.responder import utc_now

from ..model import Step
from ..values import substitute
from .registry import step_kind

if TYPE_CHECKING:
    from ..engine import CaseRunner


@step_kind("action")
async def action(runner: CaseRunner, step: Step) -> None:
    args = substitute(step.data["with"], runner.vars)
    await ACTIONS[step.data["action"]].func(runner.bench, **args)
    if step.data.get("save_time"):
        runner.vars[step.data["save_time"]] = utc_now()
