"""The Modbus EV emulator driver against the simulated gear over loopback TCP (no mocks)."""

from __future__ import annotations

import asyncio
import time

import pytest

from drivers.errors import DriverError
from drivers.evse_tester.modbus import ModbusEVEmulator, ModbusEvSettings
from drivers.evse_tester.register_map import DEFAULT_MAP, EXAMPLE_OFFSET_MAP, PRESETS, RegisterMap
from drivers.steplog import StepLog
from hil_sim.gear.modbus_gear import start_modbus_gear
from hil_sim.world import Connector, World

FAST = {"timeout_s": 0.25, "retries": 1}  # two tries


@pytest.fixture
async def ev(gear):
    driver = ModbusEVEmulator("ev", ModbusEvSettings(host=gear.host, port=gear.port, **FAST))
    yield driver
    await driver.close()


async def closed_port() -> int:
    """A loopback port nothing listens on (the gear's own, just after it stopped)."""
    gear = await start_modbus_gear(World())
    await gear.stop()
    return gear.port


async def test_commands_change_the_world(ev: ModbusEVEmulator, world: World) -> None:
    c = world.connector(1)
    await ev.set_plug(True)
    await ev.set_cp_state("C")
    await ev.set_diode_fault(True)
    await ev.set_pp_rating(20)
    assert (c.plugged_ev_side, c.ev_state, c.diode_fault, c.pp_rating_a) == (True, "C", True, 20)
    await ev.set_plug(False)
    await ev.set_diode_fault(False)
    assert (c.plugged_ev_side, c.diode_fault) == (False, False)


async def test_world_listeners_see_driver_writes(ev: ModbusEVEmulator, world: World) -> None:
    events: list[tuple[str, object]] = []
    world.subscribe(lambda name, value: events.append((name, value)))
    await ev.set_cp_state("B")
    await ev.set_cp_state("B")  # unchanged: no event
    assert events == [("connector1.ev_state", "B")]


async def test_measurements_follow_the_world(ev: ModbusEVEmulator, world: World) -> None:
    world.set("plugged_charger_side", True, connector_id=1)
    await ev.set_plug(True)
    await ev.set_cp_state("B")

    m = await ev.measure()  # charger not yet offering current: +9 V DC
    assert (m.high_v, m.low_v, m.duty_pct, m.frequency_hz, m.state, m.current_limit_a) == (
        9.0, 9.0, 100.0, 0.0, "B", None
    )

    world.set("pwm_duty_pct", 50.0, connector_id=1)
    m = await ev.measure()
    assert (m.high_v, m.low_v, m.duty_pct, m.frequency_hz, m.state) == (9.0, -12.0, 50.0, 1000.0, "B")
    assert m.current_limit_a == pytest.approx(30.0)

    await ev.set_cp_state("C")
    world.set("pwm_duty_pct", 53.3, connector_id=1)
    m = await ev.measure()
    assert (m.high_v, m.state, m.duty_pct) == (6.0, "C", 53.3)
    assert m.current_limit_a == pytest.approx(31.98)

    await ev.set_cp_state("D")
    assert (await ev.measure()).high_v == 3.0

    world.set("pwm_duty_pct", 0.0, connector_id=1)  # charger pulls CP to −12 V
    m = await ev.measure()
    assert (m.high_v, m.low_v, m.duty_pct, m.frequency_hz, m.state, m.current_limit_a) == (
        -12.0, -12.0, 0.0, 0.0, "F", None
    )


async def test_diode_fault_shows_as_state_f(ev: ModbusEVEmulator, world: World) -> None:
    world.set("plugged_charger_side", True, connector_id=1)
    world.set("pwm_duty_pct", 25.0, connector_id=1)
    await ev.set_plug(True)
    await ev.set_cp_state("C")
    assert (await ev.measure()).state == "C"
    await ev.set_diode_fault(True)
    assert world.connector(1).cp_state() == "F"
    assert (await ev.measure()).state == "F"


async def test_frequency_comes_from_the_world(ev: ModbusEVEmulator, world: World) -> None:
    world.set("plugged_charger_side", True, connector_id=1)
    world.set("pwm_duty_pct", 16.0, connector_id=1)
    world.set("pwm_frequency_hz", 980.0)
    await ev.set_plug(True)
    await ev.set_cp_state("B")
    m = await ev.measure()
    assert (m.frequency_hz, m.current_limit_a) == (980.0, pytest.approx(9.6))


async def test_standard_setting_changes_the_current_reading(gear, world: World) -> None:
    world.set("pwm_duty_pct", 9.0, connector_id=1)
    iec = ModbusEVEmulator("ev", ModbusEvSettings(host=gear.host, port=gear.port, **FAST))
    sae = ModbusEVEmulator("ev", ModbusEvSettings(host=gear.host, port=gear.port, standard="sae", **FAST))
    try:
        assert (await iec.measure()).current_limit_a == 6.0
        assert (await sae.measure()).current_limit_a is None
    finally:
        await iec.close()
        await sae.close()


