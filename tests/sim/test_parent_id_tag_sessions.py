"""Ending a transaction with another card: only a card of the same group (parentIdTag) may, and the
StopTransaction then names that card; when the starting idTag has no group another card is not even asked about."""

from __future__ import annotations

import asyncio

from benchctl.csms.responder import Rule

from support.station import Session

START, OTHER, GROUP = "04A1B2C3", "04D4E5F6", "GROUP-1"


async def _present(session: Session, uid: str) -> None:
    session.world.set("card_uid", uid)
    await asyncio.sleep(0.3)
    session.world.set("card_uid", None)


def _actions(session: Session, mark: int) -> list[str]:
    return [i.action for i in session.link.inbox[mark:]]


async def test_another_card_is_ignored_when_the_start_tag_has_no_group(session: Session) -> None:
    await session.charging()
    mark = session.mark()
    await _present(session, OTHER)
    await asyncio.sleep(1.0)
    assert "Authorize" not in _actions(session, mark)
    assert "StopTransaction" not in _actions(session, mark)
    assert session.world.connector(1).pwm_duty_pct < 100, "the transaction was ended"


async def test_a_card_of_the_same_group_ends_it_in_its_own_name(session: Session) -> None:
    session.link.responder.push(Rule("StartTransaction", {"idTagInfo": {"status": "Accepted", "parentIdTag": GROUP}}))
    session.link.responder.push(Rule("Authorize", {"idTagInfo": {"status": "Accepted", "parentIdTag": GROUP}}))
    transaction_id = await session.charging()
    mark = session.mark()
    await _present(session, OTHER)
    authorize = await session.next("Authorize", after=mark)
    stop = await session.next("StopTransaction", after=mark)
    assert authorize.payload["idTag"] == OTHER
    assert (stop.payload["transactionId"], stop.payload["reason"], stop.payload["idTag"]) == (
        transaction_id, "Local", OTHER)


async def test_a_card_of_another_group_does_not_end_it(session: Session) -> None:
    session.link.responder.push(Rule("StartTransaction", {"idTagInfo": {"status": "Accepted", "parentIdTag": GROUP}}))
    session.link.responder.push(Rule("Authorize", {"idTagInfo": {"status": "Accepted", "parentIdTag": "GROUP-2"}}))
    await session.charging()
    mark = session.mark()
    await _present(session, OTHER)
    await session.next("Authorize", after=mark)
    await asyncio.sleep(1.0)
    assert "StopTransaction" not in _actions(session, mark)
    assert session.world.connector(1).pwm_duty_pct < 100, "the transaction was ended"
