"""The Modbus energy meter driver against the simulated meter over loopback (no mocks), and its float codec."""

from __future__ import annotations

import math
import time
from typing import AsyncIterator

import pytest

from drivers.errors import DriverError
from drivers.meter.modbus_meter import (
    PRESETS,
    SDM630_MAP,
    MeterRegisterMap,
    ModbusEnergyMeter,
    ModbusMeterSettings,
    decode_float32,
    encode_float32,
)
from drivers.meter.protocol import EnergyMeterProtocol, MeterReading
from drivers.modbus_transport import ModbusTransport
from drivers.steplog import StepLog
from hil_sim.gear.energy_meter import EnergyMeterRegisters, start_energy_meter_gear
from hil_sim.gear.modbus_rtu import ModbusBusGear, serve_modbus_devices, start_modbus_rtu_gear
from hil_sim.world import World

FAST = {"timeout_s": 0.25, "retries": 1}  # two tries


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
async def meter_gear(world: World) -> AsyncIterator[ModbusBusGear]:
    gear = await start_energy_meter_gear(world)
    yield gear
    await gear.stop()


@pytest.fixture
async def meter(meter_gear: ModbusBusGear) -> AsyncIterator[ModbusEnergyMeter]:
    driver = ModbusEnergyMeter("meter", ModbusMeterSettings(host=meter_gear.host, port=meter_gear.port, **FAST))
    yield driver
    await driver.close()


def charge(world: World, state: str = "C", duty: float = 50.0) -> None:
    """EV plugged in on both sides, in `state`, with the charger sending `duty` % PWM."""
    world.set("plugged_charger_side", True, connector_id=1)
    world.set("plugged_ev_side", True, connector_id=1)
    world.set("ev_state", state, connector_id=1)
    world.set("pwm_duty_pct", duty, connector_id=1)


async def test_idle_reading(meter: ModbusEnergyMeter) -> None:
    r = await meter.read()
    assert r == MeterReading(voltage_v=[230.0] * 3, current_a=[0.0] * 3, power_w=0.0, energy_wh=0.0, frequency_hz=50.0)
    assert r.as_dict() == {"voltage_v": [230.0] * 3, "current_a": [0.0] * 3, "power_w": 0.0, "energy_wh": 0.0,
                           "frequency_hz": 50.0}


async def test_energy_follows_the_world(meter: ModbusEnergyMeter, world: World) -> None:
    for wh in (1.5, 12345.6, 987654.0):
        world.connector(1).energy_wh = wh
        assert (await meter.read()).energy_wh == pytest.approx(wh)


async def test_charging_at_50_percent_pwm_draws_30_a_per_phase(meter: ModbusEnergyMeter, world: World) -> None:
    charge(world, "C", 50.0)
    r = await meter.read()
    assert r.current_a == [pytest.approx(30.0)] * 3
    assert r.power_w == pytest.approx(3 * 230 * 30)
    charge(world, "D", 16.0)  # ventilation requested: still charging, 9.6 A
    r = await meter.read()
    assert r.current_a == [pytest.approx(9.6)] * 3
    assert r.power_w == pytest.approx(3 * 230 * 9.6, rel=1e-6)


@pytest.mark.parametrize(
    "change",
    [
        lambda w: w.set("ev_state", "B", connector_id=1),  # EV not asking for energy
        lambda w: w.set("pwm_duty_pct", 100.0, connector_id=1),  # charger not offering any (no PWM)
        lambda w: w.set("pwm_duty_pct", 5.0, connector_id=1),  # digital communication band: no PWM current
        lambda w: w.set("diode_fault", True, connector_id=1),  # state F
        lambda w: w.set("plugged_ev_side", False, connector_id=1),
        lambda w: w.set("mains_on", False),
    ],
)
async def test_no_current_unless_charging(meter: ModbusEnergyMeter, world: World, change) -> None:
    charge(world)
    assert (await meter.read()).current_a[0] == pytest.approx(30.0)
    change(world)
    r = await meter.read()
    assert (r.current_a, r.power_w) == ([0.0] * 3, 0.0)


async def test_mains_off_reads_no_voltage(meter: ModbusEnergyMeter, world: World) -> None:
    world.connector(1).energy_wh = 42.0
    world.set("mains_on", False)
    r = await meter.read()
    assert (r.voltage_v, r.frequency_hz, r.energy_wh) == ([0.0] * 3, 0.0, 42.0)  # the count survives


