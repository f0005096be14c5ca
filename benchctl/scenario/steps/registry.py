"""The step kinds' executors, registered by kind (as the ocpp library's `@on` registers a handler by action): the
engine looks a step's kind up here instead of knowing every kind itself."""

from __future__ import annotations

from typing import TYPE_CHECKING, Awaitable, Callable

from ..model import STEP_KINDS, Step

if TYPE_CHECKING:
    from ..engine import CaseRunner

StepExecutor = Callable[["CaseRunner", Step], Awaitable[None]]

EXECUTORS: dict[str, StepExecutor] = {}


def step_kind(kind: str) -> Callable[[StepExecutor], StepExecutor]:
    """Register the decorated coroutine as what runs a step of `kind` (one of the scenario language's STEP_KINDS,
    so a kind the loader accepts has an executor and an executor a kind the loader accepts)."""
    if kind not in STEP_KINDS:
        raise ValueError(f"step kind {kind!r} is not one of the scenario language's: {', '.join(STEP_KINDS)}")

    def register(executor: StepExecutor) -> StepExecutor:
        if kind in EXECUTORS:  # two modules claiming a kind: which one runs would depend on the import order
            raise ValueError(f"step kind {kind!r} already has an executor: {EXECUTORS[kind].__module__}")
        EXECUTORS[kind] = executor
        return executor
    return register
