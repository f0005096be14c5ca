"""The Modbus coil output driver against the simulated relay board over loopback TCP (no mocks)."""

from __future__ import annotations

import asyncio
import time

import pytest

from drivers.errors import DriverError
from drivers.evse_tester.modbus import ModbusEvSettings
from drivers.relay.modbus_coil import ModbusCoilOutput, ModbusCoilSettings
from drivers.relay.protocol import PowerSwitch
from hil_sim.gear.modbus_gear import start_modbus_gear
from hil_sim.world import Connector, World

FAST = {"timeout_s": 0.25, "retries": 1}  # two tries
RELAY = 2  # the relay board's default device id


@pytest.fixture
async def outputs(gear):
    """Drivers opened by a test, closed after it."""
    opened: list[ModbusCoilOutput] = []

    def make(role: str, coil: int, **kwargs) -> ModbusCoilOutput:
        output = ModbusCoilOutput(role, ModbusCoilSettings(host=gear.host, port=gear.port, device_id=RELAY, coil=coil, **{**FAST, **kwargs}))
        opened.append(output)
        return output

    yield make
    for output in opened:
        await output.close()


async def test_default_wiring_drives_the_world(outputs, world: World) -> None:
    mains, network, cable, lock_failure = (
        outputs(role, coil) for coil, role in enumerate(["mains", "network", "cable", "lock_failure"])
    )
    await mains.set(False)
    await network.set(False)
    await cable.set(True)
    await lock_failure.set(True)
    c = world.connector(1)
    assert (world.mains_on, world.network_up, c.plugged_charger_side, c.lock_failure) == (False, False, True, True)
    assert [await o.get() for o in (mains, network, cable, lock_failure)] == [False, False, True, True]
    await mains.set(True)
    assert world.mains_on is True


async def test_get_reads_the_world_live(outputs, world: World) -> None:
    lock_failure = outputs("lock_failure", 3)
    assert await lock_failure.get() is False
    world.set("lock_failure", True, connector_id=1)  # changed by someone else, e.g. a fault injection
    assert await lock_failure.get() is True


async def test_inversion(outputs, world: World) -> None:
    network = outputs("network", 1, invert=True)  # wired normally closed: energised = link cut
    await network.set(True)
    assert world.network_up is False
    assert await network.get() is True
    await network.set(False)
    assert world.network_up is True
    assert await network.get() is False
    result = await network.self_test()
    assert result == {"coil": 1, "raw": True, "level": False, "invert": True}


@pytest.mark.parametrize(
    "invert, safe_level, expected_raw",
    [(False, False, False), (False, True, True), (True, False, True), (True, True, False)],
)
async def test_safe_state_drives_the_safe_level(
    outputs, world: World, invert: bool, safe_level: bool, expected_raw: bool
) -> None:
    mains = outputs("mains", 0, invert=invert, safe_level=safe_level)
    await mains.set(not safe_level)
    await mains.safe_state()
    assert world.mains_on is expected_raw
    assert await mains.get() is safe_level


async def test_power_switch_cycle_over_the_wire(outputs, world: World) -> None:
    events: list[tuple[str, object]] = []
    world.subscribe(lambda name, value: events.append((name, value)))
    switch = PowerSwitch(outputs("mains", 0), off_time_s=0.05)
    await switch.cycle()
    assert events == [("mains_on", False), ("mains_on", True)]
    assert [s.command for s in switch.steplog.steps] == ["set", "set", "cycle"]


async def test_outputs_share_the_board_concurrently(outputs, world: World) -> None:
    mains, network, cable = outputs("mains", 0), outputs("network", 1), outputs("cable", 2)
    await asyncio.gather(mains.set(False), network.set(False), cable.set(True))
    assert (world.mains_on, world.network_up, world.connector(1).plugged_charger_side) == (False, False, True)


async def test_custom_wiring() -> None:
    world = World(connectors=[Connector(), Connector()])
    wiring = {5: "connector2.plugged_ev_side", 17: "mains_on", 40: "ev_side"}
    gear = await start_modbus_gear(world, relay_wiring=wiring, relay_device_id=7)
    made = [
        ModbusCoilOutput(role, ModbusCoilSettings(host=gear.host, port=gear.port, device_id=7, coil=coil, **FAST))
        for role, coil in (("ev_side_2", 5), ("mains", 17), ("ev_side", 40))
    ]
    try:
        for output in made:
            await output.set(not await output.get())
        assert world.connector(2).plugged_ev_side is True
        assert world.mains_on is False
        assert world.connector(1).plugged_ev_side is True
    finally:
        for output in made:
            await output.close()
        await gear.stop()


@pytest.mark.parametrize(
    "wiring, fragment",
    [
        ({0: "kettle"}, "kettle"),
        ({0: "card_uid"}, "card_uid"),  # not a boolean
        ({0: "connector1.energy_wh"}, "energy_wh"),
        ({0: "connector1.no_such_field"}, "no_such_field"),
        ({0: "connector2.lock_failure"}, "connector 2"),
        ({-1: "mains"}, "coil"),
        ({}, "relay_wiring"),
    ],
)
async def test_bad_wiring_is_refused(wiring: dict, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        await start_modbus_gear(World(), relay_wiring=wiring)


async def test_silent_board_gives_driver_error_in_bounded_time(outputs, gear) -> None:
    mains = outputs("mains", 0)
    await mains.get()
    gear.silent = True
    started = time.monotonic()
    with pytest.raises(DriverError) as caught:
        await mains.set(False)
    err = caught.value
    assert (err.role, err.backend, err.address) == ("mains", "Modbus coil", f"127.0.0.1:{gear.port} device 2 coil 0")
    assert err.message == "no answer after 2 tries of 0.25 s"
    assert time.monotonic() - started < 2.0
    gear.silent = False
    assert await mains.get() is True  # the silent board did not act on the request


async def test_connection_refused_gives_driver_error() -> None:
    gear = await start_modbus_gear(World())
    await gear.stop()
    mains = ModbusCoilOutput("mains", ModbusCoilSettings(host="127.0.0.1", port=gear.port, coil=0, device_id=RELAY, **FAST))
    with pytest.raises(DriverError, match=f"mains: Modbus coil 127.0.0.1:{gear.port} device 2 coil 0: cannot connect"):
        await mains.safe_state()
    await mains.close()


async def test_register_request_to_the_relay_board_is_an_exception(gear) -> None:
    # the relay board has coils only; the EV driver pointed at it must fail loudly, naming the register
    from drivers.evse_tester.modbus import ModbusEVEmulator

    ev = ModbusEVEmulator("ev", ModbusEvSettings(host=gear.host, port=gear.port, device_id=RELAY, **FAST))
    try:
        with pytest.raises(DriverError, match=r"cp_state \(holding register 0\): Modbus exception 2"):
            await ev.set_cp_state("B")
    finally:
        await ev.close()


async def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="coil"):
        ModbusCoilOutput("mains", ModbusCoilSettings(host="127.0.0.1", port=502, coil=-1))
    with pytest.raises(ValueError, match="invert"):
        ModbusCoilOutput("mains", ModbusCoilSettings(host="127.0.0.1", port=502, coil=0, invert="yes"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="retries"):
        ModbusCoilOutput("mains", ModbusCoilSettings(host="127.0.0.1", port=502, coil=0, retries=-1))
    mains = ModbusCoilOutput("mains", ModbusCoilSettings(host="127.0.0.1", port=9, coil=0, **FAST))  # nothing to talk to: the check comes first
    with pytest.raises(ValueError, match="level"):
        await mains.set("on")  # type: ignore[arg-type]
