"""Remote actions of the simulated station that the remote-action cases rely on (ConnectionTimeOut, ...)."""

from __future__ import annotations

import asyncio
import time

from support.station import Session


async def test_remote_start_without_cable_times_out_after_connection_timeout(session: Session) -> None:
    assert (await session.call("ChangeConfiguration", {"key": "ConnectionTimeOut", "value": "2"}))[
        "status"] == "Accepted"
    mark = session.mark()
    assert (await session.call("RemoteStartTransaction", {"connectorId": 1, "idTag": "04A1B2C3"}))[
        "status"] == "Accepted"
    await session.next("StatusNotification", lambda p: p["status"] == "Preparing", after=mark)
    started = time.monotonic()
    await session.next("StatusNotification", lambda p: p["status"] == "Available", after=mark)
    assert 1.5 <= time.monotonic() - started <= 3.0
    session.world.set("ev_state", "C", connector_id=1)
    session.world.set("plugged_ev_side", True, connector_id=1)  # too late: the start was cancelled
    await asyncio.sleep(1.0)
    assert not [i for i in session.link.inbox[mark:] if i.action == "StartTransaction"]


async def test_remote_start_then_cable_within_the_timeout_starts(session: Session) -> None:
    assert (await session.call("ChangeConfiguration", {"key": "ConnectionTimeOut", "value": "3"}))[
        "status"] == "Accepted"
    mark = session.mark()
    await session.call("RemoteStartTransaction", {"connectorId": 1, "idTag": "04A1B2C3"})
    await session.next("StatusNotification", lambda p: p["status"] == "Preparing", after=mark)
    session.world.set("ev_state", "C", connector_id=1)
    session.world.set("plugged_ev_side", True, connector_id=1)
    start = await session.next("StartTransaction", after=mark)
    assert start.payload["idTag"] == "04A1B2C3"
