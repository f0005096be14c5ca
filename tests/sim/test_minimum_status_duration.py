"""MinimumStatusDuration: a connector status is reported only once it has lasted that long; a status the
connector only passes through is never sent, and 0 reports every change at once."""

from __future__ import annotations

import asyncio

from support.station import Session


async def _config(session: Session, key: str, value: str) -> None:
    assert (await session.call("ChangeConfiguration", {"key": key, "value": value}))["status"] == "Accepted"


def _statuses(session: Session, mark: int) -> list[str]:
    return [i.payload["status"] for i in session.link.inbox[mark:] if i.action == "StatusNotification"]


async def test_a_status_is_reported_once_it_has_lasted(session: Session) -> None:
    await session.next("StatusNotification", lambda p: p["connectorId"] == 1)
    await _config(session, "MinimumStatusDuration", "2")
    mark = session.mark()
    started = asyncio.get_running_loop().time()
    session.world.set("plugged_ev_side", True, connector_id=1)
    await session.next("StatusNotification", lambda p: p["status"] == "Preparing", after=mark, timeout=5)
    held = asyncio.get_running_loop().time() - started
    assert 1.9 <= held <= 3.5, f"Preparing reported after {held:.2f} s, MinimumStatusDuration is 2 s"


async def test_a_passing_status_is_never_sent(session: Session) -> None:
    await session.next("StatusNotification", lambda p: p["connectorId"] == 1)
    await _config(session, "MinimumStatusDuration", "2")
    mark = session.mark()
    session.world.set("plugged_ev_side", True, connector_id=1)
    await asyncio.sleep(0.8)
    session.world.set("plugged_ev_side", False, connector_id=1)
    await asyncio.sleep(3.0)
    assert _statuses(session, mark) == [], "a plug-in of 0.8 s is shorter than MinimumStatusDuration"


async def test_zero_reports_every_change(session: Session) -> None:
    await session.next("StatusNotification", lambda p: p["connectorId"] == 1)
    mark = session.mark()
    session.world.set("plugged_ev_side", True, connector_id=1)
    await asyncio.sleep(0.8)
    session.world.set("plugged_ev_side", False, connector_id=1)
    await session.next("StatusNotification", lambda p: p["status"] == "Available", after=mark)
    assert _statuses(session, mark) == ["Preparing", "Available"]
