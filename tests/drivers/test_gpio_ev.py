"""The GPIO EV emulator (relays switching CP/PP resistors and the plug) on the fake pin layer, no mocks."""

from __future__ import annotations

import itertools
import re
from typing import Iterator

import pytest

from drivers.errors import DriverError
from drivers.evse_tester import iec61851
from drivers.evse_tester.gpio import CP_RELAYS, GPIOEVEmulator
from drivers.evse_tester.settings import GpioEvSettings
from drivers.gpio.pins import FakePins, fake_pins, reset_fake_pins
from drivers.relay.gpio import GPIOOutput
from drivers.relay.settings import GpioRelaySettings
from hil_sim.world import World

PLUG, B, C, D, E, DIODE = 5, 6, 13, 19, 26, 20
PP = {13: 21, 20: 22, 32: 23, 63: 24}
CP_PINS = {"b": B, "c": C, "d": D, "e": E}
FULL = dict(plug_pin=PLUG, state_b_pin=B, state_c_pin=C, state_d_pin=D, state_e_pin=E, diode_fault_pin=DIODE,
            pp_pins=PP)
MINIMAL = dict(plug_pin=PLUG, state_b_pin=B, state_c_pin=C)
ADDRESS = "BCM plug=5 b=6 c=13 d=19 e=26 diode_fault=20 pp13=21 pp20=22 pp32=23 pp63=24"


@pytest.fixture
def chip(request: pytest.FixtureRequest) -> Iterator[str]:
    name = f"test-{request.node.nodeid}"
    yield name
    reset_fake_pins(name)


@pytest.fixture
def fake(chip: str) -> FakePins:
    return fake_pins(chip)


@pytest.fixture
async def make_ev(chip: str):
    made: list[GPIOEVEmulator] = []

    def make(**kwargs) -> GPIOEVEmulator:
        ev = GPIOEVEmulator("ev", GpioEvSettings(**{**FULL, **kwargs}, pins="fake", chip=chip))
        made.append(ev)
        return ev

    yield make
    for ev in made:
        await ev.close()


def closed_cp(fake: FakePins, invert: bool = False) -> set[str]:
    return {relay for relay, pin in CP_PINS.items() if fake.level(pin) is not None and fake.level(pin) != invert}


@pytest.mark.parametrize("invert", [False, True])
@pytest.mark.parametrize("state, relays", [("A", set()), ("B", {"b"}), ("C", {"b", "c"}), ("D", {"b", "d"}),
                                          ("E", {"e"})])
async def test_each_state_closes_its_resistors(make_ev, fake: FakePins, state: str, relays: set, invert: bool) -> None:
    ev = make_ev(invert=invert)
    await ev.set_cp_state("C")  # start from somewhere else
    await ev.set_cp_state(state)
    assert closed_cp(fake, invert) == relays
    result = await ev.self_test()
    assert result["cp_state"] == state
    assert result["cp_relays"] == sorted(relays)


async def test_connect_opens_everything(make_ev, fake: FakePins) -> None:
    await make_ev().connect()
    assert {w.pin: (w.kind, w.level) for w in fake.writes} == {
        pin: ("setup", False) for pin in (PLUG, B, C, D, E, DIODE, *PP.values())
    }


async def test_connect_with_invert_drives_every_pin_high(make_ev, fake: FakePins) -> None:
    await make_ev(invert=True).connect()
    assert all(w.level is True for w in fake.writes)


def states_seen(fake: FakePins) -> list[str | None]:
    """The CP state after every write, as the charger would see it (None: no state has that combination)."""
    seen: list[str | None] = []

    def record(pin: int, level: bool) -> None:
        cp = frozenset(closed_cp(fake))
        seen.append("E" if "e" in cp else next((s for s, r in CP_RELAYS.items() if r == cp), None))

    fake.on_write = record
    return seen


