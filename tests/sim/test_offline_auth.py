"""Authorization without the Central System: the cache, LocalAuthorizeOffline, AllowOfflineTxForUnknownId,
LocalPreAuthorize, StopTransactionOnInvalidId, and a whole session that happens offline."""

from __future__ import annotations

import asyncio

from support.station import Session

VALID, UNKNOWN = "04A1B2C3", "0BADCAFE"


async def _present(session: Session, uid: str) -> None:
    session.world.set("card_uid", uid)
    await asyncio.sleep(0.3)
    session.world.set("card_uid", None)


async def _online_session_with_card(session: Session) -> None:
    """Charge with the card once, so its Accepted status is in the authorization cache."""
    mark = session.mark()
    session.world.set("ev_state", "C", connector_id=1)
    session.world.set("plugged_ev_side", True, connector_id=1)
    await _present(session, VALID)
    await session.next("StartTransaction", after=mark)
    await _present(session, VALID)
    await session.next("StopTransaction", lambda p: p["reason"] == "Local", after=mark)
    session.world.set("plugged_ev_side", False, connector_id=1)
    await session.link.wait_until(lambda: session.link.statuses.get(1) == "Available", 10)


async def _go_offline(session: Session) -> None:
    session.world.set("network_up", False)
    assert await session.link.wait_until(lambda: not session.link.connected.is_set(), 5)


async def test_a_session_started_and_ended_offline_is_delivered_with_the_real_id(session: Session) -> None:
    await _online_session_with_card(session)
    await _go_offline(session)
    session.world.set("plugged_ev_side", True, connector_id=1)
    await _present(session, VALID)  # cached Accepted + LocalAuthorizeOffline: charging starts offline
    await asyncio.sleep(1.0)
    assert session.world.connector(1).pwm_duty_pct < 100, "no PWM: the offline start was refused"
    await _present(session, VALID)
    await asyncio.sleep(0.5)
    mark = session.mark()
    session.world.set("network_up", True)

    start = await session.next("StartTransaction", after=mark)
    stop = await session.next("StopTransaction", after=mark)
    assert start.answer is not None
    assert stop.payload["transactionId"] == start.answer["transactionId"], "the offline id was not replaced"
    assert session.link.inbox.index(start) < session.link.inbox.index(stop)
    assert not [i for i in session.link.inbox[mark:] if i.action == "Authorize"]


async def test_unknown_tag_offline_is_refused_by_default(session: Session) -> None:
    await _go_offline(session)
    session.world.set("plugged_ev_side", True, connector_id=1)
    await _present(session, UNKNOWN)
    await asyncio.sleep(0.8)
    assert session.world.connector(1).pwm_duty_pct == 100, "an unknown tag started a transaction offline"
    mark = session.mark()
    session.world.set("network_up", True)
    await session.link.wait_until(lambda: session.link.connected.is_set(), 10)
    await asyncio.sleep(1.0)
    assert not [i for i in session.link.inbox[mark:] if i.action == "StartTransaction"]


async def test_unknown_tag_offline_allowed_then_deauthorized(session: Session) -> None:
    for key in ("AllowOfflineTxForUnknownId", "StopTransactionOnInvalidId"):
        assert (await session.call("ChangeConfiguration", {"key": key, "value": "true"}))["status"] == "Accepted"
    await _go_offline(session)
    session.world.set("ev_state", "C", connector_id=1)
    session.world.set("plugged_ev_side", True, connector_id=1)
    await _present(session, UNKNOWN)
    await asyncio.sleep(0.8)
    mark = session.mark()
    session.world.set("network_up", True)
    start = await session.next("StartTransaction", after=mark)
    assert start.answer and start.answer["idTagInfo"]["status"] == "Invalid"  # the Central System's verdict
    stop = await session.next("StopTransaction", after=mark)
    assert stop.payload["reason"] == "DeAuthorized"
    assert stop.payload["transactionId"] == start.answer["transactionId"]


async def test_local_pre_authorize_starts_without_asking(session: Session) -> None:
    await _online_session_with_card(session)
    assert (await session.call("ChangeConfiguration", {"key": "LocalPreAuthorize", "value": "true"}))[
        "status"] == "Accepted"
    mark = session.mark()
    session.world.set("plugged_ev_side", True, connector_id=1)
    await _present(session, VALID)
    await session.next("StartTransaction", after=mark)
    assert not [i for i in session.link.inbox[mark:] if i.action == "Authorize"]


async def test_clear_cache_forgets_the_tag(session: Session) -> None:
    await _online_session_with_card(session)
    assert (await session.call("ClearCache", {}))["status"] == "Accepted"
    await _go_offline(session)
    session.world.set("plugged_ev_side", True, connector_id=1)
    await _present(session, VALID)
    await asyncio.sleep(0.8)
    assert session.world.connector(1).pwm_duty_pct == 100, "a cleared cache still authorized the tag offline"
