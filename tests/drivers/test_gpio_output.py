"""The GPIO relay driver on the fake pin layer (the real driver code, no mocks), and RPiGPIOPins off a Pi."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from drivers.errors import DriverError, MissingExtraError
from drivers.gpio.pins import FakePins, RPiGPIOPins, fake_pins, pin_layer, reset_fake_pins
from drivers.relay.gpio import GPIOOutput
from drivers.relay.protocol import PowerSwitch
from drivers.relay.settings import GpioRelaySettings
from hil_sim.world import World

SLACK_S = 0.1  # scheduling slack allowed on top of a wait (a loaded CI machine)


@pytest.fixture
def chip(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fake chip of this test's own, forgotten afterwards."""
    name = f"test-{request.node.nodeid}"
    yield name
    reset_fake_pins(name)


@pytest.fixture
def fake(chip: str) -> FakePins:
    return fake_pins(chip)


@pytest.fixture
async def outputs(chip: str):
    """GPIOOutput drivers on the test's fake chip, closed after the test."""
    made: list[GPIOOutput] = []

    def make(role: str = "mains", pin: int = 17, **kwargs) -> GPIOOutput:
        output = GPIOOutput(role, GpioRelaySettings(pin=pin, pins="fake", chip=chip, **kwargs))
        made.append(output)
        return output

    yield make
    for output in made:
        await output.close()


def gap(fake: FakePins, pin: int, index: int) -> float:
    """Seconds between change `index - 1` and change `index` of a pin."""
    history = fake.history(pin)
    return history[index].at - history[index - 1].at


@pytest.mark.parametrize("invert", [False, True])
async def test_levels_with_invert(outputs, fake: FakePins, invert: bool) -> None:
    out = outputs(invert=invert)
    await out.set(True)
    assert fake.level(17) is (not invert)
    assert await out.get() is True
    await out.set(False)
    assert fake.level(17) is invert
    assert await out.get() is False
    assert await out.self_test() == {
        "pin": 17, "raw": invert, "level": False, "invert": invert, "safe_level": False,
        "safe_when_released": not invert,
    }


@pytest.mark.parametrize(
    "invert, safe_level, expected_raw",
    [(False, False, False), (False, True, True), (True, False, True), (True, True, False)],
)
async def test_connect_and_safe_state_drive_the_safe_level(
    outputs, fake: FakePins, invert: bool, safe_level: bool, expected_raw: bool
) -> None:
    out = outputs(invert=invert, safe_level=safe_level)
    await out.connect()
    # the pin is an output at the safe level from its very first moment
    assert [(w.kind, w.level) for w in fake.history(17)] == [("setup", expected_raw)]
    await out.set(not safe_level)
    assert fake.level(17) is (not expected_raw)
    await out.safe_state()
    assert fake.level(17) is expected_raw
    assert await out.get() is safe_level


async def test_first_use_connects(outputs, fake: FakePins) -> None:
    out = outputs()
    assert fake.level(17) is None
    await out.set(True)
    assert [(w.kind, w.level) for w in fake.history(17)] == [("setup", False), ("write", True)]


async def test_min_on_time_is_enforced(outputs, fake: FakePins) -> None:
    out = outputs(min_on_s=0.15)
    await out.set(True)
    started = time.monotonic()
    await out.set(False)  # too early: waits until the output has been on for 0.15 s
    assert time.monotonic() - started >= 0.1
    assert [w.level for w in fake.history(17)] == [False, True, False]
    assert 0.15 <= gap(fake, 17, 2) < 0.15 + SLACK_S


async def test_min_off_time_is_enforced_from_connect(outputs, fake: FakePins) -> None:
    out = outputs(min_off_s=0.1)
    await out.connect()  # off from here on; the pin's earlier history is unknown, so the clock starts now
    await out.set(True)
    assert 0.1 <= gap(fake, 17, 1) < 0.1 + SLACK_S
    await out.set(False)  # no minimum on time: immediate
    assert gap(fake, 17, 2) < SLACK_S
    await out.set(True)
    assert 0.1 <= gap(fake, 17, 3) < 0.1 + SLACK_S


async def test_no_wait_when_the_level_already_lasted(outputs, fake: FakePins) -> None:
    out = outputs(min_on_s=0.2, min_off_s=0.2)
    await out.connect()
    await asyncio.sleep(0.25)
    started = time.monotonic()
    await out.set(True)
    assert time.monotonic() - started < SLACK_S


