"""The card carousel over Modbus coil outputs, against a simulated carousel relay board on loopback TCP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from benchctl.bench import registry
from benchctl.config.schema import check_value
from drivers.errors import DriverError
from drivers.relay.modbus_coil import ModbusCoilOutput, ModbusCoilSettings
from drivers.rfid.carousel import CardCarousel, check_cards
from drivers.rfid.settings import CarouselSettings
from drivers.steplog import StepLog
from hil_sim.gear.card_carousel import CardCarouselGear, start_card_carousel
from hil_sim.world import World

CARD_A, CARD_B, CARD_C = "04A1B2C3", "045A8B126C8001", "DEADBEEF"
BOARD = {0: CARD_A, 1: CARD_B, 2: CARD_C}  # coil -> the card it holds
CARDS = {"04:a1:b2:c3": "card_a", "04 5a 8b 12 6c 80 01": "card_b", "deadbeef": "card_c"}  # as a config has it
FAST = {"timeout_s": 0.25, "retries": 0}  # one try


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def card_events(world: World) -> list[Any]:
    events: list[Any] = []
    world.subscribe(lambda name, value: events.append(value) if name == "card_uid" else None)
    return events


@pytest.fixture
async def board(world: World) -> AsyncIterator[CardCarouselGear]:
    gear = await start_card_carousel(world, BOARD)
    yield gear
    await gear.stop()


@pytest.fixture
async def outputs(board: CardCarouselGear) -> AsyncIterator[dict[str, ModbusCoilOutput]]:
    made = {f"card_{name}": ModbusCoilOutput(f"card_{name}", ModbusCoilSettings(host=board.host, port=board.port, device_id=1, coil=coil, **FAST), steplog=StepLog())
            for coil, name in enumerate("abc")}
    yield made
    for output in made.values():
        await output.close()


@pytest.fixture
async def carousel(outputs: dict[str, ModbusCoilOutput]) -> AsyncIterator[CardCarousel]:
    drv = CardCarousel("card", CarouselSettings(cards=CARDS), steplog=StepLog())
    drv.bind({"card": drv, "mains": object(), **outputs})  # type: ignore[dict-item]  # what the bench has
    await drv.connect()
    yield drv
    await drv.close()


async def coil_levels(outputs: dict[str, ModbusCoilOutput]) -> dict[str, bool]:
    return {role: await output.get() for role, output in outputs.items()}


async def test_present_puts_one_card_in_the_field(carousel: CardCarousel, board: CardCarouselGear,
                                                  outputs: dict[str, ModbusCoilOutput], world: World,
                                                  card_events: list[Any]) -> None:
    await carousel.present("04A1B2C3")
    assert world.card_uid == CARD_A
    assert await coil_levels(outputs) == {"card_a": True, "card_b": False, "card_c": False}
    await carousel.present("04:5A:8B:12:6C:80:01")  # a 7-byte card
    assert world.card_uid == CARD_B
    await carousel.present("DEADBEEF")  # an idTag that is a UID
    assert world.card_uid == CARD_C
    assert card_events == [CARD_A, None, CARD_B, None, CARD_C]  # each card left before the next came
    assert board.coils.max_in_field == 1 and board.coils.collisions == 0


async def test_card_switched_on_behind_its_back_leaves_first(carousel: CardCarousel, board: CardCarouselGear,
                                                             outputs: dict[str, ModbusCoilOutput],
                                                             world: World) -> None:
    await outputs["card_c"].set(True)  # someone energised card C by hand
    assert world.card_uid == CARD_C
    await carousel.present(CARD_A)
    assert world.card_uid == CARD_A
    assert board.coils.max_in_field == 1  # C went out before A came in


async def test_remove_and_safe_state_empty_the_field(carousel: CardCarousel, outputs: dict[str, ModbusCoilOutput],
                                                     world: World, card_events: list[Any]) -> None:
    await carousel.present(CARD_B)
    await carousel.remove()
    assert world.card_uid is None
    await carousel.present(CARD_A)
    await carousel.safe_state()
    assert world.card_uid is None
    assert await coil_levels(outputs) == {"card_a": False, "card_b": False, "card_c": False}
    assert card_events == [CARD_B, None, CARD_A, None]


async def test_hold_removes_by_itself(carousel: CardCarousel, world: World, card_events: list[Any]) -> None:
    t0 = time.monotonic()
    await carousel.present(CARD_A, hold_s=0.2)
    assert world.card_uid == CARD_A
    deadline = time.monotonic() + 2.0
    while world.card_uid is not None:
        assert time.monotonic() < deadline, "the card stayed"
        await asyncio.sleep(0.01)
    assert time.monotonic() - t0 >= 0.2
    assert card_events == [CARD_A, None]
    # the world changes before the device's answer reaches the driver and the step is logged
    deadline = time.monotonic() + 2.0
    while [s.command for s in carousel.steplog.steps] != ["present", "remove"]:
        assert time.monotonic() < deadline, [s.command for s in carousel.steplog.steps]
        await asyncio.sleep(0.01)


async def test_present_cancels_pending_hold(carousel: CardCarousel, world: World) -> None:
    await carousel.present(CARD_A, hold_s=0.15)
    await carousel.present(CARD_B)
    await asyncio.sleep(0.3)
    assert world.card_uid == CARD_B


async def test_swap_gap_keeps_the_field_empty_between_cards(outputs: dict[str, ModbusCoilOutput],
                                                            world: World) -> None:
    drv = CardCarousel("card", CarouselSettings(cards=CARDS, swap_gap_s=0.2))
    drv.bind(outputs)
    await drv.present(CARD_A)
    t0 = time.monotonic()
    await drv.present(CARD_B)
    assert time.monotonic() - t0 >= 0.2
    assert world.card_uid == CARD_B


async def test_unknown_uid_lists_the_cards(carousel: CardCarousel, board: CardCarouselGear, world: World) -> None:
    await carousel.present(CARD_A)
    with pytest.raises(ValueError) as info:
        await carousel.present("11223344")
    assert str(info.value) == ("the carousel holds no card 11223344; it holds 04A1B2C3 (on card_a), "
                               "045A8B126C8001 (on card_b), DEADBEEF (on card_c)")
    with pytest.raises(ValueError, match="4 or 7 bytes"):
        await carousel.present("04A1B2")
    with pytest.raises(ValueError, match="bench config's cards"):
        await carousel.present("CAROL")
    with pytest.raises(ValueError, match="hold_s"):
        await carousel.present(CARD_B, hold_s=-1)
    assert world.card_uid == CARD_A  # nothing was switched


async def test_self_test_reads_every_channel(carousel: CardCarousel, outputs: dict[str, ModbusCoilOutput]) -> None:
    assert (await carousel.self_test())["in_field"] is None
    await carousel.present(CARD_B)
    result = await carousel.self_test()
    assert result == {
        "cards": {CARD_A: {"role": "card_a", "on": False}, CARD_B: {"role": "card_b", "on": True},
                  CARD_C: {"role": "card_c", "on": False}},
        "in_field": CARD_B,
    }
    await outputs["card_c"].set(True)
    assert (await carousel.self_test())["in_field"] == [CARD_B, CARD_C]  # reported, not hidden


async def test_failing_channel_never_lets_a_second_card_in(carousel: CardCarousel, board: CardCarouselGear,
                                                           world: World) -> None:
    await carousel.present(CARD_A)
    board.silent = True  # the relay board hangs
    with pytest.raises(DriverError) as info:
        await carousel.present(CARD_B)
    assert info.value.role == "card_a"  # turning card A off failed, so card B never went in
    assert world.card_uid == CARD_A and board.coils.max_in_field == 1
    board.silent = False
    await carousel.present(CARD_B)
    assert world.card_uid == CARD_B


async def test_bind_names_a_missing_role(outputs: dict[str, ModbusCoilOutput]) -> None:
    drv = CardCarousel("card", CarouselSettings(cards=CARDS))
    partial = {"card": drv, "card_a": outputs["card_a"], "card_b": outputs["card_b"]}
    with pytest.raises(DriverError) as info:
        drv.bind(partial)  # type: ignore[arg-type]
    assert str(info.value) == (
        "card: carousel cards on card_a, card_b, card_c: card DEADBEEF sits on output role 'card_c', but this "
        "bench has no role 'card_c' (roles: card_a, card_b); add it as a digital output or fix `cards`"
    )
    with pytest.raises(DriverError, match="not bound yet"):
        await drv.present(CARD_A)  # an unbound carousel refuses, and says why
    with pytest.raises(DriverError, match="which is this carousel itself"):
        drv.bind({**outputs, "card_c": drv})  # type: ignore[dict-item]
    other = CardCarousel("reader", CarouselSettings(cards={CARD_A: "card_a"}))
    with pytest.raises(DriverError, match="CardCarousel, not a digital output"):
        drv.bind({**outputs, "card_c": other})  # type: ignore[dict-item]


def test_cards_setting_is_checked() -> None:
    assert check_cards(CARDS) is None
    assert check_cards({}) is not None
    assert check_cards({12345678: "card_a"}) == (
        "card UID 12345678 is not text; write it as a string of hex digits, e.g. '12345678': card_a"
    )
    assert check_cards({"04A1B2C3": "card_a", "04:a1:b2:c3": "card_b"}) == "card 04A1B2C3 is listed twice in cards"
    assert check_cards({CARD_A: "card_a", CARD_C: "card_a"}) == (
        "cards 04A1B2C3 and DEADBEEF both sit on output 'card_a'; a channel holds one card"
    )
    assert "4 or 7 bytes" in (check_cards({"04A1B2": "card_a"}) or "")
    assert "role name" in (check_cards({CARD_A: ""}) or "")
    with pytest.raises(ValueError, match="listed twice"):
        CardCarousel("card", CarouselSettings(cards={"04A1B2C3": "card_a", "04-A1-B2-C3": "card_b"}))


async def test_registry_entry_builds_and_binds(board: CardCarouselGear, outputs: dict[str, ModbusCoilOutput],
                                               world: World) -> None:
    spec = registry.spec("carousel")
    assert spec.kind == "rfid"
    with pytest.raises(ValueError, match="4 or 7 bytes"):
        check_value(spec.schema.fields["cards"], {"1234": "card_a"}, ValueError)  # type: ignore[arg-type]
    settings = {key: field.default for key, field in spec.schema.fields.items()}  # type: ignore[union-attr]
    settings["cards"] = CARDS
    drv = spec.build("card", settings, StepLog())
    assert isinstance(drv, CardCarousel)
    drv.bind({"card": drv, **outputs})  # what the bench does once every role is built
    await drv.present(CARD_C)
    assert world.card_uid == CARD_C
