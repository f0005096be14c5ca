"""A socket whose plug lock does not engage: the start is cancelled and the connector reports
Faulted/ConnectorLockFailure until the cable is taken away; a tethered cable has no lock to fail."""

from __future__ import annotations

import asyncio

from support.station import Session, socket_station


async def _remote_start_then_plug(session: Session) -> int:
    mark = session.mark()
    assert (await session.call("RemoteStartTransaction", {"connectorId": 1, "idTag": "04A1B2C3"}))["status"] == \
        "Accepted"
    await session.next("StatusNotification", lambda p: p["status"] == "Preparing", after=mark)
    session.world.set("lock_failure", True, connector_id=1)
    session.world.set("plugged_charger_side", True, connector_id=1)
    session.world.set("ev_state", "C", connector_id=1)
    session.world.set("plugged_ev_side", True, connector_id=1)
    return mark


@socket_station
async def test_a_jammed_lock_cancels_the_start_until_the_cable_is_out(session: Session) -> None:
    mark = await _remote_start_then_plug(session)
    faulted = await session.next("StatusNotification", lambda p: p["status"] == "Faulted", after=mark)
    assert faulted.payload["errorCode"] == "ConnectorLockFailure"
    await asyncio.sleep(0.5)
    assert "StartTransaction" not in [i.action for i in session.link.inbox[mark:]]
    assert session.world.connector(1).pwm_duty_pct == 100, "no energy offered without a lock"

    session.world.set("lock_failure", False, connector_id=1)  # the lock works again, but the cable is still in
    await asyncio.sleep(0.5)
    assert session.link.statuses[1] == "Faulted"
    session.world.set("plugged_ev_side", False, connector_id=1)
    session.world.set("plugged_charger_side", False, connector_id=1)
    await session.next("StatusNotification", lambda p: p["status"] == "Available", after=mark)


async def test_a_tethered_cable_starts_whatever_the_lock_input_says(session: Session) -> None:
    mark = await _remote_start_then_plug(session)
    await session.next("StartTransaction", after=mark)
    assert "Faulted" not in [i.payload["status"] for i in session.link.inbox[mark:]
                             if i.action == "StatusNotification"]