@pytest.mark.parametrize("start, target", list(itertools.permutations("BCDE", 2)))
async def test_switching_never_passes_through_a_or_an_invalid_combination(
    make_ev, fake: FakePins, start: str, target: str
) -> None:
    ev = make_ev()
    await ev.set_plug(True)
    await ev.set_cp_state(start)
    seen = states_seen(fake)
    await ev.set_cp_state(target)
    assert seen[-1] == target
    assert "A" not in seen and None not in seen
    assert set(seen) <= {start, target, "B"}  # at most a moment in B, as a real EV would pass


async def test_b_to_c_and_back_are_single_relay_moves(make_ev, fake: FakePins) -> None:
    ev = make_ev()
    await ev.set_cp_state("B")
    seen = states_seen(fake)
    await ev.set_cp_state("C")
    await ev.set_cp_state("B")
    assert set(seen) == {"B", "C"} and seen[-1] == "B"


async def test_plug(make_ev, fake: FakePins) -> None:
    ev = make_ev()
    await ev.set_plug(True)
    assert fake.level(PLUG) is True
    assert (await ev.self_test())["plug_closed"] is True
    await ev.set_plug(False)
    assert fake.level(PLUG) is False
    with pytest.raises(ValueError, match="connected"):
        await ev.set_plug("yes")  # type: ignore[arg-type]


async def test_diode_fault(make_ev, fake: FakePins) -> None:
    ev = make_ev()
    await ev.set_diode_fault(True)
    assert fake.level(DIODE) is True
    assert (await ev.self_test())["diode_fault"] is True
    await ev.set_diode_fault(False)
    assert fake.level(DIODE) is False


async def test_pp_rating_breaks_before_it_makes(make_ev, fake: FakePins) -> None:
    ev = make_ev()
    await ev.set_pp_rating(13)
    seen: list[list[int]] = []
    fake.on_write = lambda pin, level: seen.append([a for a, p in PP.items() if fake.level(p)])
    for amps in (20, 32, 63, 13):
        await ev.set_pp_rating(amps)
        assert [a for a, p in PP.items() if fake.level(p)] == [amps]
        assert (await ev.self_test())["pp_rating_a"] == amps
    assert all(len(closed) <= 1 for closed in seen)  # never two PP resistors in parallel


async def test_pp_rating_selected_at_connect(make_ev, fake: FakePins) -> None:
    ev = make_ev(pp_rating_a=32)
    await ev.connect()
    assert [a for a, p in PP.items() if fake.level(p)] == [32]


@pytest.mark.parametrize("amps", [16, 0, True, "32A"])
async def test_pp_rating_not_a_type2_rating(make_ev, amps: object) -> None:
    with pytest.raises(ValueError, match="amps must be one of 13, 20, 32, 63"):
        await make_ev().set_pp_rating(amps)  # type: ignore[arg-type]


async def test_pp_rating_without_its_pin(make_ev, fake: FakePins) -> None:
    ev = make_ev(pp_pins={32: 23})
    with pytest.raises(DriverError, match=r"a 20 A cable needs pp_pins\[20\] \(a relay switching 680 Ω\); "
                                          r"pp_pins has: 32 A"):
        await ev.set_pp_rating(20)
    bare = make_ev(**MINIMAL, pp_pins=None)
    with pytest.raises(DriverError, match=r"pp_pins\[63\].*pp_pins has: none"):
        await bare.set_pp_rating(63)


@pytest.mark.parametrize("state, setting", [("D", "state_d_pin"), ("E", "state_e_pin")])
async def test_state_needing_an_absent_relay(make_ev, fake: FakePins, state: str, setting: str) -> None:
    ev = make_ev(**{setting: None})
    await ev.set_cp_state("C")
    with pytest.raises(DriverError) as caught:
        await ev.set_cp_state(state)
    assert (caught.value.role, caught.value.backend) == ("ev", "GPIO")
    assert f"state {state} needs a relay" in caught.value.message
    assert f"{setting} is not set" in caught.value.message
    assert closed_cp(fake) == {"b", "c"}  # nothing was touched