async def test_same_level_neither_waits_nor_restarts_the_clock(outputs, fake: FakePins) -> None:
    out = outputs(min_on_s=0.3)
    await out.set(True)
    await asyncio.sleep(0.1)
    started = time.monotonic()
    await out.set(True)  # written again, at once
    assert time.monotonic() - started < SLACK_S
    await out.set(False)  # waits only for the rest of the 0.3 s counted from the first set(True)
    history = fake.history(17)
    assert [w.level for w in history] == [False, True, True, False]
    assert 0.3 <= history[3].at - history[1].at < 0.3 + SLACK_S


async def test_safe_state_honours_the_minimum(outputs, fake: FakePins) -> None:
    out = outputs(min_on_s=0.1)
    await out.set(True)
    await out.safe_state()
    assert fake.level(17) is False
    assert gap(fake, 17, 2) >= 0.1


async def test_concurrent_sets_are_serialised(outputs, fake: FakePins) -> None:
    out = outputs(min_on_s=0.1, min_off_s=0.1)
    await out.connect()
    await asyncio.gather(out.set(True), out.set(False), out.set(True))
    levels = [w.level for w in fake.history(17)]
    assert levels == [False, True, False, True]
    for index in (1, 2, 3):
        assert gap(fake, 17, index) >= 0.1


async def test_power_cycle_keeps_the_minimum_off_time(outputs, fake: FakePins) -> None:
    # the contactor needs 0.2 s off, the scenario asks for a 0.05 s power cycle: the relay wins
    mains = outputs(safe_level=True, min_off_s=0.2)
    switch = PowerSwitch(mains, off_time_s=0.05)
    await mains.connect()
    await switch.cycle()
    assert [w.level for w in fake.history(17)] == [True, False, True]
    assert gap(fake, 17, 2) >= 0.2
    assert [s.command for s in switch.steplog.steps] == ["connect", "set", "set", "cycle"]


