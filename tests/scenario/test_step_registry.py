"""The step kinds' registry (benchctl/scenario/steps): every kind the loader accepts has exactly one executor."""

from __future__ import annotations

import pytest

from benchctl.scenario.model import STEP_KINDS, Step
from benchctl.scenario.steps import EXECUTORS, step_kind
from benchctl.scenario.steps.wait import wait


def test_every_kind_of_the_language_has_an_executor() -> None:
    assert sorted(EXECUTORS) == sorted(STEP_KINDS)
    assert EXECUTORS["wait"] is wait  # the decorator hands the function back as it is


def test_a_second_executor_for_a_kind_is_refused() -> None:
    async def other_wait(runner: object, step: Step) -> None:
        raise AssertionError("never registered, never run")

    with pytest.raises(ValueError, match="'wait' already has an executor: benchctl.scenario.steps.wait"):
        step_kind("wait")(other_wait)
    assert EXECUTORS["wait"] is wait


def test_a_kind_the_language_does_not_have_is_refused() -> None:
    with pytest.raises(ValueError, match="step kind 'sleep' is not one of the scenario language's: action, "):
        step_kind("sleep")


def test_a_kind_needs_its_model() -> None:
    async def executor(runner: object, step: Step) -> None:
        raise AssertionError("never registered, never run")

    EXECUTORS.pop("wait")
    try:
        with pytest.raises(ValueError, match="step kind 'wait' needs its model"):
            step_kind("wait")(executor)
        assert "wait" not in EXECUTORS
    finally:
        EXECUTORS["wait"] = wait


def test_an_executor_gets_its_kinds_model() -> None:
    from benchctl.scenario.steps.pwm import PwmStep
    from benchctl.scenario.steps.wait import WaitStep

    step = Step("wait", {"wait": 1}, "f.yaml", 3, WaitStep(wait=1))
    assert step.typed(WaitStep).wait == 1
    with pytest.raises(TypeError, match="f.yaml:3: a wait step has a WaitStep, not a PwmStep"):
        step.typed(PwmStep)
