"""`state`: a reusable state of section 2.25 (a shared file under scenarios/states/), run with its parameters
bound, once or (each_other_connector) once per other connector."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from benchctl.config.names import unsafe_name
from benchctl.config.typed import setting

from ..step import Step, StepModel
from .registry import step_kind

if TYPE_CHECKING:
    from ..engine import CaseRunner


@dataclass(kw_only=True)
class StateStep(StepModel):
    """A reusable state of section 2.25: a file under scenarios/states/ whose steps run here."""

    state: str = setting(required=True, check=unsafe_name, help="a file of the states folder, without .yaml")
    with_: dict[str, Any] = setting(key="with", default={}, help="the state's parameters (its `params:` are the "
                                                                 "defaults; an unknown one is an error)")
    each_other_connector: bool = setting(default=False, help="run the state once for every connector of the "
                                                             "station other than the configured one, as its "
                                                             "connector_id (\"for all unused connectors\"); none "
                                                             "on a one-connector station")
    # filled by the loader: the state's Configuration State(s)
    configuration: dict[str, Any] = field(default_factory=dict)


@step_kind("state", model=StateStep)
async def state(runner: CaseRunner, step: Step) -> None:
    for bound in runner.state_bindings(step, runner.vars):
        await _run_state(runner, step, bound)


async def _run_state(runner: CaseRunner, step: Step, bound: dict[str, Any]) -> None:
    """The state's parameters are its own: after it, only what its steps saved stays (a bound name is restored)."""
    saved = dict(runner.vars)
    runner.vars.update(bound)
    first_check = len(runner.checks)
    try:
        await runner.mode.apply_configuration(runner, step.typed(StateStep).configuration)
        for child in step.children:
            await runner.execute(child)
    finally:
        runner.vars = saved | {k: v for k, v in runner.vars.items() if k not in bound}
        # the state's checks carry its step numbers, not the case's (a nested state has named its own already)
        for check in runner.checks[first_check:]:
            check.state = check.state or step.typed(StateStep).state
