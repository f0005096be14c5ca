"""`wait`: a pause, in seconds."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from benchctl.config.typed import setting

from ..step import Step, StepModel
from ..values import substitute
from .registry import step_kind

if TYPE_CHECKING:
    from ..engine import CaseRunner


@dataclass(kw_only=True)
class WaitStep(StepModel):
    """A pause."""

    wait: float | str = setting(required=True, refs=True, minimum=0, help="how long, in seconds")


@step_kind("wait", model=WaitStep)
async def wait(runner: CaseRunner, step: Step) -> None:
    await asyncio.sleep(float(substitute(step.typed(WaitStep).wait, runner.vars)))
