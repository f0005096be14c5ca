"""The Modbus drivers over RTU: RTU frames over loopback TCP and a real serial client on a pty pair (no mocks)."""

from __future__ import annotations

import asyncio
import time
from typing import AsyncIterator

import pytest
from pymodbus.exceptions import ModbusIOException
from pymodbus.pdu.bit_message import WriteSingleCoilRequest, WriteSingleCoilResponse
from pymodbus.pdu.register_message import (
    ReadHoldingRegistersRequest,
    ReadHoldingRegistersResponse,
    ReadInputRegistersResponse,
    WriteSingleRegisterRequest,
    WriteSingleRegisterResponse,
)

from drivers.errors import DriverError
from drivers.evse_tester.modbus import ModbusEVEmulator, ModbusEvSettings
from drivers.meter.modbus_meter import ModbusEnergyMeter, ModbusMeterSettings
from drivers.modbus_link import ModbusLink, _check_reply
from drivers.modbus_transport import ModbusTransport, missing_transport_setting
from drivers.relay.modbus_coil import ModbusCoilOutput, ModbusCoilSettings
from hil_sim.gear.energy_meter import EnergyMeterRegisters
from hil_sim.gear.modbus_rtu import start_modbus_rtu_gear, start_modbus_rtu_pty_gear
from hil_sim.world import World

FAST = {"timeout_s": 0.25, "retries": 1}  # two tries
EV, RELAY, METER = 1, 2, 3


def ev_on(transport: ModbusTransport) -> ModbusEVEmulator:
    return ModbusEVEmulator("ev", ModbusEvSettings(transport=transport, device_id=EV, **FAST))


def coil_on(transport: ModbusTransport, role: str, coil: int, device_id: int = RELAY) -> ModbusCoilOutput:
    return ModbusCoilOutput(role, ModbusCoilSettings(transport=transport, device_id=device_id, coil=coil, **FAST))


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture(params=["rtu-over-tcp", "rtu-serial"])
async def bus(request, world: World) -> AsyncIterator:
    """The EV emulator (1), the relay board (2) and a meter (3) on one RTU bus, over TCP or on a pty pair."""
    meter = EnergyMeterRegisters(world).sim_device(METER)
    start = start_modbus_rtu_gear if request.param == "rtu-over-tcp" else start_modbus_rtu_pty_gear
    gear = await start(world, extra_devices=[meter])
    yield gear
    await gear.stop()


async def test_ev_emulator_over_rtu(bus, world: World, opened) -> None:
    ev = ev_on(bus.transport())
    opened.append(ev)
    world.set("plugged_charger_side", True, connector_id=1)
    await ev.set_plug(True)
    await ev.set_cp_state("C")
    await ev.set_pp_rating(20)
    world.set("pwm_duty_pct", 50.0, connector_id=1)
    c = world.connector(1)
    assert (c.plugged_ev_side, c.ev_state, c.pp_rating_a) == (True, "C", 20)
    m = await ev.measure()
    assert (m.high_v, m.low_v, m.duty_pct, m.frequency_hz, m.state) == (6.0, -12.0, 50.0, 1000.0, "C")
    assert m.current_limit_a == pytest.approx(30.0)
    assert (await ev.self_test())["pp_rating_a"] == 20
    await ev.safe_state()
    assert (c.plugged_ev_side, c.ev_state, c.diode_fault) == (False, "A", False)


async def test_relay_coils_over_rtu(bus, world: World, opened) -> None:
    mains, cable = coil_on(bus.transport(), "mains", 0), coil_on(bus.transport(), "cable", 2)
    opened.extend([mains, cable])
    await mains.set(False)
    await cable.set(True)
    assert (world.mains_on, world.connector(1).plugged_charger_side) == (False, True)
    assert (await mains.get(), await cable.get()) == (False, True)
    await mains.safe_state()
    assert world.mains_on is False  # safe_level defaults to off
    world.set("mains_on", True)
    assert await mains.get() is True


async def test_three_devices_share_one_bus_concurrently(bus, world: World, opened) -> None:
    # On a serial port this only works because the drivers share one connection: the port opens once.
    transport = bus.transport()
    ev = ev_on(transport)
    mains, network = coil_on(transport, "mains", 0), coil_on(transport, "network", 1)
    meter = ModbusEnergyMeter("meter", ModbusMeterSettings(transport=transport, device_id=METER, **FAST))
    opened.extend([ev, mains, network, meter])
    for _ in range(3):
        await asyncio.gather(ev.set_cp_state("B"), mains.set(True), network.set(False), meter.read(), ev.measure())
    assert (world.connector(1).ev_state, world.mains_on, world.network_up) == ("B", True, False)
    assert ev.link._line is meter.link._line is mains.link._line  # type: ignore[attr-defined]
    await ev.close()
    assert meter.link.connected  # the others still use the line
    assert (await meter.read()).voltage_v == [230.0, 230.0, 230.0]


