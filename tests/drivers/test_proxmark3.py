"""The Proxmark3 driver running the fake Proxmark3 client as a real child process, against the simulated device."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from benchctl.bench import registry
from drivers.errors import DriverError
from drivers.rfid.proxmark3 import Proxmark3Presenter, parse_hw_version
from drivers.rfid.settings import Proxmark3Settings
from drivers.steplog import StepLog
from hil_sim.gear.proxmark3 import SimProxmark3
from hil_sim.world import World

TIMEOUT_S = 3.0
GRACE_S = 0.3

@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def card_events(world: World) -> list[Any]:
    events: list[Any] = []
    world.subscribe(lambda name, value: events.append(value) if name == "card_uid" else None)
    return events


@pytest.fixture
async def sim(world: World) -> AsyncIterator[SimProxmark3]:
    device = SimProxmark3(world)
    await device.start()
    yield device
    await device.stop()


@pytest.fixture
async def make(sim: SimProxmark3) -> AsyncIterator[Any]:
    """Drivers made by a test; each is closed afterwards and must have left no child behind."""
    made: list[Proxmark3Presenter] = []

    def factory(**kwargs: Any) -> Proxmark3Presenter:
        settings = {"port": sim.port, "client": sim.client_command, "timeout_s": TIMEOUT_S,
                    "stop_grace_s": GRACE_S, **kwargs}
        drv = Proxmark3Presenter("card", Proxmark3Settings(**settings), steplog=StepLog())
        made.append(drv)
        return drv

    yield factory
    for drv in made:
        await drv.close()
        assert drv.sim_pid is None


@pytest.fixture
def driver(make: Any) -> Proxmark3Presenter:
    return make()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def wait_until(condition: Any, within_s: float = 3.0, what: str = "condition") -> None:
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, f"{what} not met within {within_s} s"
        await asyncio.sleep(0.01)


async def test_present_4_byte_uid(driver: Proxmark3Presenter, sim: SimProxmark3, world: World,
                                  card_events: list[Any]) -> None:
    await driver.present("04:a1:b2:c3")
    assert world.card_uid == "04A1B2C3"
    assert card_events == ["04A1B2C3"]
    assert sim.emulations == [("04A1B2C3", 1)]  # MIFARE Classic 1k
    assert sim.commands == ["hf 14a sim -t 1 -u 04A1B2C3"]
    assert driver.presented_uid == "04A1B2C3"
    pid = driver.sim_pid
    assert pid is not None and alive(pid)  # the card is in the field while the client runs


async def test_present_7_byte_uid_with_client_as_a_string(make: Any, sim: SimProxmark3, world: World) -> None:
    driver = make(client=sim.client)  # one string, split like a shell would
    await driver.present("04 5a 8b 12 6c 80 01")
    assert world.card_uid == "045A8B126C8001"
    assert sim.emulations == [("045A8B126C8001", 2)]  # MIFARE Ultralight
    assert sim.commands == ["hf 14a sim -t 2 -u 045A8B126C8001"]


async def test_remove_ends_the_child_and_the_emulation(driver: Proxmark3Presenter, sim: SimProxmark3,
                                                       world: World, card_events: list[Any]) -> None:
    await driver.present("04A1B2C3")
    pid = driver.sim_pid
    assert pid is not None
    await driver.remove()
    assert not alive(pid)
    assert driver.sim_pid is None and driver.presented_uid is None
    assert world.card_uid is None
    assert card_events == ["04A1B2C3", None]
    # SIGINT says nothing to the device: it is `hw break` that ends the device's emulation loop
    assert sim.commands == ["hf 14a sim -t 1 -u 04A1B2C3", "hw break"]


async def test_second_present_replaces_the_card(driver: Proxmark3Presenter, world: World,
                                                card_events: list[Any]) -> None:
    await driver.present("04A1B2C3")
    first = driver.sim_pid
    await driver.present("11223344")
    assert first is not None and not alive(first)
    assert driver.sim_pid != first
    assert world.card_uid == "11223344"
    assert card_events == ["04A1B2C3", None, "11223344"]  # the first card left the field first


async def test_hold_removes_by_itself(driver: Proxmark3Presenter, world: World, card_events: list[Any]) -> None:
    t0 = time.monotonic()
    await driver.present("04A1B2C3", hold_s=0.3)
    pid = driver.sim_pid
    assert world.card_uid == "04A1B2C3"  # present returns while the card is held
    await wait_until(lambda: world.card_uid is None, what="card removed")
    assert time.monotonic() - t0 >= 0.3
    # the card leaves the field before remove() returns and is logged (it still sends hw break)
    await wait_until(lambda: [s.command for s in driver.steplog.steps] == ["present", "remove"],
                     what="the removal logged as a step")
    assert pid is not None and not alive(pid)
    assert card_events == ["04A1B2C3", None]


async def test_present_cancels_pending_hold(driver: Proxmark3Presenter, world: World) -> None:
    await driver.present("04A1B2C3", hold_s=0.2)
    await driver.present("11223344")  # no hold: stays
    await asyncio.sleep(0.4)
    assert world.card_uid == "11223344"


async def test_close_and_safe_state_end_the_child(make: Any, sim: SimProxmark3, world: World) -> None:
    closing = make()
    await closing.present("04A1B2C3")
    pid = closing.sim_pid
    await closing.close()
    assert pid is not None and not alive(pid)
    assert world.card_uid is None  # close also told the device (hw break)
    await closing.close()  # twice is fine

    resting = make()
    await resting.present("04A1B2C3")
    pid = resting.sim_pid
    await resting.safe_state()
    assert pid is not None and not alive(pid)
    assert world.card_uid is None
    assert [s.command for s in resting.steplog.steps] == ["present", "remove", "safe_state"]


async def test_safe_state_clears_a_card_left_by_a_crashed_run(make: Any, sim: SimProxmark3,
                                                              world: World) -> None:
    crashed = make()
    await crashed.present("04A1B2C3")
    pid = crashed.sim_pid
    assert pid is not None
    os.killpg(pid, signal.SIGKILL)  # benchctl dies hard: nobody tells the device
    await wait_until(lambda: crashed.presented_uid is None, what="client gone")
    assert world.card_uid == "04A1B2C3"  # the device goes on emulating
    fresh = make()
    await fresh.safe_state()
    assert world.card_uid is None


async def test_signals_escalate_when_the_client_ignores_them(make: Any, sim: SimProxmark3,
                                                             world: World) -> None:
    sim.ignore_signals = {"INT", "TERM"}
    driver = make(stop_grace_s=0.2)
    await driver.present("04A1B2C3")
    pid = driver.sim_pid
    t0 = time.monotonic()
    await driver.remove()
    elapsed = time.monotonic() - t0
    assert pid is not None and not alive(pid)
    assert 0.4 <= elapsed < 0.4 + TIMEOUT_S  # SIGINT, SIGTERM (both ignored) then SIGKILL
    assert world.card_uid is None


async def test_dropped_driver_kills_its_child(make: Any, sim: SimProxmark3) -> None:
    driver = Proxmark3Presenter("card", Proxmark3Settings(port=sim.port, client=sim.client_command, timeout_s=TIMEOUT_S))
    await driver.present("04A1B2C3")
    pid = driver.sim_pid
    assert pid is not None
    del driver
    gc.collect()  # the finalizer guard
    await wait_until(lambda: not alive(pid), what="child killed by the finalizer")


async def test_button_ends_the_emulation(driver: Proxmark3Presenter, sim: SimProxmark3, world: World) -> None:
    await driver.present("04A1B2C3")
    pid = driver.sim_pid
    sim.press_button()
    assert world.card_uid is None
    await wait_until(lambda: driver.sim_pid is None, what="client exits after the button")
    assert pid is not None and not alive(pid)
    await driver.present("11223344")  # and the driver carries on
    assert world.card_uid == "11223344"
    await driver.remove()
    assert world.card_uid is None


async def test_self_test_reads_the_versions(driver: Proxmark3Presenter, sim: SimProxmark3) -> None:
    result = await driver.self_test()
    assert result["port"] == sim.port
    assert result["os"].startswith("Iceman/master/v4.")
    assert result["bootrom"].startswith("Iceman/master/v4.")
    assert result["client"].startswith("Iceman/master/v4.")
    assert result["device"] == "RDV4"
    assert sim.commands == ["hw version"]
    # while a card is emulated the client holds the port: report it without probing
    await driver.present("04A1B2C3")
    busy = await driver.self_test()
    assert busy == {"port": sim.port, "presenting": "04A1B2C3", "client_pid": driver.sim_pid, "probed": False}
    assert sim.commands == ["hw version", "hf 14a sim -t 1 -u 04A1B2C3"]


async def test_port_held_by_another_client_is_reported(make: Any) -> None:
    first, second = make(), make()
    await first.present("04A1B2C3")
    with pytest.raises(DriverError, match="claimed by another process"):
        await second.self_test()


async def test_missing_client_names_it_and_the_setting(sim: SimProxmark3) -> None:
    for client in ("no-such-pm3-client", "/opt/nowhere/pm3 --incognito"):
        drv = Proxmark3Presenter("card", Proxmark3Settings(port=sim.port, client=client))
        with pytest.raises(DriverError) as info:
            await drv.present("04A1B2C3")
        error = info.value
        assert (error.role, error.backend, error.address) == ("card", "Proxmark3", sim.port)
        executable = client.split()[0]
        assert f"Proxmark3 client executable {executable!r} not found" in str(error)
        assert "`client` setting" in str(error)
        assert str(error).startswith(f"card: Proxmark3 {sim.port}: ")
        await drv.close()
    assert sim.commands == []


async def test_absent_port_reports_the_client_error(make: Any, sim: SimProxmark3, tmp_path: Any) -> None:
    path = str(tmp_path / "ttyACM9")
    driver = make(port=path)
    t0 = time.monotonic()
    with pytest.raises(DriverError) as info:
        await driver.present("04A1B2C3")
    assert time.monotonic() - t0 < TIMEOUT_S
    message = str(info.value)
    assert message.startswith(f"card: Proxmark3 {path}: `hf 14a sim -t 1 -u 04A1B2C3`: the Proxmark3 client "
                              "exited (status 1)")
    assert f"ERROR: invalid serial port {path}" in message
    assert driver.sim_pid is None
    with pytest.raises(DriverError, match=r"`hw break` failed \(client exit status 1\).*invalid serial port"):
        await driver.remove()
    assert sim.commands == []


async def test_unresponsive_device_is_reported(driver: Proxmark3Presenter, sim: SimProxmark3) -> None:
    sim.responsive = False
    with pytest.raises(DriverError, match="cannot communicate with the Proxmark3"):
        await driver.present("04A1B2C3")
    with pytest.raises(DriverError, match="cannot communicate with the Proxmark3"):
        await driver.self_test()
    assert driver.sim_pid is None


async def test_emulation_that_never_starts_times_out_and_is_stopped(make: Any, sim: SimProxmark3,
                                                                    world: World) -> None:
    sim.hang_sim = True
    driver = make(timeout_s=0.5)
    t0 = time.monotonic()
    with pytest.raises(DriverError, match="did not report the emulation running") as info:
        await driver.present("04A1B2C3")
    assert time.monotonic() - t0 < 0.5 + 3 * GRACE_S + 1.0
    assert "Emulating ISO/IEC 14443 type A tag with 4 byte UID (04 A1 B2 C3 )" in str(info.value)
    assert driver.sim_pid is None
    assert world.card_uid is None
    sim.hang_sim = False
    await driver.self_test()  # the hung client is gone: it no longer holds the port


async def test_bad_arguments_raise_before_any_client_runs(driver: Proxmark3Presenter, sim: SimProxmark3) -> None:
    for bad in ("04A1B2", "04:A1:B2:ZZ", "", "04A1B2C3D4"):
        with pytest.raises(ValueError):
            await driver.present(bad)
    with pytest.raises(ValueError, match="bench config's cards"):
        await driver.present("CAROL")
    with pytest.raises(ValueError, match="hold_s"):
        await driver.present("04A1B2C3", hold_s=-1)
    assert sim.commands == []
    with pytest.raises(ValueError, match="client is empty"):
        Proxmark3Presenter("card", Proxmark3Settings(port=sim.port, client=""))
    with pytest.raises(ValueError, match="timeout_s"):
        Proxmark3Presenter("card", Proxmark3Settings(port=sim.port, timeout_s=0))


def test_parse_hw_version_of_an_older_client() -> None:
    lines = [
        "[usb|script] pm3 --> hw version",
        " [ Proxmark3 RFID instrument ]",
        " [ CLIENT ]",
        "  client: RRG/Iceman/master/v4.9237-2-g5b2a6c2 2020-05-21 19:17:28",
        " [ PROXMARK3 ]",
        "  firmware.................. PM3 GENERIC",
        " [ ARM ]",
        "  bootrom: RRG/Iceman/master/v4.9237 2020-05-21 19:17:28",
        "       os: RRG/Iceman/master/v4.9237 2020-05-21 19:17:28",
        "  compiled with GCC 9.2.1",
    ]
    assert parse_hw_version(lines) == {
        "client": "RRG/Iceman/master/v4.9237-2-g5b2a6c2 2020-05-21 19:17:28",
        "firmware": "PM3 GENERIC",
        "bootrom": "RRG/Iceman/master/v4.9237 2020-05-21 19:17:28",
        "os": "RRG/Iceman/master/v4.9237 2020-05-21 19:17:28",
    }


async def test_registry_entry_builds_the_driver(sim: SimProxmark3, world: World) -> None:
    spec = registry.spec("proxmark3")
    assert spec.kind == "rfid"
    settings = {key: field.default for key, field in spec.schema.fields.items()}  # type: ignore[union-attr]
    settings.update(port=sim.port, client=sim.client, timeout_s=TIMEOUT_S)
    driver = spec.build("card", settings, StepLog())
    assert isinstance(driver, Proxmark3Presenter)
    try:
        await driver.present("04A1B2C3")
        assert world.card_uid == "04A1B2C3"
    finally:
        await driver.close()
    assert world.card_uid is None
