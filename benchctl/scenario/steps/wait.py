"""`wait`: a pause, in seconds."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ..model import Step
from ..values import substitute
from .registry import step_kind

if TYPE_CHECKING:
    from ..engine import CaseRunner


@step_kind("wait")
async def wait(runner: CaseRunner, step: Step) -> None:
    await asyncio.sleep(float(substitute(step.data["wait"], runner.vars)))