async def test_silent_device_gives_driver_error_in_bounded_time(bus, opened) -> None:
    ev = ev_on(bus.transport())
    opened.append(ev)
    await ev.measure()
    bus.silent = True
    started = time.monotonic()
    with pytest.raises(DriverError) as caught:
        await ev.set_cp_state("B")
    err = caught.value
    assert (err.role, err.backend, err.address) == ("ev", "Modbus", f"{bus.transport().describe()} device 1")
    assert err.message == "no answer after 2 tries of 0.25 s"
    assert time.monotonic() - started < 2.0
    bus.silent = False  # the driver recovers once the device answers again
    assert (await ev.measure()).state == "A"


async def test_absent_device_stays_silent_like_on_rs485(bus, opened) -> None:
    mains = coil_on(bus.transport(), "mains", 0, device_id=9)
    opened.append(mains)
    with pytest.raises(DriverError) as caught:
        await mains.get()
    assert str(caught.value) == f"mains: Modbus coil {bus.transport().describe()} device 9 coil 0: no answer after 2 tries of 0.25 s"
    assert bus.requests[9] == 2


async def test_exception_answer_over_rtu(bus, opened) -> None:
    # the relay board has no registers: the EV driver pointed at it gets "illegal data address", named
    ev = ModbusEVEmulator("ev", ModbusEvSettings(transport=bus.transport(), device_id=RELAY, **FAST))
    opened.append(ev)
    with pytest.raises(DriverError, match=r"cp_state \(holding register 0\): Modbus exception 2 \(illegal data address\)"):
        await ev.set_cp_state("B")


async def test_tcp_framing_does_not_reach_an_rtu_bus(world: World) -> None:
    gear = await start_modbus_rtu_gear(world)
    ev = ModbusEVEmulator("ev", ModbusEvSettings(host=gear.host, port=gear.port, **FAST))  # plain Modbus TCP
    try:
        with pytest.raises(DriverError, match="no answer"):
            await ev.measure()
    finally:
        await ev.close()
        await gear.stop()


async def test_pty_bus_survives_driver_close_and_reopen(world: World) -> None:
    gear = await start_modbus_rtu_pty_gear(world, baudrate=19200, stopbits=2)
    try:
        assert gear.transport().describe() == f"RTU {gear.serial_port} 19200 8N2"
        for state in "BCA":
            ev = ev_on(gear.transport())
            await ev.set_cp_state(state)
            await ev.close()
            assert world.connector(1).ev_state == state
    finally:
        await gear.stop()
        await gear.stop()  # twice is harmless


async def test_a_pty_cannot_carry_parity(world: World) -> None:
    with pytest.raises(ValueError, match="parity N"):
        await start_modbus_rtu_pty_gear(world, parity="E")


async def test_missing_serial_port_gives_driver_error() -> None:
    ev = ev_on(ModbusTransport("rtu-serial", serial_port="/dev/ttyNOSUCH0"))
    with pytest.raises(DriverError) as caught:
        await ev.connect()
    assert str(caught.value) == (
        "ev: Modbus RTU /dev/ttyNOSUCH0 9600 8N1 device 1: cannot open /dev/ttyNOSUCH0 after 2 tries of 0.25 s (no such device)"
    )
    await ev.close()


async def test_one_port_cannot_be_opened_with_two_line_settings(world: World) -> None:
    gear = await start_modbus_rtu_pty_gear(world)
    ev = ev_on(gear.transport())
    other = ModbusTransport("rtu-serial", serial_port=gear.serial_port, baudrate=19200)
    mains = coil_on(other, "mains", 0)
    try:
        await ev.measure()
        with pytest.raises(DriverError, match="already open as RTU .* 9600 8N1; every device on one bus needs the same"):
            await mains.get()
    finally:
        await ev.close()
        await mains.close()
        await gear.stop()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"kind": "udp", "host": "h", "port": 1}, "transport must be one of tcp, rtu-over-tcp, rtu-serial"),
        ({"kind": "tcp", "port": 502}, "host must not be empty"),
        ({"kind": "rtu-over-tcp", "host": "h", "port": 0}, "port must be 1..65535"),
        ({"kind": "tcp", "host": "h", "port": 502, "serial_port": "/dev/ttyUSB0"}, "serial_port is only used"),
        ({"kind": "rtu-serial"}, "serial_port must name the serial device"),
        ({"kind": "rtu-serial", "serial_port": "/dev/x", "host": "h"}, "host is not used"),
        ({"kind": "rtu-serial", "serial_port": "/dev/x", "baudrate": 100}, "baudrate must be 300..921600"),
        ({"kind": "rtu-serial", "serial_port": "/dev/x", "parity": "none"}, "parity must be one of N, E, O"),
        ({"kind": "rtu-serial", "serial_port": "/dev/x", "stopbits": 3}, "stopbits must be 1 or 2"),
    ],
)
def test_bad_transports_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ModbusTransport(**kwargs)