async def test_minimal_emulator(make_ev, fake: FakePins) -> None:
    ev = make_ev(**{k: None for k in FULL if k not in MINIMAL})
    assert ev.address == "BCM plug=5 b=6 c=13"
    for state in "ABCBA":
        await ev.set_cp_state(state)
    await ev.set_diode_fault(False)  # no relay, nothing to do: the diode is intact
    with pytest.raises(DriverError, match="diode_fault_pin is not set"):
        await ev.set_diode_fault(True)
    await ev.safe_state()
    assert (await ev.self_test())["diode_fault"] is False


async def test_state_f_is_refused(make_ev, fake: FakePins) -> None:
    ev = make_ev()
    with pytest.raises(ValueError, match="state F cannot be set by an EV.*−12 V"):
        await ev.set_cp_state("F")
    with pytest.raises(ValueError, match="state must be one of A, B, C, D, E, F, not 'X'"):
        await ev.set_cp_state("X")
    assert fake.writes == []  # refused before connecting


async def test_measure_is_not_available(make_ev) -> None:
    ev = make_ev()
    with pytest.raises(DriverError) as caught:
        await ev.measure()
    assert caught.value.address == ADDRESS
    assert "cannot measure" in caught.value.message
    assert "pair it with a measuring instrument" in caught.value.message
    assert ev.steplog.steps[-1].command == "measure"
    assert ev.steplog.steps[-1].error == str(caught.value)
    assert (await ev.self_test())["can_measure"] is False


async def test_safe_state(make_ev, fake: FakePins) -> None:
    ev = make_ev(pp_rating_a=20)
    await ev.set_cp_state("C")
    await ev.set_plug(True)
    await ev.set_diode_fault(True)
    fake.writes.clear()
    await ev.safe_state()
    assert fake.writes[0].pin == PLUG and fake.writes[0].level is False  # the EV leaves first
    assert fake.level(PLUG) is False
    assert closed_cp(fake) == set()
    assert fake.level(DIODE) is False
    assert fake.level(PP[20]) is True  # the cable rating stays; it is behind the open plug
    result = await ev.self_test()
    assert (result["plug_closed"], result["cp_state"], result["diode_fault"]) == (False, "A", False)


async def test_safe_state_from_e(make_ev, fake: FakePins) -> None:
    ev = make_ev()
    await ev.set_cp_state("E")
    await ev.safe_state()
    assert closed_cp(fake) == set()


async def test_safe_state_goes_on_past_a_broken_relay(make_ev, fake: FakePins) -> None:
    ev = make_ev()
    await ev.set_cp_state("C")
    await ev.set_plug(True)
    await ev.set_diode_fault(True)
    fake.broken_pins.add(PLUG)
    with pytest.raises(DriverError, match=r"plug_pin \(BCM5\): write failed"):
        await ev.safe_state()
    assert closed_cp(fake) == set()
    assert fake.level(DIODE) is False
    fake.broken_pins.clear()


@pytest.mark.parametrize("pin, setting", [(B, "state_b_pin"), (E, "state_e_pin"), (PP[32], r"pp_pins\[32\]")])
async def test_broken_pin_gives_driver_error(make_ev, fake: FakePins, pin: int, setting: str) -> None:
    ev = make_ev()
    await ev.connect()
    fake.broken_pins.add(pin)
    action = ev.set_pp_rating(32) if "pp" in setting else ev.set_cp_state("B" if pin == B else "E")
    with pytest.raises(DriverError) as caught:
        await action
    err = caught.value
    assert (err.role, err.backend, err.address) == ("ev", "GPIO", ADDRESS)
    assert str(err).startswith(f"ev: GPIO {ADDRESS}: ")
    assert "injected fault" in err.message
    assert re.match(rf"{setting} \(BCM{pin}\): write failed", err.message)
    fake.broken_pins.clear()


