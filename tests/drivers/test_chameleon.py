"""The ChameleonMini driver against the simulated presenter, over a real pseudo-terminal."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import serial

from drivers.errors import DriverError
from drivers.rfid.chameleon import ChameleonPresenter
from drivers.rfid.settings import ChameleonSettings
from drivers.steplog import StepLog
from hil_sim.gear.rfid_presenter import SimPresenter
from hil_sim.world import World

TIMEOUT_S = 0.2
RETRIES = 1


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def card_events(world: World) -> list[Any]:
    events: list[Any] = []
    world.subscribe(lambda name, value: events.append(value) if name == "card_uid" else None)
    return events


@pytest.fixture
async def sim(world: World) -> AsyncIterator[SimPresenter]:
    presenter = SimPresenter(world)
    await presenter.start()
    yield presenter
    await presenter.stop()


@pytest.fixture
async def driver(sim: SimPresenter) -> AsyncIterator[ChameleonPresenter]:
    drv = ChameleonPresenter("card", ChameleonSettings(port=sim.port_name, timeout_s=TIMEOUT_S, retries=RETRIES), steplog=StepLog())
    await drv.connect()
    yield drv
    await drv.close()


async def wait_for_card(world: World, uid: str | None, within_s: float = 2.0) -> None:
    deadline = time.monotonic() + within_s
    while world.card_uid != uid:
        assert time.monotonic() < deadline, f"card_uid stayed {world.card_uid!r}, expected {uid!r}"
        await asyncio.sleep(0.01)


async def test_present_4_byte_uid(driver: ChameleonPresenter, sim: SimPresenter, world: World,
                                  card_events: list[Any]) -> None:
    await driver.present("04:a1:b2:c3")
    assert world.card_uid == "04A1B2C3"
    assert card_events == ["04A1B2C3"]
    assert sim.config == "MF_CLASSIC_1K"
    assert sim.commands == ["CONFIG=MF_CLASSIC_1K", "UID=04A1B2C3", "UID?"]


async def test_present_7_byte_uid(driver: ChameleonPresenter, sim: SimPresenter, world: World) -> None:
    await driver.present("04 5a 8b 12 6c 80 01")
    assert world.card_uid == "045A8B126C8001"
    assert sim.config == "MF_ULTRALIGHT"


async def test_present_hex_id_tag(driver: ChameleonPresenter, world: World) -> None:
    await driver.present("deadbeef")
    assert world.card_uid == "DEADBEEF"


async def test_remove_and_safe_state(driver: ChameleonPresenter, sim: SimPresenter, world: World,
                                     card_events: list[Any]) -> None:
    await driver.present("04A1B2C3")
    await driver.remove()
    assert world.card_uid is None
    assert sim.config == "NONE"
    await driver.present("045A8B126C8001")
    await driver.safe_state()
    assert world.card_uid is None
    assert card_events == ["04A1B2C3", None, "045A8B126C8001", None]


async def test_second_present_replaces_the_card(driver: ChameleonPresenter, world: World,
                                                card_events: list[Any]) -> None:
    await driver.present("04A1B2C3")
    await driver.present("11223344")
    assert world.card_uid == "11223344"
    assert card_events == ["04A1B2C3", None, "11223344"]  # the first card left the field first


async def test_hold_removes_by_itself(driver: ChameleonPresenter, world: World,
                                      card_events: list[Any]) -> None:
    t0 = time.monotonic()
    await driver.present("04A1B2C3", hold_s=0.2)
    assert world.card_uid == "04A1B2C3"  # present returns while the card is held
    await wait_for_card(world, None)
    assert time.monotonic() - t0 >= 0.2
    assert card_events == ["04A1B2C3", None]
    # the world changes before the device's answer reaches the driver and the step is logged
    deadline = time.monotonic() + 2.0
    while [s.command for s in driver.steplog.steps] != ["present", "remove"]:
        assert time.monotonic() < deadline, [s.command for s in driver.steplog.steps]
        await asyncio.sleep(0.01)


async def test_remove_cancels_pending_hold(driver: ChameleonPresenter, sim: SimPresenter,
                                           world: World) -> None:
    await driver.present("04A1B2C3", hold_s=0.15)
    await driver.present("11223344")  # no hold: stays
    await asyncio.sleep(0.3)
    assert world.card_uid == "11223344"
    assert sim.commands.count("CONFIG=NONE") == 0


async def test_self_test_returns_version(driver: ChameleonPresenter) -> None:
    result = await driver.self_test()
    assert result["version"].startswith("ChameleonMini")
    assert result["config"] == "NONE"


async def test_steps_are_logged(driver: ChameleonPresenter) -> None:
    await driver.present("04:A1:B2:C3")
    step = driver.steplog.steps[-1]
    assert (step.role, step.command, step.error) == ("card", "present", None)
    assert step.args == {"uid": "04:A1:B2:C3"}


async def test_connect_twice_and_close_twice(driver: ChameleonPresenter) -> None:
    await driver.connect()
    await driver.close()
    await driver.close()
    await driver.present("04A1B2C3")  # reconnects on demand


async def test_absent_port_names_the_path(tmp_path: Any) -> None:
    path = str(tmp_path / "ttyUSB9")
    drv = ChameleonPresenter("card", ChameleonSettings(port=path))
    with pytest.raises(DriverError) as info:
        await drv.connect()
    assert str(info.value).startswith(f"card: serial {path}: cannot open: ")
    assert (info.value.role, info.value.backend, info.value.address) == ("card", "serial", path)
    await drv.close()


async def test_silent_device_fails_in_bounded_time(driver: ChameleonPresenter, sim: SimPresenter) -> None:
    sim.silent = True
    t0 = time.monotonic()
    with pytest.raises(DriverError) as info:
        await driver.present("04A1B2C3")
    elapsed = time.monotonic() - t0
    assert elapsed < (RETRIES + 1) * TIMEOUT_S + 0.5
    message = str(info.value)
    assert message.startswith(f"card: serial {sim.port_name}: ")
    assert "no answer to CONFIG=MF_CLASSIC_1K" in message
    assert driver.steplog.steps[-1].error == message
    # the device comes back: the driver talks again
    sim.silent = False
    await driver.present("04A1B2C3")


async def test_bad_uid_raises_before_any_io(tmp_path: Any, sim: SimPresenter) -> None:
    nowhere = ChameleonPresenter("card", ChameleonSettings(port=str(tmp_path / "ttyUSB9")))
    for bad in ("04A1B2", "04:A1:B2:ZZ", "", "CAROL"):
        with pytest.raises(ValueError):
            await nowhere.present(bad)  # a DriverError here would mean it tried to open the port
    connected = ChameleonPresenter("card", ChameleonSettings(port=sim.port_name, timeout_s=TIMEOUT_S))
    await connected.connect()
    try:
        with pytest.raises(ValueError, match="4 or 7 bytes"):
            await connected.present("04A1B2C3D4")
        with pytest.raises(ValueError, match="bench config's cards"):
            await connected.present("CAROL")
        with pytest.raises(ValueError, match="hold_s"):
            await connected.present("04A1B2C3", hold_s=-1)
    finally:
        await connected.close()
    assert sim.commands == []


async def test_error_answer_names_command_and_answer(driver: ChameleonPresenter) -> None:
    with pytest.raises(DriverError) as info:
        await driver._command("UID=0102")  # no card configured: UID size 0
    assert "UID=0102 answered '202:INVALID PARAMETER'" in str(info.value)


async def test_sim_speaks_like_the_device(sim: SimPresenter) -> None:
    port = await asyncio.to_thread(serial.Serial, sim.port_name, 115200, timeout=1.0)

    def ask(line: bytes, lines: int = 1) -> list[bytes]:
        port.write(line)
        return [port.readline() for _ in range(lines)]

    try:
        assert await asyncio.to_thread(ask, b"FOO?\r\n") == [b"200:UNKNOWN COMMAND\r\n"]
        assert await asyncio.to_thread(ask, b"VERSION=1\r") == [b"201:INVALID COMMAND USAGE\r\n"]
        assert await asyncio.to_thread(ask, b"config=MF_NOPE\r\n") == [b"202:INVALID PARAMETER\r\n"]
        assert await asyncio.to_thread(ask, b"uid?\r\n", 2) == [b"101:OK WITH TEXT\r\n", b"NO UID.\r\n"]
        # lower case, ':' ignored, backspace and ESC edit the line, as on the device
        assert await asyncio.to_thread(ask, b"junk\x1bconfig=mf_classic_1kX\x08\r") == [b"100:OK\r\n"]
        assert await asyncio.to_thread(ask, b"uid=04:a1:b2:c3\r") == [b"100:OK\r\n"]
        assert await asyncio.to_thread(ask, b"UIDSIZE?\r", 2) == [b"101:OK WITH TEXT\r\n", b"4\r\n"]
        assert sim.world.card_uid == "04A1B2C3"
    finally:
        await asyncio.to_thread(port.close)


async def test_unplugged_device_is_a_driver_error(driver: ChameleonPresenter, sim: SimPresenter,
                                                  world: World) -> None:
    await driver.present("04A1B2C3")
    await sim.stop()
    assert world.card_uid is None  # the emulator is off
    t0 = time.monotonic()
    with pytest.raises(DriverError) as info:
        await driver.remove()
    assert time.monotonic() - t0 < (RETRIES + 1) * TIMEOUT_S + 0.5
    assert str(info.value).startswith(f"card: serial {sim.port_name}: CONFIG=NONE")