@pytest.mark.parametrize(
    "transport, described, gap_ms",
    [
        (ModbusTransport("tcp", host="10.0.0.5", port=502), "10.0.0.5:502", 0.0),
        (ModbusTransport("rtu-over-tcp", host="10.0.0.5", port=4001), "RTU over TCP 10.0.0.5:4001", 0.0),
        (ModbusTransport("rtu-serial", serial_port="/dev/ttyUSB0"), "RTU /dev/ttyUSB0 9600 8N1", 3.5 * 10 / 9.6),
        (ModbusTransport("rtu-serial", serial_port="/dev/ttyUSB0", baudrate=19200, parity="E"),
         "RTU /dev/ttyUSB0 19200 8E1", 3.5 * 11 / 19.2),
        (ModbusTransport("rtu-serial", serial_port="/dev/ttyUSB0", baudrate=115200, stopbits=2),
         "RTU /dev/ttyUSB0 115200 8N2", 1.75),
    ],
)
def test_transport_description_and_frame_gap(transport: ModbusTransport, described: str, gap_ms: float) -> None:
    assert transport.describe() == described
    assert transport.frame_gap_s * 1000 == pytest.approx(gap_ms)


def test_from_settings_ignores_the_tcp_port_on_a_serial_line() -> None:
    t = ModbusTransport.from_settings("rtu-serial", port=502, serial_port="/dev/ttyUSB1", parity="E")
    assert (t.kind, t.port, t.serial_port, t.parity) == ("rtu-serial", None, "/dev/ttyUSB1", "E")
    assert ModbusTransport.from_settings(host="h").describe() == "h:502"


@pytest.mark.parametrize(
    "settings, missing",
    [
        ({"transport": "tcp", "host": "${sim.modbus.host}"}, None),
        ({"host": "10.0.0.5"}, None),
        ({"transport": "tcp"}, "host"),
        ({"transport": "rtu-over-tcp", "host": None}, "host"),
        ({"transport": "tcp", "host": "h", "serial_port": "/dev/ttyUSB0"}, "serial_port"),
        ({"transport": "rtu-serial", "serial_port": "/dev/ttyUSB0"}, None),
        ({"transport": "rtu-serial"}, "serial_port"),
        ({"transport": "rtu-serial", "serial_port": "/dev/ttyUSB0", "host": "h"}, "host"),
    ],
)
def test_missing_transport_setting(settings: dict, missing: str | None) -> None:
    found = missing_transport_setting(settings)
    assert (found[0] if found else None) == missing


def test_rtu_refuses_the_broadcast_address() -> None:
    with pytest.raises(ValueError, match="broadcast"):
        ModbusLink(transport=ModbusTransport("rtu-over-tcp", host="h", port=1), device_id=0, timeout_s=1, retries=1,
                   error=lambda m: DriverError("r", "b", "a", m))


@pytest.mark.parametrize(
    "request_pdu, response, ok",
    [
        (ReadHoldingRegistersRequest(address=0, count=2), ReadHoldingRegistersResponse(registers=[1, 2]), True),
        (ReadHoldingRegistersRequest(address=0, count=2), ReadHoldingRegistersResponse(registers=[1, 2, 3, 4]), False),
        (ReadHoldingRegistersRequest(address=0, count=2), ReadInputRegistersResponse(registers=[1, 2]), False),
        (WriteSingleRegisterRequest(address=3, registers=[5]), WriteSingleRegisterResponse(address=3, registers=[5]), True),
        (WriteSingleRegisterRequest(address=3, registers=[5]), WriteSingleRegisterResponse(address=1, registers=[5]), False),
        (WriteSingleCoilRequest(address=4, bits=[True]), WriteSingleCoilResponse(address=4, bits=[True]), True),
        (WriteSingleCoilRequest(address=4, bits=[True]), WriteSingleRegisterResponse(address=4, registers=[1]), False),
    ],
)
def test_a_reply_must_match_its_request(request_pdu, response, ok: bool) -> None:
    # RTU frames carry no transaction id: a late reply to an abandoned request must not pass for this one
    if ok:
        _check_reply(request_pdu, response)
    else:
        with pytest.raises(ModbusIOException):
            _check_reply(request_pdu, response)
