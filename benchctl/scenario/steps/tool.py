"""`tool`: something the tool computes between messages (benchctl/scenario/tools.py), saved in a variable."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..model import Step
from ..tools import TOOLS
from ..values import substitute
from .registry import step_kind

if TYPE_CHECKING:
    from ..engine import CaseRunner


@step_kind("tool")
async def tool(runner: CaseRunner, step: Step) -> None:
    args = substitute(step.data["with"], runner.vars)
    runner.vars[step.data["save"]] = TOOLS[step.data["tool"]](runner.link.security.config, **args)
