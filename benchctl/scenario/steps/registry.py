"""The step kinds, registered by kind (as the ocpp library's `@on` registers a handler by action): each kind's
module registers its executor and its typed model, so the loader's schema (model.STEP_SCHEMAS), the executors
and the scenario-language reference (scenario/reference.py) come from the one declaration."""

from __future__ import annotations

from typing import TYPE_CHECKING, Awaitable, Callable

from ..step import Step, StepModel

if TYPE_CHECKING:
    from ..engine import CaseRunner

# the kinds of the language, in the order the loader's messages and the reference list them
STEP_KINDS = ("action", "expect", "absent", "send", "any_order", "state", "wait", "file", "pwm", "connection",
              "tool")

StepExecutor = Callable[["CaseRunner", Step], Awaitable[None]]

EXECUTORS: dict[str, StepExecutor] = {}
MODELS: dict[str, type[StepModel]] = {}


def step_kind(kind: str, model: type[StepModel] | None = None) -> Callable[[StepExecutor], StepExecutor]:
    """Register the decorated coroutine as what runs a step of `kind` (one of the scenario language's STEP_KINDS,
    so a kind the loader accepts has an executor and an executor a kind the loader accepts), and `model` as what
    such a step may contain (a StepModel dataclass whose first own key is the kind's: benchctl.config.typed)."""
    if kind not in STEP_KINDS:
        raise ValueError(f"step kind {kind!r} is not one of the scenario language's: {', '.join(STEP_KINDS)}")

    def register(executor: StepExecutor) -> StepExecutor:
        if kind in EXECUTORS:  # two modules claiming a kind: which one runs would depend on the import order
            raise ValueError(f"step kind {kind!r} already has an executor: {EXECUTORS[kind].__module__}")
        if model is None:
            raise ValueError(f"step kind {kind!r} needs its model: @step_kind({kind!r}, model=...)")
        EXECUTORS[kind] = executor
        MODELS[kind] = model
        return executor
    return register
