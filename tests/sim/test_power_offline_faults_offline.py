"""The simulated station across a power loss (with and without a backup supply), an idTag refused after an
offline start, the StopTransaction.conf feeding the cache, and a ground fault on a connector."""

from __future__ import annotations

import asyncio

import pytest

from benchctl.csms.responder import Rule
from hil_sim.gear.modbus_gear import DEFAULT_RELAY_WIRING, resolve_switch
from hil_sim.world import World

from support.station import Session, _settings

VALID, UNKNOWN = "04A1B2C3", "0BADCAFE"
backup_station = pytest.mark.parametrize("station_settings", [_settings(backup_power_s=2.0)])


async def _set(session: Session, key: str, value: str) -> None:
    assert (await session.call("ChangeConfiguration", {"key": key, "value": value}))["status"] == "Accepted"


async def _present(session: Session, uid: str) -> None:
    session.world.set("card_uid", uid)
    await asyncio.sleep(0.3)
    session.world.set("card_uid", None)


async def _go_offline(session: Session) -> None:
    session.world.set("network_up", False)
    assert await session.link.wait_until(lambda: not session.link.connected.is_set(), 5)


def _actions(session: Session, after: int) -> list[tuple[str, str | None]]:
    return [(i.action, i.payload.get("status") or i.payload.get("reason")) for i in session.link.inbox[after:]]


# ---------------------------------------------------------------------------------------------- power loss
@backup_station
async def test_with_backup_power_and_the_key_it_stops_the_transaction_before_going_down(session: Session) -> None:
    await _set(session, "StopTransactionsBeforePowerDown", "true")
    tx = await session.charging()
    mark = session.mark()
    session.world.set("mains_on", False)
    stop = await session.next("StopTransaction", after=mark, timeout=3)
    assert (stop.payload["transactionId"], stop.payload["reason"]) == (tx, "PowerLoss")
    await session.next("StatusNotification", lambda p: p["status"] == "Finishing", after=mark, timeout=3)
    assert await session.link.wait_until(lambda: not session.link.connected.is_set(), 3), "it never went down"
    session.world.set("mains_on", True)
    await session.next("BootNotification", after=mark)
    await asyncio.sleep(0.5)
    assert [a for a, _ in _actions(session, mark)].count("StopTransaction") == 1, "stopped twice"


@backup_station
async def test_with_backup_power_but_without_the_key_it_dies_at_once(session: Session) -> None:
    await session.charging()
    mark = session.mark()
    session.world.set("mains_on", False)
    assert await session.link.wait_until(lambda: not session.link.connected.is_set(), 3)
    assert not [a for a, _ in _actions(session, mark) if a == "StopTransaction"]


async def test_after_a_power_loss_the_connector_is_finishing_before_the_power_loss_stop(session: Session) -> None:
    tx = await session.charging()
    mark = session.mark()
    session.world.set("mains_on", False)
    await asyncio.sleep(0.3)
    session.world.set("mains_on", True)
    stop = await session.next("StopTransaction", after=mark)
    assert (stop.payload["transactionId"], stop.payload["reason"]) == (tx, "PowerLoss")
    after_boot = _actions(session, mark)
    assert after_boot.index(("StatusNotification", "Finishing")) < after_boot.index(("StopTransaction", "PowerLoss"))
    assert ("StatusNotification", "Preparing") not in after_boot


# ---------------------------------------------------------------------------------------------- offline start refused
async def test_refused_after_an_offline_start_it_reports_charging_then_suspends(session: Session) -> None:
    await _set(session, "AllowOfflineTxForUnknownId", "true")
    await _set(session, "StopTransactionOnInvalidId", "false")
    await _go_offline(session)
    session.world.set("ev_state", "C", connector_id=1)
    session.world.set("plugged_ev_side", True, connector_id=1)
    await _present(session, UNKNOWN)
    await asyncio.sleep(0.8)
    mark = session.mark()
    session.world.set("network_up", True)
    start = await session.next("StartTransaction", after=mark)
    assert start.answer and start.answer["idTagInfo"]["status"] == "Invalid"
    await session.next("StatusNotification", lambda p: p["status"] == "SuspendedEVSE", after=mark)
    await asyncio.sleep(0.5)
    assert _actions(session, mark) == [("StartTransaction", None), ("StatusNotification", "Charging"),
                                       ("StatusNotification", "SuspendedEVSE")]
    assert session.world.connector(1).pwm_duty_pct == 100, "energy is still offered"


async def test_stop_transaction_conf_updates_the_cache(session: Session) -> None:
    await session.charging()  # StartTransaction.conf Accepted: the tag is cached as Accepted
    session.link.responder.push(Rule("StopTransaction", {"idTagInfo": {"status": "Blocked"}}))
    mark = session.mark()
    await _present(session, VALID)
    await session.next("StopTransaction", after=mark)
    session.world.set("plugged_ev_side", False, connector_id=1)
    await session.link.wait_until(lambda: session.link.statuses.get(1) == "Available", 10)
    await _go_offline(session)
    session.world.set("plugged_ev_side", True, connector_id=1)
    await _present(session, VALID)
    await asyncio.sleep(0.8)
    assert session.world.connector(1).pwm_duty_pct == 100, "a tag cached as Blocked started offline"


# ---------------------------------------------------------------------------------------------- ground fault
def test_the_relay_board_wires_a_coil_to_the_ground_fault() -> None:
    switch = resolve_switch(DEFAULT_RELAY_WIRING[4], World())
    assert (switch.field, switch.connector_id) == ("ground_fault", 1)


async def test_a_ground_fault_makes_the_connector_faulted_and_blocks_transactions(session: Session) -> None:
    mark = session.mark()
    session.world.set("ground_fault", True, connector_id=1)
    faulted = await session.next("StatusNotification", lambda p: p["status"] == "Faulted", after=mark)
    assert (faulted.payload["connectorId"], faulted.payload["errorCode"]) == (1, "GroundFailure")
    session.world.set("ev_state", "C", connector_id=1)
    session.world.set("plugged_ev_side", True, connector_id=1)
    await _present(session, VALID)
    response = await session.call("RemoteStartTransaction", {"connectorId": 1, "idTag": VALID})
    assert response["status"] == "Rejected"
    await asyncio.sleep(1.0)
    assert not [a for a, _ in _actions(session, mark) if a == "StartTransaction"]
    session.world.set("ground_fault", False, connector_id=1)
    await session.next("StatusNotification", lambda p: p["status"] != "Faulted", after=mark)


async def test_a_ground_fault_during_a_transaction_stops_it(session: Session) -> None:
    tx = await session.charging()
    mark = session.mark()
    session.world.set("ground_fault", True, connector_id=1)
    stop = await session.next("StopTransaction", after=mark)
    assert (stop.payload["transactionId"], stop.payload["reason"]) == (tx, "Other")
    await session.next("StatusNotification", lambda p: p["status"] == "Faulted", after=mark)
