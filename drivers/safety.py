"""What every driver's safe state shares: try each safe action even when one fails, and outputs whose
logical level (`set(True)`) is wired through `invert` and falls back to `safe_level`."""

from __future__ import annotations

import inspect
from typing import Any, Callable, Iterable


async def all_safe_actions(actions: Iterable[Callable[[], Any]]) -> None:
    """Run every action (a plain or an async callable) even if an earlier one fails: a half-safe device is
    better than one left as it is. Then raise the first error."""
    first_error: Exception | None = None
    for action in actions:
        try:
            result = action()
            if inspect.isawaitable(result):
                await result
        except Exception as exc:  # noqa: BLE001 - re-raised below after the other actions
            first_error = first_error or exc
    if first_error is not None:
        raise first_error


def level(name: str, value: object) -> bool:
    """A logical level or flag from a setting or a call: true/false, or 1/0."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ValueError(f"{name} must be true or false, not {value!r}")


def wire_level(logical: bool, invert: bool) -> bool:
    """The level on the wire (coil, pin, relay command) for a logical level: inverted on active-low wiring."""
    return level("level", logical) != invert


def logical_level(wire: bool, invert: bool) -> bool:
    """The logical level a wire level read back stands for."""
    return bool(wire) != invert
