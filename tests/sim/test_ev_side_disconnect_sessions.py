"""The cable pulled out at the EV side during a transaction: with a socket the charger still sees its plug, so
the connector is Finishing until that is gone too; with StopTransactionOnEVSideDisconnect false the
transaction stays and the suspension says why."""

from __future__ import annotations

import asyncio

from support.station import Session, socket_station


async def _config(session: Session, key: str, value: str) -> None:
    assert (await session.call("ChangeConfiguration", {"key": key, "value": value}))["status"] == "Accepted"


async def _socket_charging(session: Session) -> int:
    session.world.set("plugged_charger_side", True, connector_id=1)
    return await session.charging()


@socket_station
async def test_stop_on_ev_side_disconnect_leaves_the_socket_finishing(session: Session) -> None:
    await _socket_charging(session)
    mark = session.mark()
    session.world.set("plugged_ev_side", False, connector_id=1)
    stop = await session.next("StopTransaction", after=mark)
    assert stop.payload["reason"] == "EVDisconnected"
    await session.next("StatusNotification", lambda p: p["status"] == "Finishing", after=mark)
    await asyncio.sleep(0.5)
    assert session.link.statuses[1] == "Finishing", "the cable is still in the socket"
    session.world.set("plugged_charger_side", False, connector_id=1)
    await session.next("StatusNotification", lambda p: p["status"] == "Available", after=mark)


async def test_a_tethered_cable_is_available_once_the_ev_side_is_out(session: Session) -> None:
    await session.charging()
    mark = session.mark()
    session.world.set("plugged_ev_side", False, connector_id=1)
    await session.next("StopTransaction", after=mark)
    await session.next("StatusNotification", lambda p: p["status"] == "Available", after=mark)
    assert "Finishing" not in [i.payload["status"] for i in session.link.inbox[mark:]
                               if i.action == "StatusNotification"]


@socket_station
async def test_kept_transaction_is_suspended_with_the_reason(session: Session) -> None:
    await _config(session, "StopTransactionOnEVSideDisconnect", "false")
    transaction_id = await _socket_charging(session)
    mark = session.mark()
    session.world.set("plugged_ev_side", False, connector_id=1)
    suspended = await session.next("StatusNotification", lambda p: p["status"] == "SuspendedEV", after=mark)
    assert suspended.payload.get("info") == "EV side disconnected"
    await asyncio.sleep(0.5)
    assert "StopTransaction" not in [i.action for i in session.link.inbox[mark:]]
    assert (await session.call("RemoteStopTransaction", {"transactionId": transaction_id}))["status"] == "Accepted"
    stop = await session.next("StopTransaction", after=mark)
    assert stop.payload["reason"] == "Remote"
    await session.next("StatusNotification", lambda p: p["status"] == "Finishing", after=mark)