async def test_broken_pin_at_connect_releases_what_was_set_up(make_ev, fake: FakePins) -> None:
    ev = make_ev()
    fake.broken_pins.add(C)
    with pytest.raises(DriverError, match=r"state_c_pin \(BCM13\): setup failed"):
        await ev.connect()
    assert fake.outputs == set()  # plug and b were set up, then released again
    fake.broken_pins.clear()
    await ev.set_cp_state("B")  # and the pins are not left claimed
    assert closed_cp(fake) == {"b"}


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"plug_pin": 28}, "plug_pin must be a BCM GPIO number 0..27"),
        ({"state_b_pin": None}, "state_b_pin must be a BCM GPIO number"),
        ({"state_d_pin": -1}, "state_d_pin"),
        ({"state_c_pin": PLUG}, "state_c_pin and plug_pin are both BCM5"),
        ({"pp_pins": {32: B}}, r"pp_pins\[32\] and state_b_pin are both BCM6"),
        ({"pp_pins": {16: 23}}, "a pp_pins rating must be one of 13, 20, 32, 63"),
        ({"pp_pins": {32: 99}}, r"pp_pins\[32\] must be a BCM GPIO number"),
        ({"pp_pins": [23]}, "pp_pins must map a cable rating"),
        ({"pp_pins": {32: 23, "32": 24}}, "pp_pins names 32 A twice"),
        ({"pp_rating_a": 63, "pp_pins": {32: 23}}, "pp_rating_a is 63 but pp_pins has no pin for 63 A"),
        ({"invert": "no"}, "invert"),
        ({"pins": "sysfs"}, "pins must be one of rpi, fake"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        GPIOEVEmulator("ev", GpioEvSettings(**{**FULL, "pins": "fake", **kwargs}))


def test_quoted_pp_ratings_are_accepted(chip: str) -> None:
    ev = GPIOEVEmulator("ev", GpioEvSettings(**{**MINIMAL, "pp_pins": {"32": 23}}, pins="fake", chip=chip))
    assert ev.pp_pins == {32: 23}


async def test_close_releases_every_pin_and_the_claims(make_ev, fake: FakePins, chip: str) -> None:
    ev = make_ev()
    await ev.set_cp_state("C")
    relay = GPIOOutput("cable", GpioRelaySettings(pin=B, pins="fake", chip=chip))
    with pytest.raises(DriverError, match="BCM6 is already used by role 'ev'"):
        await relay.connect()
    await ev.close()
    assert fake.outputs == set()
    assert closed_cp(fake) == set()  # released pins settle at the pull-down level: every relay open
    await relay.connect()
    await relay.close()
    await ev.close()  # already closed


async def test_drives_the_simulated_world(make_ev, fake: FakePins) -> None:
    """The simulator's way in: on_write turns relay levels into the World the simulated charger reads."""
    world = World()
    world.set("plugged_charger_side", True, connector_id=1)

    def wire(pin: int, level: bool) -> None:
        if pin == PLUG:
            world.set("plugged_ev_side", level, connector_id=1)
        elif pin == DIODE:
            world.set("diode_fault", level, connector_id=1)
        elif pin in PP.values() and level:
            world.set("pp_rating_a", next(a for a, p in PP.items() if p == pin), connector_id=1)
        cp = frozenset(closed_cp(fake))
        state = "E" if "e" in cp else next((s for s, r in CP_RELAYS.items() if r == cp), None)
        if state is not None:
            world.set("ev_state", state, connector_id=1)

    fake.on_write = wire
    ev = make_ev()
    connector = world.connector(1)
    await ev.set_cp_state("B")
    await ev.set_plug(True)
    await ev.set_pp_rating(20)
    for state in "CDBE":
        await ev.set_cp_state(state)
        assert connector.cp_state() == state
        assert connector.cp_voltages()[0] == iec61851.state_to_cp_voltage(state)
    await ev.set_cp_state("C")
    await ev.set_diode_fault(True)
    assert connector.cp_state() == "F"  # the charger reports the missing diode as an error
    assert connector.pp_rating_a == 20
    await ev.safe_state()
    assert connector.cp_state() == "A" and not connector.plugged_ev_side
