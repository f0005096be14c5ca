"""drivers/safety.py: the safe-state and output-level logic every driver shares."""

from __future__ import annotations

import pytest

from drivers.safety import all_safe_actions, level, logical_level, wire_level


async def test_every_safe_action_runs_and_the_first_error_is_raised() -> None:
    done: list[str] = []

    async def fails(name: str) -> None:
        done.append(name)
        raise OSError(name)

    def plain() -> None:
        done.append("plain")

    with pytest.raises(OSError, match="^plug$"):
        await all_safe_actions([lambda: fails("plug"), plain, lambda: fails("diode")])
    assert done == ["plug", "plain", "diode"]


async def test_safe_actions_without_error_return() -> None:
    done: list[int] = []

    async def ok(i: int) -> None:
        done.append(i)

    await all_safe_actions(lambda i=i: ok(i) for i in range(3))  # type: ignore[misc]
    assert done == [0, 1, 2]


def test_inverted_wiring_flips_the_wire_level_both_ways() -> None:
    assert wire_level(True, invert=False) is True
    assert wire_level(True, invert=True) is False
    assert logical_level(False, invert=True) is True
    assert level("invert", 1) is True
    with pytest.raises(ValueError, match="safe_level must be true or false, not 'yes'"):
        level("safe_level", "yes")
