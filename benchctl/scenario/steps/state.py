"""`state`: a reusable state of section 2.25 (a shared file under scenarios/states/), run with its parameters
bound, once or (each_other_connector) once per other connector."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..model import Step
from .registry import step_kind

if TYPE_CHECKING:
    from ..engine import CaseRunner


@step_kind("state")
async def state(runner: CaseRunner, step: Step) -> None:
    for bound in runner.state_bindings(step, runner.vars):
        await _run_state(runner, step, bound)


async def _run_state(runner: CaseRunner, step: Step, bound: dict[str, Any]) -> None:
    """The state's parameters are its own: after it, only what its steps saved stays (a bound name is restored)."""
    saved = dict(runner.vars)
    runner.vars.update(bound)
    try:
        await runner.mode.apply_configuration(runner, step.data.get("configuration", {}))
        for child in step.children:
            await runner.execute(child)
    finally:
        runner.vars = saved | {k: v for k, v in runner.vars.items() if k not in bound}
