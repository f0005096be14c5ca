"""Every hardware call is recorded as a step: role, command, arguments, result, duration.

The bench collects the steps into the run's action log, so a report can show what the gear did and when.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Concatenate, Coroutine, ParamSpec, Protocol, TypeVar

T = TypeVar("T")
P = ParamSpec("P")


@dataclass
class Step:
    role: str
    command: str
    args: dict[str, Any]
    started: float  # wall clock, seconds since the epoch
    duration_s: float
    result: Any = None
    error: str | None = None

    def as_record(self) -> dict[str, Any]:
        return {
            "ts": self.started,
            "role": self.role,
            "command": self.command,
            "args": self.args,
            "result": self.result,
            "error": self.error,
            "duration_s": round(self.duration_s, 6),
        }


@dataclass
class StepLog:
    """Where drivers report their steps; listeners (the run's action log) receive each one."""

    steps: list[Step] = field(default_factory=list)
    listeners: list[Callable[[Step], None]] = field(default_factory=list)

    def add(self, step: Step) -> None:
        self.steps.append(step)
        for listener in self.listeners:
            listener(step)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if hasattr(value, "as_dict"):
        return value.as_dict()
    return repr(value)


class _Stepping(Protocol):
    role: str
    steplog: StepLog


S = TypeVar("S", bound=_Stepping)


def step(
    func: Callable[Concatenate[S, P], Awaitable[T]],
) -> Callable[Concatenate[S, P], Coroutine[Any, Any, T]]:
    """Decorate an async driver method so each call is logged as a step on the driver's `steplog`."""

    @functools.wraps(func)
    async def wrapper(self: S, *args: P.args, **kwargs: P.kwargs) -> T:
        code = func.__code__
        names = code.co_varnames[1 : code.co_argcount]
        call_args = {**dict(zip(names, args)), **kwargs}
        started = time.time()
        t0 = time.monotonic()
        try:
            result = await func(self, *args, **kwargs)
        except Exception as exc:
            self.steplog.add(
                Step(self.role, func.__name__, _jsonable(call_args), started, time.monotonic() - t0,
                     error=str(exc))
            )
            raise
        self.steplog.add(
            Step(self.role, func.__name__, _jsonable(call_args), started, time.monotonic() - t0,
                 result=_jsonable(result))
        )
        return result

    return wrapper
