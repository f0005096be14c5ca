"""`any_order`: a group of expectations whose order the test case document lets the charger choose; each member
takes the first message of its action that satisfies its matchers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from benchctl.config.typed import setting

from ..step import Step, StepModel
from .registry import step_kind
from .taking import expect_group, expectation, per_connector

if TYPE_CHECKING:
    from ..engine import CaseRunner


@dataclass(kw_only=True)
class AnyOrderStep(StepModel):
    """A group of `expect` steps whose order the test case document lets the charger choose."""

    any_order: list[Any] = setting(required=True, help="the expect steps (each as it would be on its own)")
    since_step: int | None = setting(help="as for expect: the members may have come since this step's frame")


@step_kind("any_order", model=AnyOrderStep)
async def any_order(runner: CaseRunner, step: Step) -> None:
    # an each_connector member stands for one expectation per connector (e.g. after a reboot)
    await expect_group(runner, step, [m for child in step.children
                                      for m in (per_connector(runner, child) if expectation(child).each_connector
                                                else [child])])
