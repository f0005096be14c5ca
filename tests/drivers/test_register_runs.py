"""Grouping register addresses into runs: one request per run, never a read across a gap."""

from __future__ import annotations

import pytest

from drivers.modbus_device import register_runs


@pytest.mark.parametrize(("addresses", "width", "runs"), [
    ({"a": 0, "b": 1, "c": 2}, 1, [(0, ["a", "b", "c"])]),
    ({"c": 2, "a": 0, "b": 1}, 1, [(0, ["a", "b", "c"])]),  # order of the map does not matter
    ({"a": 0, "b": 2}, 1, [(0, ["a"]), (2, ["b"])]),  # a gap splits the run
    ({"v1": 0, "v2": 2, "v3": 4}, 2, [(0, ["v1", "v2", "v3"])]),  # 32-bit floats, two registers each
    ({"v1": 0, "v2": 1}, 2, [(0, ["v1"]), (1, ["v2"])]),  # overlapping floats are not adjacent
    ({"p": 0x34, "f": 0x46, "e": 0x156}, 2, [(0x34, ["p"]), (0x46, ["f"]), (0x156, ["e"])]),
    ({}, 1, []),
])
def test_register_runs(addresses: dict[str, int], width: int, runs: list[tuple[int, list[str]]]) -> None:
    assert register_runs(addresses, width) == runs