async def test_safe_state_unplugs_and_clears_faults(ev: ModbusEVEmulator, world: World) -> None:
    await ev.set_plug(True)
    await ev.set_cp_state("D")
    await ev.set_diode_fault(True)
    await ev.safe_state()
    c = world.connector(1)
    assert (c.plugged_ev_side, c.ev_state, c.diode_fault) == (False, "A", False)


async def test_self_test_reads_settings_and_measurement(ev: ModbusEVEmulator, world: World) -> None:
    await ev.set_pp_rating(63)
    await ev.set_cp_state("B")
    result = await ev.self_test()
    assert result["cp_state"] == "B"
    assert result["plug_closed"] is False
    assert result["diode_fault"] is False
    assert result["pp_rating_a"] == 63
    assert result["measurement"]["state"] == "A"  # plug open: the socket shows state A


async def test_every_command_is_a_step(gear) -> None:
    log = StepLog()
    ev = ModbusEVEmulator("ev", ModbusEvSettings(host=gear.host, port=gear.port, **FAST), steplog=log)
    try:
        await ev.set_cp_state("B")
        await ev.measure()
    finally:
        await ev.close()
    records = [s.as_record() for s in log.steps]
    assert [r["command"] for r in records] == ["set_cp_state", "measure", "close"]
    assert records[0]["role"] == "ev"
    assert records[0]["args"] == {"state": "B"}
    assert records[1]["result"]["state"] == "A"


@pytest.mark.parametrize(
    "command, arg, name",
    [
        ("set_cp_state", "G", "state"),
        ("set_cp_state", "b", "state"),
        ("set_pp_rating", 40, "amps"),
        ("set_pp_rating", True, "amps"),
        ("set_plug", "yes", "connected"),
        ("set_diode_fault", 2, "fault"),
    ],
)
async def test_bad_arguments_fail_before_any_io(command: str, arg: object, name: str) -> None:
    # nothing listens on this port: a ValueError (not a DriverError) proves the check came first
    ev = ModbusEVEmulator("ev", ModbusEvSettings(host="127.0.0.1", port=await closed_port(), **FAST))
    with pytest.raises(ValueError, match=name):
        await getattr(ev, command)(arg)
    assert not ev.link.connected
    assert ev.steplog.steps[-1].error is not None


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"standard": "gb"}, "standard"),
        ({"retries": -1}, "retries"),
        ({"timeout_s": 0}, "timeout_s"),
        ({"port": 70000}, "port"),
        ({"device_id": 300}, "device_id"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict, name: str) -> None:
    settings = {"host": "127.0.0.1", "port": 502, **kwargs}
    with pytest.raises(ValueError, match=name):
        ModbusEVEmulator("ev", ModbusEvSettings(**settings))


async def test_silent_device_gives_driver_error_in_bounded_time(ev: ModbusEVEmulator, gear) -> None:
    await ev.connect()
    gear.silent = True
    started = time.monotonic()
    with pytest.raises(DriverError) as caught:
        await ev.measure()
    elapsed = time.monotonic() - started
    err = caught.value
    assert (err.role, err.backend, err.address) == ("ev", "Modbus", f"127.0.0.1:{gear.port} device 1")
    assert str(err) == f"ev: Modbus 127.0.0.1:{gear.port} device 1: no answer after 2 tries of 0.25 s"
    assert elapsed < 2.0
    assert ev.steplog.steps[-1].error == str(err)

    gear.silent = False  # the driver recovers once the device answers again
    assert (await ev.measure()).state == "A"


async def test_connection_refused_gives_driver_error() -> None:
    port = await closed_port()
    ev = ModbusEVEmulator("ev", ModbusEvSettings(host="127.0.0.1", port=port, **FAST))
    started = time.monotonic()
    with pytest.raises(DriverError, match=f"ev: Modbus 127.0.0.1:{port} device 1: cannot connect"):
        await ev.connect()
    with pytest.raises(DriverError, match="cannot connect"):
        await ev.set_cp_state("B")
    assert time.monotonic() - started < 2.0
    await ev.close()  # never raises for a driver that never connected


async def test_driver_reconnects_after_gear_restart(world: World) -> None:
    gear = await start_modbus_gear(world)
    ev = ModbusEVEmulator("ev", ModbusEvSettings(host=gear.host, port=gear.port, **FAST))
    try:
        await ev.set_cp_state("B")
        await gear.stop()
        gear = await start_modbus_gear(world, port=gear.port)
        await ev.set_cp_state("C")
        assert world.connector(1).ev_state == "C"
    finally:
        await ev.close()
        await gear.stop()