@pytest.mark.parametrize(
    "value, word_order, registers",
    [
        (230.0, "big", [0x4366, 0x0000]),
        (230.0, "little", [0x0000, 0x4366]),
        (50.0, "big", [0x4248, 0x0000]),
        (1.0, "big", [0x3F80, 0x0000]),
        (-2.5, "big", [0xC020, 0x0000]),
        (0.0, "big", [0x0000, 0x0000]),
        (12.345, "big", [0x4145, 0x851F]),
        (12.345, "little", [0x851F, 0x4145]),
        (20700.0, "big", [0x46A1, 0xB800]),
    ],
)
def test_float_codec(value: float, word_order: str, registers: list[int]) -> None:
    assert encode_float32(value, word_order) == registers
    assert decode_float32(registers, word_order) == value


def test_decoding_keeps_the_seven_digits_a_single_has() -> None:
    assert struct_single(230.1) != 230.1  # what a naive decode would give
    assert decode_float32(encode_float32(230.1)) == 230.1
    assert math.isnan(decode_float32([0x7FC0, 0x0000]))
    assert decode_float32([0x7F80, 0x0000]) == math.inf


def struct_single(value: float) -> float:
    import struct

    return struct.unpack(">f", struct.pack(">f", value))[0]


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: encode_float32(1.0, "middle"), "word_order"),
        (lambda: decode_float32([1], "big"), "2 registers"),
    ],
)
def test_codec_refuses_nonsense(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


async def test_word_order_mismatch_reads_garbage(meter_gear: ModbusBusGear) -> None:
    wrong = ModbusEnergyMeter("meter", ModbusMeterSettings(host=meter_gear.host, port=meter_gear.port, word_order="little", **FAST))
    try:
        r = await wrong.read()
    finally:
        await wrong.close()
    assert r.voltage_v[0] != 230.0 and r.frequency_hz != 50.0


async def test_another_layout_is_a_config_change(world: World) -> None:
    # a made-up single-phase meter: holding registers, low word first, power in kW, energy in Wh
    other = MeterRegisterMap.from_dict({
        "voltage_v": [100], "current_a": [102], "power_w": 200, "frequency_hz": 110, "energy": 300,
        "power_w_per_unit": 1000.0, "energy_wh_per_unit": 1.0, "table": "holding", "word_order": "little",
    })
    meter_model = EnergyMeterRegisters(world, meter_map=other)
    gear = await serve_modbus_devices([meter_model.sim_device(7)], framer="socket")
    driver = ModbusEnergyMeter("meter", ModbusMeterSettings(host=gear.host, port=gear.port, device_id=7, **FAST), register_map=other)
    charge(world, "C", 25.0)  # 15 A
    world.connector(1).energy_wh = 321.0
    try:
        r = await driver.read()
        assert (r.voltage_v, r.current_a, r.energy_wh, r.frequency_hz) == ([230.0], [15.0], 321.0, 50.0)
        assert r.power_w == pytest.approx(230 * 15)
        # the SDM630 layout's input registers do not exist there
        sdm = ModbusEnergyMeter("meter", ModbusMeterSettings(host=gear.host, port=gear.port, device_id=7, **FAST))
        with pytest.raises(DriverError, match=r"voltage_v\[0\]..current_a\[2\] \(input registers 0-11\): Modbus exception 2"):
            await sdm.read()
        await sdm.close()
        # measurement registers are read-only, even when they are holding registers
        with pytest.raises(DriverError, match="Modbus exception 2"):
            await driver.link.write_register("voltage_v[0]", 100, 0)
    finally:
        await driver.close()
        await gear.stop()


def test_sdm630_layout() -> None:
    assert PRESETS["sdm630"] is SDM630_MAP
    assert SDM630_MAP.registers() == {
        "voltage_v[0]": 0x00, "voltage_v[1]": 0x02, "voltage_v[2]": 0x04,
        "current_a[0]": 0x06, "current_a[1]": 0x08, "current_a[2]": 0x0A,
        "power_w": 0x34, "frequency_hz": 0x46, "energy": 0x156,
    }
    assert (SDM630_MAP.table, SDM630_MAP.word_order, SDM630_MAP.energy_wh_per_unit) == ("input", "big", 1000.0)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"power_w": 0x35, "energy": 0x36}, "register energy: register 54 is already used by power_w"),
        ({"frequency_hz": 0x0B}, "register 11 is already used by current_a"),
        ({"voltage_v": [0, 2]}, "voltage_v has 2 phases but current_a has 3"),
        ({"voltage_v": []}, "one address per phase"),
        ({"energy": 0xFFFF}, "address must be an integer"),
        ({"energy": -2}, "address must be an integer"),
        ({"word_order": "mixed"}, "word_order"),
        ({"table": "coils"}, "table"),
        ({"energy_wh_per_unit": 0}, "energy_wh_per_unit"),
        ({"kwh": 0x156}, "unknown meter register 'kwh'"),
    ],
)
def test_bad_layouts_are_refused(overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MeterRegisterMap.from_dict(overrides)


async def test_safe_state_touches_nothing(meter: ModbusEnergyMeter, meter_gear: ModbusBusGear, world: World) -> None:
    assert isinstance(meter, EnergyMeterProtocol)
    await meter.read()
    before, events = sum(meter_gear.requests.values()), []
    world.subscribe(lambda name, value: events.append(name))
    await meter.safe_state()
    assert sum(meter_gear.requests.values()) == before  # not a single request
    assert events == []
    assert meter.steplog.steps[-1].command == "safe_state" and meter.steplog.steps[-1].error is None


async def test_safe_state_of_a_dead_meter_still_succeeds() -> None:
    gear = await start_energy_meter_gear(World())
    await gear.stop()
    meter = ModbusEnergyMeter("meter", ModbusMeterSettings(host=gear.host, port=gear.port, **FAST))
    started = time.monotonic()
    await meter.safe_state()  # nothing to reach, nothing to fail
    assert time.monotonic() - started < 0.1
    with pytest.raises(DriverError, match="cannot connect"):
        await meter.self_test()
    await meter.close()


async def test_self_test_reads_once(meter: ModbusEnergyMeter, meter_gear: ModbusBusGear) -> None:
    log = StepLog()
    meter.steplog = log
    result = await meter.self_test()
    assert result == {"phases": 3, "word_order": "big", "reading": (await meter.read()).as_dict()}
    # one reading is four requests for the SDM630 layout: V+I (0-11), power, frequency, energy
    assert meter_gear.requests[1] == 8
    assert [s.command for s in log.steps] == ["self_test", "read"]


async def test_silent_meter_gives_driver_error_in_bounded_time(meter: ModbusEnergyMeter, meter_gear) -> None:
    await meter.read()
    meter_gear.silent = True
    started = time.monotonic()
    with pytest.raises(DriverError) as caught:
        await meter.read()
    err = caught.value
    assert (err.role, err.backend, err.address) == ("meter", "Modbus meter", f"127.0.0.1:{meter_gear.port} device 1")
    assert str(err) == f"meter: Modbus meter 127.0.0.1:{meter_gear.port} device 1: no answer after 2 tries of 0.25 s"
    assert time.monotonic() - started < 2.0
    assert meter.steplog.steps[-1].error == str(err)
    meter_gear.silent = False
    assert (await meter.read()).frequency_hz == 50.0


async def test_a_value_that_is_not_a_number_is_an_error(world: World) -> None:
    gear = await serve_modbus_devices([EnergyMeterRegisters(world, voltage_v=math.nan).sim_device(1)],
                                      framer="socket")
    meter = ModbusEnergyMeter("meter", ModbusMeterSettings(host=gear.host, port=gear.port, **FAST))
    try:
        with pytest.raises(DriverError, match=r"voltage_v\[0\] \(input registers 0-1\) reads nan, not a number"):
            await meter.read()
    finally:
        await meter.close()
        await gear.stop()


async def test_meter_on_the_rtu_bus_next_to_the_ev_emulator(world: World) -> None:
    gear = await start_modbus_rtu_gear(world, extra_devices=[EnergyMeterRegisters(world).sim_device(3)])
    meter = ModbusEnergyMeter("meter", ModbusMeterSettings(host=gear.host, port=gear.port, device_id=3, transport="rtu-over-tcp", **FAST))
    try:
        assert meter.address == f"RTU over TCP 127.0.0.1:{gear.port} device 3"
        charge(world, "C", 50.0)
        world.connector(1).energy_wh = 7400.0
        r = await meter.read()
        assert (r.current_a, r.energy_wh) == ([30.0] * 3, 7400.0)
    finally:
        await meter.close()
        await gear.stop()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"host": "127.0.0.1", "port": 70000}, "port"),
        ({}, "host must not be empty"),
        ({"transport": "rtu-serial"}, "serial_port"),
        ({"host": "127.0.0.1", "retries": -1}, "retries"),
        ({"host": "127.0.0.1", "word_order": "mixed"}, "word_order"),
        ({"transport": ModbusTransport("tcp", host="h", port=1), "host": "h"}, "not both"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ModbusEnergyMeter("meter", ModbusMeterSettings(**kwargs))
