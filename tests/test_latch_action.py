"""The unplug actions on a Type 1 bench, against the simulated Modbus EV emulator over loopback TCP: latch pressed,
held, coupler out, latch released; the release happens even when the unplug fails; a Type 2 bench never touches
a latch."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from benchctl.bench.actions import ACTIONS
from benchctl.bench.bench import Bench
from benchctl.bench.config import BenchConfig, load_bench
from benchctl.paths import BENCH_CONFIGS
from drivers.errors import DriverError
from drivers.evse_tester.modbus import ModbusEVEmulator, ModbusEvSettings
from drivers.evse_tester.register_map import RegisterMap
from drivers.steplog import StepLog
from hil_sim.gear.modbus_gear import ModbusGear, start_modbus_gear
from hil_sim.world import World

FAST = {"timeout_s": 0.25, "retries": 1}


@pytest.fixture
def config() -> BenchConfig:
    return load_bench(BENCH_CONFIGS / "sim-type1.yaml")


@pytest.fixture
def world() -> World:
    world = World()
    world.set("plug", "type1", connector_id=1)
    world.set("plugged_charger_side", True, connector_id=1)
    return world


@pytest.fixture
async def gear(world: World) -> AsyncIterator[ModbusGear]:
    gear = await start_modbus_gear(world)
    yield gear
    await gear.stop()


def steps(bench: Bench) -> list[tuple[str, dict[str, object], bool]]:
    """The hardware steps of the actions (closing the link at the end is not one)."""
    return [(s.command, s.args, s.error is None) for s in bench.steplog.steps if s.command != "close"]


def bench_with(config: BenchConfig, gear: ModbusGear, register_map: RegisterMap | None = None,
               **settings: object) -> Bench:
    steplog = StepLog()
    ev = ModbusEVEmulator("ev", ModbusEvSettings(host=gear.host, port=gear.port, **{**FAST, **settings}),  # type: ignore[arg-type]
                          register_map=register_map, steplog=steplog)
    return Bench(config, {"ev": ev}, steplog)


async def test_unplug_presses_holds_unplugs_releases(config: BenchConfig, gear: ModbusGear, world: World) -> None:
    bench = bench_with(config, gear, plug="type1")
    seen: list[tuple[str, object, float]] = []
    world.subscribe(lambda name, value: seen.append((name, value, time.monotonic())))
    try:
        await ACTIONS["plug_in"].func(bench)
        seen.clear()
        await ACTIONS["unplug"].func(bench)
    finally:
        await bench.close()
    assert [(n, v) for n, v, _ in seen] == [("connector1.latch_pressed", True), ("connector1.plugged_ev_side", False),
                                            ("connector1.ev_state", "A"), ("connector1.latch_pressed", False)]
    assert seen[1][2] - seen[0][2] >= config.values["latch_press_s"] * 0.9  # held before the coupler comes out
    assert [(c, a) for c, a, _ in steps(bench)[-4:]] == [
        ("set_latch", {"pressed": True}), ("set_plug", {"connected": False}), ("set_cp_state", {"state": "A"}),
        ("set_latch", {"pressed": False})]


async def test_ev_side_disconnect_presses_the_latch_too(config: BenchConfig, gear: ModbusGear) -> None:
    bench = bench_with(config, gear, plug="type1")
    try:
        await ACTIONS["ev_side_disconnect"].func(bench)
    finally:
        await bench.close()
    assert [c for c, _, _ in steps(bench)] == ["set_latch", "set_plug", "set_latch"]


async def test_latch_is_released_when_the_unplug_fails(config: BenchConfig, gear: ModbusGear, world: World) -> None:
    broken = RegisterMap.from_dict({"plug_relay": 40})  # an address the emulator does not have
    bench = bench_with(config, gear, plug="type1", register_map=broken)
    try:
        with pytest.raises(DriverError, match="plug_relay"):
            await ACTIONS["unplug"].func(bench)
    finally:
        await bench.close()
    assert not world.connector(1).latch_pressed
    assert [(c, ok) for c, _, ok in steps(bench)] == [
        ("set_latch", True), ("set_plug", False), ("set_latch", True)]


async def test_type2_unplug_never_touches_a_latch(config: BenchConfig, gear: ModbusGear) -> None:
    bench = bench_with(config, gear)  # plug type2
    try:
        await ACTIONS["unplug"].func(bench)
    finally:
        await bench.close()
    assert [c for c, _, _ in steps(bench)] == ["set_plug", "set_cp_state"]
