"""`tool`: something the tool computes between messages (benchctl/scenario/tools.py), saved in a variable."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from benchctl.config.typed import setting

from ..step import Step, StepModel
from ..tools import TOOLS
from ..values import substitute
from .registry import step_kind

if TYPE_CHECKING:
    from ..engine import CaseRunner


@dataclass(kw_only=True)
class ToolStep(StepModel):
    """Something the tool computes between messages (a certificate it signs as Certificate Authority, the hash
    data of a certificate), saved in a variable."""

    tool: str = setting(required=True, help="what the tool computes between messages (benchctl/scenario/tools.py), "
                                            "e.g. the document's \"[Certificate Authority Server signs the "
                                            "certificate.]\"")
    with_: dict[str, Any] = setting(key="with", default={}, help="the computation's arguments")
    save: str = setting(required=True, help="the variable that gets the result")


@step_kind("tool", model=ToolStep)
async def tool(runner: CaseRunner, step: Step) -> None:
    m = step.typed(ToolStep)
    args = substitute(m.with_, runner.vars)
    runner.vars[m.save] = TOOLS[m.tool](runner.link.security.config, **args)
