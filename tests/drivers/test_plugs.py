"""Tester plugs: the Type 1 latch circuit and the Type 2 PP resistor, through each EV emulator over its real wire
(Modbus TCP, a pty, the fake pin layer) into the World the simulated charger reads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Iterator

import pytest

from drivers.errors import DriverError
from drivers.evse_tester import proximity
from drivers.evse_tester.gpio import GPIOEVEmulator
from drivers.evse_tester.modbus import ModbusEVEmulator, ModbusEvSettings
from drivers.evse_tester.register_map import RegisterMap
from drivers.evse_tester.serial_ev import SerialEVEmulator
from drivers.evse_tester.settings import GpioEvSettings, SerialEvSettings
from drivers.gpio.pins import FakePins, fake_pins, reset_fake_pins
from hil_sim.gear.modbus_gear import ModbusGear
from hil_sim.gear.serial_ev import SimSerialEV
from hil_sim.world import World

FAST = {"timeout_s": 0.25, "retries": 1}
PLUG, B, C, LATCH = 5, 6, 13, 16


def test_type1_circuit_reads_150_ohm_latched_480_pressed_open_unplugged() -> None:
    assert proximity.type1_pp_ohms(mated=True, latch_pressed=False) == 150.0
    assert proximity.type1_pp_ohms(mated=True, latch_pressed=True) == 480.0
    assert proximity.type1_pp_ohms(mated=False, latch_pressed=True) is None
    assert [proximity.type1_latch_reading(r) for r in (150.0, 165.0, 480.0, 430.0, None, 300.0, 1500.0)] == \
        ["latched", "latched", "pressed", "pressed", "unplugged", None, None]


def test_pp_per_plug() -> None:
    assert proximity.pp_ohms("type2", mated=True, rating_a=20) == 680.0  # the Type 2 table is untouched
    assert proximity.pp_ohms("type2", mated=False, rating_a=20) is None
    assert proximity.pp_ohms("tethered", mated=True, rating_a=20) is None  # the station's own cable
    assert proximity.pp_ohms("type1", mated=True, latch_pressed=True, rating_a=20) == 480.0  # no rating on Type 1
    with pytest.raises(ValueError, match="plug must be one of type1, type2, tethered, not 'ccs'"):
        proximity.pp_ohms("ccs", mated=True)


def world_pp(world: World, fixed_cable: bool = False) -> float | None:
    return world.connector(1).pp_ohms(fixed_cable)


def type1_world() -> World:
    world = World()
    world.set("plug", "type1", connector_id=1)
    world.set("plugged_charger_side", True, connector_id=1)  # the station's tethered coupler
    return world


# Modbus TCP ----------------------------------------------------------------------------------------------------


async def test_modbus_latch_register_moves_the_station_pp(gear: ModbusGear, world: World) -> None:
    world.set("plug", "type1", connector_id=1)
    world.set("plugged_charger_side", True, connector_id=1)
    ev = ModbusEVEmulator("ev", ModbusEvSettings(host=gear.host, port=gear.port, plug="type1", **FAST))
    try:
        assert world_pp(world) is None  # coupler not in the inlet
        await ev.set_plug(True)
        assert world_pp(world) == 150.0
        await ev.set_latch(True)
        assert world.connector(1).latch_pressed and world_pp(world) == 480.0
        assert (await ev.self_test())["latch_pressed"] is True
        await ev.set_latch(False)
        assert world_pp(world) == 150.0
        await ev.set_latch(True)
        await ev.safe_state()  # unplugged and the button let go
        assert not world.connector(1).latch_pressed and world_pp(world) is None
        assert [s.command for s in ev.steplog.steps][:4] == ["set_plug", "set_latch", "self_test", "set_latch"]
        with pytest.raises(DriverError, match="PP cable rating is selected on a Type 2 tester cable only.*Type 1"):
            await ev.set_pp_rating(32)
    finally:
        await ev.close()


async def test_modbus_type2_pp_by_rating_and_no_latch(gear: ModbusGear, world: World) -> None:
    ev = ModbusEVEmulator("ev", ModbusEvSettings(host=gear.host, port=gear.port, **FAST))  # type2: what benches had before plugs existed
    try:
        world.set("plugged_charger_side", True, connector_id=1)
        for amps, ohms in ((13, 1500.0), (63, 100.0)):
            await ev.set_pp_rating(amps)
            assert world_pp(world) == ohms
        with pytest.raises(DriverError, match=r"ev: Modbus .*only a Type 1 \(SAE J1772\) coupler has the latch "
                                              r"switch S3 \(plug: Type 2"):
            await ev.set_latch(True)
        assert not world.connector(1).latch_pressed
    finally:
        await ev.close()


async def test_modbus_map_without_a_latch_register(gear: ModbusGear, world: World) -> None:
    ev = ModbusEVEmulator("ev", ModbusEvSettings(host=gear.host, port=gear.port, plug="type1", **FAST), register_map=RegisterMap.from_dict({"latch_pressed": None}))
    try:
        with pytest.raises(DriverError, match=r"ev: Modbus .*no latch_pressed register .*\(plug: Type 1"):
            await ev.set_latch(True)
        await ev.safe_state()  # nothing to release: the other safe actions still run
        assert (await ev.self_test())["latch_pressed"] is None
    finally:
        await ev.close()


async def test_modbus_latch_register_refuses_other_values(gear: ModbusGear, world: World) -> None:
    ev = ModbusEVEmulator("ev", ModbusEvSettings(host=gear.host, port=gear.port, plug="type1", **FAST))
    try:
        with pytest.raises(DriverError, match=r"latch_pressed \(holding register 4\): Modbus exception 3"):
            await ev.link.write_register("latch_pressed", 4, 2)
        assert not world.connector(1).latch_pressed
    finally:
        await ev.close()


def test_unknown_plug_is_refused_by_every_driver() -> None:
    with pytest.raises(ValueError, match="plug must be one of type1, type2, tethered, not 'type3'"):
        ModbusEVEmulator("ev", ModbusEvSettings(host="127.0.0.1", port=502, plug="type3"))
    with pytest.raises(ValueError, match="plug must be one of"):
        SerialEVEmulator("ev", SerialEvSettings(port="/dev/null", plug="type3"))
    with pytest.raises(ValueError, match="plug must be one of"):
        GPIOEVEmulator("ev", GpioEvSettings(plug_pin=PLUG, state_b_pin=B, state_c_pin=C, plug="type3", pins="fake"))


# serial over a pty ---------------------------------------------------------------------------------------------


@pytest.fixture
async def board() -> AsyncIterator[SimSerialEV]:
    sim = SimSerialEV(type1_world(), frame_period_s=0.1)
    await sim.start()
    yield sim
    await sim.stop()


async def test_serial_latch_commands(board: SimSerialEV) -> None:
    # a wide timeout: on a busy machine a late answer would be a retry, one command more in the list checked here
    ev = SerialEVEmulator("ev", SerialEvSettings(port=board.port_name, plug="type1", timeout_s=3.0, retries=1))
    try:
        await ev.set_plug(True)
        await ev.set_latch(True)
        assert world_pp(board.world, fixed_cable=True) == 480.0
        await ev.set_latch(False)
        assert world_pp(board.world, fixed_cable=True) == 150.0
        await ev.set_latch(True)
        await ev.safe_state()
        assert board.commands == ["P", "L", "l", "L", "p", "A", "x", "l"]  # released last, once the coupler is out
        assert ev.commanded["latch_pressed"] is False
        with pytest.raises(DriverError, match="Type 2 tester cable only"):
            await ev.set_pp_rating(20)
    finally:
        await ev.close()


async def test_serial_type2_board_is_never_sent_a_latch_command(board: SimSerialEV) -> None:
    ev = SerialEVEmulator("ev", SerialEvSettings(port=board.port_name, timeout_s=0.3, retries=1))
    try:
        with pytest.raises(DriverError, match=r"ev: serial .*latch switch S3"):
            await ev.set_latch(True)
        await ev.safe_state()
        assert "L" not in board.commands and "l" not in board.commands
    finally:
        await ev.close()


# GPIO on the fake pin layer ------------------------------------------------------------------------------------


@pytest.fixture
def chip(request: pytest.FixtureRequest) -> Iterator[str]:
    name = f"plugs-{request.node.nodeid}"
    yield name
    reset_fake_pins(name)


async def test_gpio_latch_pin(chip: str) -> None:
    fake: FakePins = fake_pins(chip)
    ev = GPIOEVEmulator("ev", GpioEvSettings(plug_pin=PLUG, state_b_pin=B, state_c_pin=C, latch_pin=LATCH, plug="type1", pins="fake", chip=chip))
    try:
        await ev.set_latch(True)
        assert fake.level(LATCH) is True
        assert (await ev.self_test())["latch_pressed"] is True
        await ev.safe_state()
        assert fake.level(LATCH) is False
    finally:
        await ev.close()


async def test_gpio_without_latch_pin_names_driver_and_plug(chip: str) -> None:
    ev = GPIOEVEmulator("ev", GpioEvSettings(plug_pin=PLUG, state_b_pin=B, state_c_pin=C, plug="type1", pins="fake", chip=chip))
    with pytest.raises(DriverError, match=r"ev: GPIO .*latch_pin is not set \(plug: Type 1 \(SAE J1772\)\)"):
        await ev.set_latch(True)
    await ev.close()


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"plug": "type1", "pp_rating_a": 32, "pp_pins": {32: 23}}, "a type1 plug has none the bench sets"),
    ({"plug": "tethered", "pp_pins": {32: 23}}, "a tethered plug has none the bench sets"),
    ({"plug": "type2", "latch_pin": LATCH}, "a type2 plug has no latch switch S3"),
])
def test_gpio_settings_that_do_not_fit_the_plug(chip: str, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GPIOEVEmulator("ev", GpioEvSettings(plug_pin=PLUG, state_b_pin=B, state_c_pin=C, pins="fake", chip=chip, **kwargs))  # type: ignore[arg-type]
