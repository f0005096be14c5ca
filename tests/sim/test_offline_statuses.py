"""`simulator.station.offline_statuses`: what the station does with the status changes of a link loss. Both
ways are what OCPP 1.6 allows; the tool side must judge both right (Appendix D), so the simulator has both."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from support.station import Session, _settings

VALID = "04A1B2C3"

replaying = pytest.mark.parametrize("station_settings", [_settings(offline_statuses="replay")])


async def _present(session: Session, uid: str) -> None:
    session.world.set("card_uid", uid)
    await asyncio.sleep(0.3)
    session.world.set("card_uid", None)


async def _offline_transaction(session: Session) -> float:
    """Cache the card online, then start and stop a transaction and unplug, all offline; the link comes back.
    Returns the wall-clock time just before the link was restored."""
    mark = session.mark()
    session.world.set("ev_state", "C", connector_id=1)
    session.world.set("plugged_ev_side", True, connector_id=1)
    await _present(session, VALID)
    await session.next("StartTransaction", after=mark)
    await _present(session, VALID)
    await session.next("StopTransaction", after=mark)
    session.world.set("plugged_ev_side", False, connector_id=1)
    await session.link.wait_until(lambda: session.link.statuses.get(1) == "Available", 10)
    await asyncio.sleep(0.3)  # the station has the answer to that status: it is not in flight when the link goes

    session.world.set("network_up", False)
    assert await session.link.wait_until(lambda: not session.link.connected.is_set(), 5)
    session.world.set("plugged_ev_side", True, connector_id=1)
    await asyncio.sleep(0.5)  # Preparing: the EV is there, no card yet
    await _present(session, VALID)  # the cached card starts a transaction offline
    await asyncio.sleep(1.0)
    await _present(session, VALID)  # and ends it
    await asyncio.sleep(0.5)
    session.world.set("plugged_ev_side", False, connector_id=1)
    await asyncio.sleep(0.5)
    restored = datetime.now().timestamp()
    session.world.set("network_up", True)
    return restored


def _stamp(payload: dict[str, object]) -> float:
    return datetime.fromisoformat(str(payload["timestamp"]).replace("Z", "+00:00")).timestamp()


@replaying
async def test_replay_sends_every_change_with_its_own_time_in_order(session: Session) -> None:
    restored = await _offline_transaction(session)
    mark = session.mark()  # nothing arrives while the link is down
    await session.next("StopTransaction", after=mark)
    await session.link.wait_until(
        lambda: [i for i in session.link.inbox[mark:] if i.payload.get("status") == "Available"], 5)
    sent = [(i.action, i.payload.get("status")) for i in session.link.inbox[mark:]
            if i.action in ("StatusNotification", "StartTransaction", "StopTransaction")]
    # a socket: the plug stays in after the stop (Finishing) until the EV side is unplugged and the cable taken
    assert sent[:4] == [("StatusNotification", "Preparing"), ("StartTransaction", None),
                        ("StatusNotification", "Charging"), ("StopTransaction", None)], sent
    assert ("StatusNotification", "Available") in sent[4:]
    statuses = [i.payload for i in session.link.inbox[mark:] if i.action == "StatusNotification"]
    stamps = [_stamp(p) for p in statuses]
    assert all(s < restored for s in stamps), "a replayed status carries the time of the change, not of sending"
    assert stamps == sorted(stamps)


async def test_by_default_only_the_status_of_the_moment_is_sent(session: Session) -> None:
    await _offline_transaction(session)
    mark = session.mark()  # nothing arrives while the link is down
    await session.next("StopTransaction", after=mark)
    await asyncio.sleep(1.0)
    # the connector is Available again, as it was when the link went down: nothing to report
    assert [i for i in session.link.inbox[mark:] if i.action == "StatusNotification"] == []
