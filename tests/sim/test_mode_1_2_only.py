"""A Mode 1/2-only station (the PICS's product subtype): a domestic socket outlet without Control Pilot nor lock.
It sees the plug in its socket and the current the EV draws, never the CP state, so it offers no PWM limit; the
Mode 2 cable's control box talks to the EV and opens when the EV side is unplugged, which the station sees."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from benchctl.bench.config import load_bench
from benchctl.config import ConfigError
from benchctl.paths import DEFAULT_BENCH
from hil_sim.settings import SimSettings, StationSettings

from support.station import Session

mode12 = pytest.mark.parametrize(
    "station_settings", [SimSettings(StationSettings(boot_delay_s=0.05, fixed_cable=False, mode_1_2_only=True), [])])


def _statuses(session: Session, mark: int) -> list[str]:
    return [i.payload["status"] for i in session.link.inbox[mark:] if i.action == "StatusNotification"]


@mode12
async def test_charging_follows_the_current_not_a_pilot(session: Session) -> None:
    session.world.set("plugged_charger_side", True, connector_id=1)
    await session.charging()
    assert session.world.connector(1).pwm_duty_pct == 100.0, "no pilot, so no PWM limit offered"
    mark = session.mark()
    session.world.set("ev_state", "B", connector_id=1)  # the EV stops asking for energy
    await session.next("StatusNotification", lambda p: p["status"] == "SuspendedEV", after=mark)


async def _set(session: Session, key: str, value: str) -> None:
    assert (await session.call("ChangeConfiguration", {"key": key, "value": value}))["status"] == "Accepted"


@mode12
async def test_an_ev_side_unplug_stops_the_transaction(session: Session) -> None:
    session.world.set("plugged_charger_side", True, connector_id=1)
    tx = await session.charging()
    await _set(session, "StopTransactionOnEVSideDisconnect", "true")
    mark = session.mark()
    session.world.set("plugged_ev_side", False, connector_id=1)  # the cable's control box opens (TC_005_2)
    stop = await session.next("StopTransaction", after=mark)
    assert (stop.payload["transactionId"], stop.payload["reason"]) == (tx, "EVDisconnected")
    await session.next("StatusNotification", lambda p: p["status"] == "Finishing", after=mark)
    await asyncio.sleep(0.5)
    assert "Available" not in _statuses(session, mark), "the cable is still in the socket"
    session.world.set("plugged_charger_side", False, connector_id=1)
    await session.next("StatusNotification", lambda p: p["status"] == "Available", after=mark)


@mode12
async def test_a_start_before_the_ev_side_is_plugged_is_no_ev_side_unplug(session: Session) -> None:
    """The station sees only the plug in its socket: a card and that plug start the transaction before the EV side
    is in; the control box has had no EV yet, so nothing was unplugged (TC_039's plug_in does it in that order)."""
    session.world.set("plugged_charger_side", True, connector_id=1)
    mark = session.mark()
    session.world.set("card_uid", "04A1B2C3")
    await asyncio.sleep(0.3)
    session.world.set("card_uid", None)
    await session.next("StartTransaction", after=mark)
    await asyncio.sleep(1.0)
    assert not [i for i in session.link.inbox[mark:] if i.action == "StopTransaction"]
    session.world.set("ev_state", "C", connector_id=1)
    session.world.set("plugged_ev_side", True, connector_id=1)
    await session.next("StatusNotification", lambda p: p["status"] == "Charging", after=mark)


@mode12
async def test_an_ev_side_unplug_only_suspends_when_the_key_says_so(session: Session) -> None:
    session.world.set("plugged_charger_side", True, connector_id=1)
    await session.charging()
    await _set(session, "StopTransactionOnEVSideDisconnect", "false")
    mark = session.mark()
    session.world.set("plugged_ev_side", False, connector_id=1)
    suspended = await session.next("StatusNotification", lambda p: p["status"] == "SuspendedEV", after=mark)
    assert suspended.payload.get("info") == "EV side disconnected"
    await asyncio.sleep(1.0)
    assert not [i for i in session.link.inbox[mark:] if i.action == "StopTransaction"]


@mode12
async def test_unlock_connector_is_not_supported(session: Session) -> None:
    """A domestic socket outlet has no lock to release (TC_017_2, TC_018_2): NotSupported, with or without a
    transaction, and a running transaction goes on."""
    assert (await session.call("UnlockConnector", {"connectorId": 1}))["status"] == "NotSupported"
    session.world.set("plugged_charger_side", True, connector_id=1)
    await session.charging()
    mark = session.mark()
    assert (await session.call("UnlockConnector", {"connectorId": 1}))["status"] == "NotSupported"
    await asyncio.sleep(1.0)
    assert not [i for i in session.link.inbox[mark:] if i.action == "StopTransaction"]


@mode12
async def test_a_jammed_lock_does_not_stop_a_start(session: Session) -> None:
    """Without a lock there is no lock failure: the lock_failure input changes nothing."""
    session.world.set("lock_failure", True, connector_id=1)
    session.world.set("plugged_charger_side", True, connector_id=1)
    await session.charging()


@mode12
async def test_refused_after_an_offline_start_it_withholds_energy(session: Session) -> None:
    """StopTransactionOnInvalidId false (TC_037_2): the transaction is kept, the contactor opens: SuspendedEVSE,
    although the EV still asks for energy."""
    await _set(session, "AllowOfflineTxForUnknownId", "true")
    await _set(session, "StopTransactionOnInvalidId", "false")
    session.world.set("network_up", False)
    assert await session.link.wait_until(lambda: not session.link.connected.is_set(), 5)
    for name, value in (("plugged_charger_side", True), ("ev_state", "C"), ("plugged_ev_side", True)):
        session.world.set(name, value, connector_id=1)
    session.world.set("card_uid", "0BADCAFE")
    await asyncio.sleep(0.3)
    session.world.set("card_uid", None)
    await asyncio.sleep(0.8)
    mark = session.mark()
    session.world.set("network_up", True)
    start = await session.next("StartTransaction", after=mark)
    assert start.answer and start.answer["idTagInfo"]["status"] == "Invalid"
    await session.next("StatusNotification", lambda p: p["status"] == "SuspendedEVSE", after=mark)
    energy = session.world.connector(1).energy_wh
    await asyncio.sleep(1.5)
    assert not [i for i in session.link.inbox[mark:] if i.action == "StopTransaction"]
    assert session.world.connector(1).energy_wh == energy, "energy still flows through an open contactor"


def test_a_tethered_mode_1_2_station_is_a_config_error(tmp_path: Path) -> None:
    text = DEFAULT_BENCH.read_text().replace("fixed_cable: false", "fixed_cable: true\n    mode_1_2_only: true")
    bench = tmp_path / "bench.yaml"
    bench.write_text(text)
    with pytest.raises(ConfigError, match="mode_1_2_only.*socket"):
        load_bench(bench)
