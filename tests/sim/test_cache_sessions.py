"""The authorization cache online: LocalPreAuthorize lets a cached idTag through without Authorize.req, for a
card and for a remote start with AuthorizeRemoteTxRequests; ClearCache forgets it; the same card presented
again before a cable came withdraws the authorization."""

from __future__ import annotations

import asyncio

from support.station import Session

VALID = "04A1B2C3"


async def _config(session: Session, **keys: str) -> None:
    for key, value in keys.items():
        assert (await session.call("ChangeConfiguration", {"key": key, "value": value}))["status"] == "Accepted"


async def _present(session: Session, uid: str) -> None:
    session.world.set("card_uid", uid)
    await asyncio.sleep(0.3)
    session.world.set("card_uid", None)


def _authorizes(session: Session, mark: int) -> list[str]:
    return [i.payload["idTag"] for i in session.link.inbox[mark:] if i.action == "Authorize"]


async def _cache_by_card(session: Session) -> None:
    """Present the card (Authorize.req, Accepted goes into the cache), then again to withdraw it."""
    mark = session.mark()
    await _present(session, VALID)
    await session.next("StatusNotification", lambda p: p["status"] == "Preparing", after=mark)
    await _present(session, VALID)
    await session.next("StatusNotification", lambda p: p["status"] == "Available", after=mark)
    assert _authorizes(session, mark) == [VALID], "the second presentation withdraws, it is not authorized again"


async def test_clear_cache_makes_a_pre_authorized_card_ask_again(session: Session) -> None:
    await _config(session, LocalPreAuthorize="true")
    await _cache_by_card(session)
    mark = session.mark()
    await _present(session, VALID)
    await session.next("StatusNotification", lambda p: p["status"] == "Preparing", after=mark)
    assert _authorizes(session, mark) == [], "a cached idTag is pre-authorized"
    await _present(session, VALID)
    await session.next("StatusNotification", lambda p: p["status"] == "Available", after=mark)

    assert (await session.call("ClearCache", {}))["status"] == "Accepted"
    mark = session.mark()
    await _present(session, VALID)
    await session.next("Authorize", after=mark)


async def test_remote_start_of_a_cached_idtag_is_pre_authorized(session: Session) -> None:
    await _config(session, LocalPreAuthorize="true", AuthorizeRemoteTxRequests="true")
    mark = session.mark()
    session.world.set("ev_state", "C", connector_id=1)
    session.world.set("plugged_ev_side", True, connector_id=1)
    await session.call("RemoteStartTransaction", {"connectorId": 1, "idTag": VALID})
    await session.next("StartTransaction", after=mark)
    assert _authorizes(session, mark) == [VALID], "not cached yet: asked"
    await _present(session, VALID)
    await session.next("StopTransaction", after=mark)

    mark = session.mark()
    await session.call("RemoteStartTransaction", {"connectorId": 1, "idTag": VALID})
    await session.next("StartTransaction", after=mark)
    assert _authorizes(session, mark) == [], "cached Accepted and LocalPreAuthorize: started without asking"