@pytest.mark.parametrize("pin", [-1, 28, 40, True, "17", 17.0, None])
def test_invalid_pin_is_refused(pin: object) -> None:
    with pytest.raises(ValueError, match=f"pin must be a BCM GPIO number 0..27.*not {pin!r}"):
        GPIOOutput("mains", GpioRelaySettings(pin=pin, pins="fake"))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"invert": "yes"}, "invert"),
        ({"safe_level": 2}, "safe_level"),
        ({"min_on_s": -0.1}, "min_on_s"),
        ({"min_off_s": float("inf")}, "min_off_s"),
        ({"min_off_s": True}, "min_off_s"),
        ({"pins": "gpiod"}, "pins must be one of rpi, fake"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        GPIOOutput("mains", GpioRelaySettings(pin=17, **{"pins": "fake", **kwargs}))


async def test_bad_level_is_refused_before_touching_the_pin(outputs, fake: FakePins) -> None:
    out = outputs()
    with pytest.raises(ValueError, match="level"):
        await out.set("on")  # type: ignore[arg-type]
    assert fake.level(17) is None


@pytest.mark.parametrize("operation", ["connect", "set", "get", "safe_state", "self_test"])
async def test_broken_pin_gives_driver_error(outputs, fake: FakePins, operation: str) -> None:
    out = outputs("network", 22)
    if operation != "connect":
        await out.connect()
    fake.broken_pins.add(22)
    call = getattr(out, operation)
    with pytest.raises(DriverError) as caught:
        await (call(True) if operation == "set" else call())
    err = caught.value
    assert (err.role, err.backend, err.address) == ("network", "GPIO", "BCM22")
    assert "injected fault" in err.message
    assert str(err).startswith("network: GPIO BCM22: ")
    assert out.steplog.steps[-1].error == str(err)
    fake.broken_pins.clear()  # so the fixture can close it


async def test_failed_connect_can_be_retried(outputs, fake: FakePins) -> None:
    out = outputs()
    fake.broken_pins.add(17)
    with pytest.raises(DriverError, match="setup failed"):
        await out.connect()
    fake.broken_pins.clear()
    await out.set(True)
    assert fake.level(17) is True


async def test_close_releases_the_pin(outputs, fake: FakePins) -> None:
    out = outputs(invert=True, safe_level=True)  # safe = pin low, so releasing it changes nothing
    await out.set(True)
    await out.close()
    assert 17 not in fake.outputs
    assert fake.history(17)[-1].kind == "release"
    await out.close()  # already closed: no error, nothing happens
    assert len(fake.history(17)) == 3
    await out.set(False)  # reconnects
    assert fake.level(17) is True


async def test_close_waits_for_the_minimum_before_dropping_a_high_pin(outputs, fake: FakePins) -> None:
    out = outputs(min_on_s=0.1)
    await out.set(True)
    await out.close()  # releasing drops the relay: that is a switch like any other
    assert fake.history(17)[-1].kind == "release"
    assert gap(fake, 17, 2) >= 0.1


async def test_two_roles_cannot_drive_one_pin(outputs, fake: FakePins) -> None:
    mains, network = outputs("mains", 17), outputs("network", 17)
    await mains.connect()
    with pytest.raises(DriverError, match="network: GPIO BCM17: BCM17 is already used by role 'mains'"):
        await network.connect()
    await mains.close()
    await network.connect()  # free again


async def test_on_write_wires_pins_to_the_world(outputs, fake: FakePins) -> None:
    world = World()
    wiring = {17: "mains_on", 27: "network_up"}
    fake.on_write = lambda pin, level: world.set(wiring[pin], level)
    mains = outputs("mains", 17, invert=True, safe_level=True)  # normally-closed contact: released = on
    network = outputs("network", 27, safe_level=True)
    await mains.safe_state()
    await network.safe_state()
    assert (world.mains_on, world.network_up) == (False, True)  # the raw pin levels reach the world
    await mains.set(False)
    assert world.mains_on is True
    await network.close()
    assert world.network_up is False  # released: the board's pull-down drops the relay


async def test_steps_record_arguments_and_results(outputs) -> None:
    out = outputs()
    await out.set(True)
    assert await out.get() is True
    records = [(s.command, s.args, s.result) for s in out.steplog.steps]
    assert records == [("set", {"level": True}, None), ("get", {}, True)]


# RPiGPIOPins: the real pin layer, checked where it can be checked off a Pi

RPI_INSTALLED = importlib.util.find_spec("RPi") is not None


@pytest.mark.skipif(RPI_INSTALLED, reason="RPi.GPIO is installed here")
def test_rpi_pins_off_a_pi_name_the_extra() -> None:
    with pytest.raises(MissingExtraError) as caught:
        RPiGPIOPins()
    message = str(caught.value)
    assert "benchctl[gpio]" in message
    assert "rpi-lgpio" in message
    with pytest.raises(MissingExtraError, match=r"benchctl\[gpio\]"):
        pin_layer("rpi")
    with pytest.raises(MissingExtraError, match=r"benchctl\[gpio\]"):
        GPIOOutput("mains", GpioRelaySettings(pin=17))  # pins="rpi" is the default


@pytest.fixture
def stub_rpi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory that an `RPi` package written by the test is imported from; forgotten afterwards."""
    (tmp_path / "RPi").mkdir()
    (tmp_path / "RPi" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("RPi", "RPi.GPIO"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    yield tmp_path / "RPi"
    for name in ("RPi.GPIO", "RPi"):
        sys.modules.pop(name, None)


def test_rpi_gpio_that_refuses_this_machine(stub_rpi: Path) -> None:
    # RPi.GPIO and rpi-lgpio raise RuntimeError at import on a machine that is not a Raspberry Pi
    (stub_rpi / "GPIO.py").write_text("raise RuntimeError('This module can only be run on a Raspberry Pi!')\n")
    with pytest.raises(RuntimeError, match="installed but does not load here.*only be run on a Raspberry Pi"):
        RPiGPIOPins()


def test_rpi_pins_use_the_rpi_gpio_api(stub_rpi: Path) -> None:
    # a stand-in for the library that records the calls, to check the API use: BCM, warnings off, and a
    # cleanup that names our pins (a bare GPIO.cleanup() would release every pin of the process)
    (stub_rpi / "GPIO.py").write_text(
        "BCM, BOARD, OUT, IN, HIGH, LOW = 11, 10, 0, 1, 1, 0\n"
        "calls = []\n"
        "levels = {}\n"
        "def setwarnings(flag): calls.append(('setwarnings', flag))\n"
        "def setmode(mode): calls.append(('setmode', mode))\n"
        "def setup(pin, direction, initial=None):\n"
        "    calls.append(('setup', pin, direction, initial)); levels[pin] = initial\n"
        "def output(pin, level): calls.append(('output', pin, level)); levels[pin] = level\n"
        "def input(pin): return levels[pin]\n"
        "def cleanup(chanlist=None): calls.append(('cleanup', chanlist))\n"
    )
    pins = RPiGPIOPins()
    gpio = sys.modules["RPi.GPIO"]
    assert gpio.calls == []  # nothing touches the chip before the first setup
    pins.setup_output(17, True)
    pins.write(17, False)
    assert pins.read(17) is False
    pins.cleanup([])
    pins.cleanup([17])
    assert gpio.calls == [
        ("setwarnings", False), ("setmode", 11), ("setup", 17, 0, 1), ("output", 17, 0), ("cleanup", [17]),
    ]
