"""The serial EV emulator driver against the simulated board, over a real pseudo-terminal (no mocks)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import serial

from drivers.errors import DriverError
from drivers.evse_tester.protocol import CPMeasurement
from drivers.evse_tester.serial_ev import SerialEVEmulator
from drivers.evse_tester.serial_ev_lines import Frame, parse_frame
from drivers.evse_tester.settings import SerialEvSettings
from drivers.steplog import StepLog
from hil_sim.gear.serial_ev import GARBAGE_LINES, SimSerialEV
from hil_sim.world import World

PERIOD_S = 0.1
TIMEOUT_S = 0.2
RETRIES = 1
BOUND_S = (RETRIES + 1) * TIMEOUT_S + 0.5  # what a failing command may take at most


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
async def sim(world: World) -> AsyncIterator[SimSerialEV]:
    board = SimSerialEV(world, frame_period_s=PERIOD_S)
    await board.start()
    yield board
    await board.stop()


@pytest.fixture
async def ev(sim: SimSerialEV) -> AsyncIterator[SerialEVEmulator]:
    driver = SerialEVEmulator("ev", SerialEvSettings(port=sim.port_name, timeout_s=TIMEOUT_S, retries=RETRIES), steplog=StepLog())
    await driver.connect()
    yield driver
    await driver.close()


async def until(read: Callable[[], Awaitable[CPMeasurement]], check: Callable[[CPMeasurement], bool],
                within_s: float) -> CPMeasurement:
    """Measure until `check` holds; fail after `within_s`."""
    deadline = time.monotonic() + within_s
    while True:
        m = await read()
        if check(m):
            return m
        assert time.monotonic() < deadline, f"still {m} after {within_s} s"
        await asyncio.sleep(0.01)


async def plugged_in(ev: SerialEVEmulator, world: World) -> None:
    world.set("plugged_charger_side", True, connector_id=1)
    await ev.set_plug(True)


async def test_commands_change_the_world(ev: SerialEVEmulator, sim: SimSerialEV, world: World) -> None:
    c = world.connector(1)
    await ev.set_plug(True)
    await ev.set_cp_state("B")
    assert (c.plugged_ev_side, c.ev_state) == (True, "B")
    await ev.set_diode_fault(True)
    await ev.set_pp_rating(20)
    assert (c.diode_fault, c.pp_rating_a) == (True, 20)
    await ev.set_cp_state("E")
    await ev.set_plug(False)
    await ev.set_diode_fault(0)
    await ev.set_pp_rating(63)
    assert (c.plugged_ev_side, c.ev_state, c.diode_fault, c.pp_rating_a) == (False, "E", False, 63)
    assert sim.commands == ["P", "B", "X", "2", "E", "p", "x", "6"]
    assert ev.commanded == {"plug": False, "cp_state": "E", "diode_fault": False, "pp_rating_a": 63}


async def test_measurements_follow_the_world(ev: SerialEVEmulator, world: World) -> None:
    await plugged_in(ev, world)
    await ev.set_cp_state("B")
    m = await ev.measure()  # right after a command: never a frame from before it
    assert (m.high_v, m.low_v, m.duty_pct, m.frequency_hz, m.state, m.current_limit_a) == (
        9.0, 9.0, 100.0, 0.0, "B", None
    )

    # the charger starts PWM: the board shows it within two frame periods, without being asked
    world.set("pwm_duty_pct", 50.0, connector_id=1)
    m = await until(ev.measure, lambda m: m.duty_pct == 50.0, within_s=2 * PERIOD_S + 0.3)
    assert (m.high_v, m.low_v, m.frequency_hz, m.state) == (9.0, -12.0, 1000.0, "B")
    assert m.current_limit_a == 30.0

    await ev.set_cp_state("C")
    m = await ev.measure()
    assert (m.high_v, m.state, m.current_limit_a) == (6.0, "C", 30.0)

    world.set("pwm_frequency_hz", 980.0)
    world.set("pwm_duty_pct", 16.0, connector_id=1)
    m = await until(ev.measure, lambda m: m.duty_pct == 16.0, within_s=2 * PERIOD_S + 0.3)
    assert (m.frequency_hz, m.current_limit_a) == (980.0, pytest.approx(9.6))

    world.set("pwm_duty_pct", 0.0, connector_id=1)  # the charger pulls CP to −12 V: state F, seen not set
    m = await until(ev.measure, lambda m: m.state == "F", within_s=2 * PERIOD_S + 0.3)
    assert (m.high_v, m.low_v, m.duty_pct, m.frequency_hz, m.current_limit_a) == (-12.0, -12.0, 0.0, 0.0, None)


async def test_fresh_frames_are_used_without_asking(ev: SerialEVEmulator, sim: SimSerialEV) -> None:
    await asyncio.sleep(3.5 * PERIOD_S)  # a few frames: the driver learns the period
    assert ev.frame_period_s == pytest.approx(PERIOD_S, abs=0.05)
    for _ in range(5):
        await ev.measure()
    assert "?" not in sim.commands


async def test_board_without_periodic_frames_is_asked(world: World) -> None:
    board = SimSerialEV(world, frame_period_s=None)
    await board.start()
    ev = SerialEVEmulator("ev", SerialEvSettings(port=board.port_name, timeout_s=TIMEOUT_S, retries=RETRIES))
    try:
        world.set("pwm_duty_pct", 25.0, connector_id=1)
        world.set("plugged_charger_side", True, connector_id=1)
        await ev.set_plug(True)
        await ev.set_cp_state("C")
        assert (await ev.measure()).current_limit_a == 15.0
        assert (await ev.measure()).state == "C"
        assert board.commands == ["P", "C", "?", "?"]
        assert ev.frame_period_s is None
    finally:
        await ev.close()
        await board.stop()


async def test_standard_setting_changes_the_current_reading(sim: SimSerialEV, world: World) -> None:
    world.set("plugged_charger_side", True, connector_id=1)
    world.set("pwm_duty_pct", 9.0, connector_id=1)
    readings = []
    for standard in ("iec", "sae"):  # one after the other: a serial port has one user at a time
        ev = SerialEVEmulator("ev", SerialEvSettings(port=sim.port_name, timeout_s=TIMEOUT_S, standard=standard))
        try:
            readings.append((await ev.measure()).current_limit_a)
        finally:
            await ev.close()
    assert readings == [6.0, None]


async def test_a_port_in_use_is_refused(ev: SerialEVEmulator, sim: SimSerialEV) -> None:
    await ev.set_cp_state("B")
    other = SerialEVEmulator("ev2", SerialEvSettings(port=sim.port_name, timeout_s=TIMEOUT_S))
    with pytest.raises(DriverError, match=rf"ev2: serial {sim.port_name}: cannot open: .*lock"):
        await other.connect()
    await other.close()
    await ev.set_cp_state("C")  # the first one is not disturbed


async def test_garbage_is_skipped_and_counted(ev: SerialEVEmulator, sim: SimSerialEV, world: World) -> None:
    await plugged_in(ev, world)
    await ev.set_cp_state("B")
    world.set("pwm_duty_pct", 50.0, connector_id=1)
    sim.garbage = True
    await asyncio.sleep(len(GARBAGE_LINES) * PERIOD_S + 0.05)  # every kind of garbage at least once
    m = await until(ev.measure, lambda m: m.duty_pct == 50.0, within_s=2 * PERIOD_S + 0.3)
    assert (m.state, m.current_limit_a) == ("B", 30.0)
    await ev.set_cp_state("C")  # commands still find their ack among the noise
    assert world.connector(1).ev_state == "C"
    sim.garbage = False
    result = await ev.self_test()  # its '?' comes back after every line sent before it
    assert sim.garbage_sent >= len(GARBAGE_LINES)
    assert result["malformed_lines"] == ev.malformed_lines == sim.garbage_sent
    assert result["measurement"]["state"] == "C"
    assert result["frames"] >= sim.garbage_sent


async def test_garbage_before_the_first_line_and_mid_line(world: World) -> None:
    sim = SimSerialEV(world, frame_period_s=None)  # no periodic frames: the lines below are the first
    await sim.start()
    ev = SerialEVEmulator("ev", SerialEvSettings(port=sim.port_name, timeout_s=TIMEOUT_S, retries=RETRIES))
    try:
        await ev.connect()
        # a line cut by the port opening (not counted), noise without LF far beyond a line, then CR-less LF
        sim.send(b"00,-12000,500,1000,B\r\n")
        sim.send(b"\xff" * 300)
        sim.send(b"\r\nM,6000,-12000,250,1000,C\n")
        await ev.set_plug(True)  # read in order: the lines above came first
        assert ev.malformed_lines == 1
        assert ev._latest is not None and ev._latest.frame == Frame(6000, -12000, 250, 1000, "C")
    finally:
        await ev.close()
        await sim.stop()


async def test_silent_board_gives_driver_error_in_bounded_time(ev: SerialEVEmulator, sim: SimSerialEV,
                                                               world: World) -> None:
    await ev.set_cp_state("B")
    sim.silent = True
    started = time.monotonic()
    with pytest.raises(DriverError) as caught:
        await ev.set_cp_state("C")
    assert time.monotonic() - started < BOUND_S
    err = caught.value
    assert (err.role, err.backend, err.address) == ("ev", "serial", sim.port_name)
    assert str(err) == (
        f"ev: serial {sim.port_name}: no answer to state C ('C'): 2 attempts of 0.2 s; last: no ack"
    )
    assert ev.steplog.steps[-1].error == str(err)
    assert world.connector(1).ev_state == "B"

    # no frames either: once the last one is too old, measure() asks and fails, all in bounded time
    started = time.monotonic()
    with pytest.raises(DriverError, match=rf"ev: serial {sim.port_name}: no answer to measure now \('\?'\)"):
        await until(ev.measure, lambda m: False, within_s=2 * PERIOD_S + 0.3)
    assert time.monotonic() - started < 2 * PERIOD_S + 0.3 + BOUND_S

    sim.silent = False  # the board answers again: so does the driver
    await ev.set_cp_state("C")
    assert (await ev.measure()).state == "A"  # plug still open: the socket shows A


async def test_absent_port_names_the_path(tmp_path: Path) -> None:
    path = str(tmp_path / "ttyACM9")
    ev = SerialEVEmulator("ev", SerialEvSettings(port=path, timeout_s=TIMEOUT_S))
    with pytest.raises(DriverError) as caught:
        await ev.connect()
    assert str(caught.value).startswith(f"ev: serial {path}: cannot open: ")
    assert path in caught.value.message  # pyserial names it too
    assert (caught.value.role, caught.value.backend, caught.value.address) == ("ev", "serial", path)
    with pytest.raises(DriverError, match="cannot open"):
        await ev.measure()
    await ev.close()  # never raises for a driver that never connected


@pytest.mark.parametrize(
    "command, arg, match",
    [
        ("set_cp_state", "F", "an EV cannot pull CP to −12 V"),
        ("set_cp_state", "b", "state"),
        ("set_cp_state", "G", "state"),
        ("set_pp_rating", 40, "amps"),
        ("set_pp_rating", True, "amps"),
        ("set_plug", "yes", "connected"),
        ("set_diode_fault", 2, "fault"),
    ],
)
async def test_bad_arguments_fail_before_any_io(tmp_path: Path, command: str, arg: object, match: str) -> None:
    # nothing at this path: a ValueError (not a DriverError) proves the check came first
    ev = SerialEVEmulator("ev", SerialEvSettings(port=str(tmp_path / "ttyACM9")))
    with pytest.raises(ValueError, match=match):
        await getattr(ev, command)(arg)
    assert ev.steplog.steps[-1].error is not None


@pytest.mark.parametrize(
    "kwargs, name",
    [({"standard": "gb"}, "standard"), ({"retries": -1}, "retries"), ({"timeout_s": 0}, "timeout_s"),
     ({"baudrate": 0}, "baudrate")],
)
def test_bad_settings_are_refused(kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        SerialEVEmulator("ev", SerialEvSettings(**{"port": "/dev/ttyACM0", **kwargs}))


async def test_safe_state_unplugs_and_clears_faults(ev: SerialEVEmulator, sim: SimSerialEV,
                                                    world: World) -> None:
    await ev.set_plug(True)
    await ev.set_cp_state("D")
    await ev.set_diode_fault(True)
    await ev.safe_state()
    c = world.connector(1)
    assert (c.plugged_ev_side, c.ev_state, c.diode_fault) == (False, "A", False)
    assert sim.commands[-3:] == ["p", "A", "x"]  # the plug opens first


async def test_safe_state_tries_everything_and_reports_the_first_error(ev: SerialEVEmulator,
                                                                       sim: SimSerialEV) -> None:
    del sim._handlers["A"]  # a board that does not know 'A'
    with pytest.raises(DriverError, match=r"the board refused 'A' \(answered '!A'\)"):
        await ev.safe_state()
    assert sim.commands[-3:] == ["p", "A", "x"]


async def test_refused_command_is_not_retried(ev: SerialEVEmulator, sim: SimSerialEV) -> None:
    del sim._handlers["X"]  # firmware without the diode relay
    started = time.monotonic()
    with pytest.raises(DriverError, match=rf"ev: serial {sim.port_name}: the board refused 'X'"):
        await ev.set_diode_fault(True)
    assert time.monotonic() - started < TIMEOUT_S
    assert sim.commands == ["X"]


async def test_self_test(ev: SerialEVEmulator, sim: SimSerialEV) -> None:
    await ev.set_pp_rating(13)
    await asyncio.sleep(3.5 * PERIOD_S)
    result = await ev.self_test()
    assert result["port"] == sim.port_name
    assert result["measurement"]["state"] == "A"
    assert result["board_state"] == "A"
    assert result["malformed_lines"] == 0
    assert result["frame_period_s"] == pytest.approx(PERIOD_S, abs=0.05)
    assert result["commanded"]["pp_rating_a"] == 13
    assert sim.commands[-1] == "?"


async def test_every_command_is_a_step(sim: SimSerialEV) -> None:
    log = StepLog()
    ev = SerialEVEmulator("ev", SerialEvSettings(port=sim.port_name, timeout_s=TIMEOUT_S), steplog=log)
    try:
        await ev.set_cp_state("B")
        await ev.measure()
    finally:
        await ev.close()
    records = [s.as_record() for s in log.steps]
    assert [r["command"] for r in records] == ["set_cp_state", "measure", "close"]
    assert records[0]["args"] == {"state": "B"}
    assert records[1]["result"]["state"] == "A"


async def test_close_and_reopen(ev: SerialEVEmulator, world: World) -> None:
    await ev.close()
    await ev.close()
    await asyncio.sleep(3 * PERIOD_S)  # the board keeps talking to nobody
    await ev.set_cp_state("D")  # opens again on demand
    assert world.connector(1).ev_state == "D"
    assert ev.malformed_lines == 0


async def test_unplugged_board_is_a_driver_error(ev: SerialEVEmulator, sim: SimSerialEV,
                                                 world: World) -> None:
    await ev.set_plug(True)
    await sim.stop()
    assert world.connector(1).plugged_ev_side is False  # the board's relays fell off
    started = time.monotonic()
    with pytest.raises(DriverError, match=rf"ev: serial {sim.port_name}: "):
        await ev.set_cp_state("B")
    assert time.monotonic() - started < BOUND_S


async def test_sim_speaks_the_protocol(sim: SimSerialEV, world: World) -> None:
    port = await asyncio.to_thread(serial.Serial, sim.port_name, 115200, timeout=1.0)

    def ask(data: bytes, lines: int = 1) -> list[bytes]:
        port.reset_input_buffer()
        port.write(data)
        answers: list[bytes] = []
        while len(answers) < lines:
            line = port.readline()
            assert line.endswith(b"\r\n"), line
            # periodic frames come at any time; the frame answering '?' comes right after its ack
            if not line.startswith(b"M,") or answers[-1:] == [b"?\r\n"]:
                answers.append(line)
        return answers

    try:
        assert await asyncio.to_thread(ask, b"B") == [b"B\r\n"]
        assert await asyncio.to_thread(ask, b"F") == [b"!F\r\n"]  # no EV can pull CP to -12 V
        assert await asyncio.to_thread(ask, b"\r\n P", 1) == [b"P\r\n"]  # CR, LF and space are ignored
        world.set("plugged_charger_side", True, connector_id=1)
        world.set("pwm_duty_pct", 53.3, connector_id=1)
        assert await asyncio.to_thread(ask, b"?", 2) == [b"?\r\n", b"M,9000,-12000,533,1000,B\r\n"]
        assert await asyncio.to_thread(ask, b"3z", 2) == [b"3\r\n", b"!z\r\n"]
        assert world.connector(1).pp_rating_a == 32
    finally:
        await asyncio.to_thread(port.close)


def test_parse_frame() -> None:
    assert parse_frame("M,9000,-12000,500,1000,B") == Frame(9000, -12000, 500, 1000, "B")
    assert parse_frame("M,-12000,-12000,0,0,F") == Frame(-12000, -12000, 0, 0, "F")
    for line in GARBAGE_LINES:
        text = line.decode("ascii", errors="replace").rstrip("\r\n")
        assert parse_frame(text) is None, text
    for bad in ("M,9000,-12000,500,1000,B,", " M,9000,-12000,500,1000,B", "M,9000,-12000,-1,1000,B",
                "M,9000,-12000,500,70000,B", "M,+9000,-12000,500,1000,B", "M,9000,-12000,500,1000,b"):
        assert parse_frame(bad) is None, bad


def test_sim_refuses_a_missing_connector_or_a_bad_period() -> None:
    with pytest.raises(ValueError, match="no connector 2"):
        SimSerialEV(World(), connector_id=2)
    with pytest.raises(ValueError, match="frame_period_s"):
        SimSerialEV(World(), frame_period_s=0)