async def test_exception_response_names_the_register(gear, world: World) -> None:
    wrong_map = RegisterMap.from_dict({"pp_rating_a": 10})
    ev = ModbusEVEmulator("ev", ModbusEvSettings(host=gear.host, port=gear.port, **FAST), register_map=wrong_map)
    try:
        with pytest.raises(DriverError, match=r"pp_rating_a \(holding register 10\): Modbus exception 2"):
            await ev.set_pp_rating(20)
        await ev.set_cp_state("B")  # the connection survives an exception response
    finally:
        await ev.close()
    assert world.connector(1).pp_rating_a == 32


async def test_gear_refuses_values_no_state_has(ev: ModbusEVEmulator, world: World) -> None:
    for name, value in (("cp_state", 6), ("plug_relay", 2), ("pp_rating_a", 16)):
        with pytest.raises(DriverError, match=f"{name} .*illegal data value"):
            await ev.link.write_register(name, getattr(DEFAULT_MAP, name), value)
    c = world.connector(1)
    assert (c.ev_state, c.plugged_ev_side, c.pp_rating_a) == ("A", False, 32)


async def test_wrong_device_id_gets_an_error_answer(gear) -> None:
    ev = ModbusEVEmulator("ev", ModbusEvSettings(host=gear.host, port=gear.port, device_id=9, **FAST))
    try:
        with pytest.raises(DriverError, match="Modbus exception"):
            await ev.measure()
    finally:
        await ev.close()


async def test_other_layout_and_device_id_over_the_wire() -> None:
    world = World(connectors=[Connector(), Connector()])
    world.set("plugged_charger_side", True, connector_id=2)
    world.set("pwm_duty_pct", 10.0, connector_id=2)
    gear = await start_modbus_gear(
        world, ev_device_id=5, relay_device_id=6, ev_connector_id=2, ev_register_map=EXAMPLE_OFFSET_MAP
    )
    ev = ModbusEVEmulator("ev", ModbusEvSettings(host=gear.host, port=gear.port, device_id=5, **FAST), register_map=EXAMPLE_OFFSET_MAP)
    try:
        await ev.set_plug(True)
        await ev.set_cp_state("C")
        m = await ev.measure()
        assert (m.state, m.high_v, m.current_limit_a) == ("C", 6.0, 6.0)
        assert world.connector(2).ev_state == "C"
        assert world.connector(1).ev_state == "A"
        # the default layout's addresses do not exist on this device
        default = ModbusEVEmulator("ev", ModbusEvSettings(host=gear.host, port=gear.port, device_id=5, **FAST))
        with pytest.raises(DriverError, match="illegal data address"):
            await default.measure()
        await default.close()
    finally:
        await ev.close()
        await gear.stop()


async def test_gear_starts_and_stops_many_times(world: World) -> None:
    for _ in range(15):
        gear = await start_modbus_gear(world)
        ev = ModbusEVEmulator("ev", ModbusEvSettings(host=gear.host, port=gear.port, timeout_s=0.25, retries=0))
        await ev.set_cp_state("B")
        await gear.stop()
        await gear.stop()  # twice is harmless
        with pytest.raises(DriverError):
            await ev.set_cp_state("A")
        await ev.close()
    assert world.connector(1).ev_state == "B"


async def test_stop_while_a_request_hangs(world: World) -> None:
    gear = await start_modbus_gear(world)
    ev = ModbusEVEmulator("ev", ModbusEvSettings(host=gear.host, port=gear.port, timeout_s=0.25, retries=0))
    await ev.connect()
    gear.silent = True
    pending = asyncio.ensure_future(ev.measure())
    await asyncio.sleep(0.05)
    await asyncio.wait_for(gear.stop(), 1.0)
    with pytest.raises(DriverError):
        await pending
    await ev.close()


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1", ""])
async def test_gear_listens_on_loopback_only(host: str) -> None:
    with pytest.raises(ValueError, match="host"):
        await start_modbus_gear(World(), host=host)


def test_register_map_from_dict() -> None:
    m = RegisterMap.from_dict({"cp_state": 40, "cp_state_seen": None})
    assert (m.cp_state, m.plug_relay, m.cp_state_seen) == (40, 1, None)
    assert "cp_state_seen" not in m.inputs()
    assert RegisterMap.from_dict(EXAMPLE_OFFSET_MAP.as_dict()) == PRESETS["example-offset"]
    with pytest.raises(ValueError, match="'plug'"):
        RegisterMap.from_dict({"plug": 3})
    with pytest.raises(ValueError, match="plug_relay: address 0 is already used by cp_state"):
        RegisterMap.from_dict({"plug_relay": 0})
    with pytest.raises(ValueError, match="duty_permille"):
        RegisterMap.from_dict({"duty_permille": -1})
    with pytest.raises(ValueError, match="cp_high_cv"):
        RegisterMap.from_dict({"cp_high_cv": None})
