"""Where a card is read: one reader for every connector, a reader per connector, or none (the PICS's 'RFID
readers'), on a two-connector station with the cable in connector 2."""

from __future__ import annotations

import asyncio

import pytest

from hil_sim.settings import SimSettings, StationSettings

from support.station import Session

CARD = "04A1B2C3"


def _readers(kind: str) -> pytest.MarkDecorator:
    settings = SimSettings(StationSettings(boot_delay_s=0.05, connectors=2, fixed_cable=False, rfid_readers=kind), [])
    return pytest.mark.parametrize("station_settings", [settings])


async def _cable_in_connector_2(session: Session) -> int:
    await session.next("StatusNotification", lambda p: p["connectorId"] == 2)
    mark = session.mark()
    for field in ("plugged_charger_side", "plugged_ev_side"):
        session.world.set(field, True, connector_id=2)
    session.world.set("ev_state", "C", connector_id=2)
    await session.next("StatusNotification", lambda p: p["connectorId"] == 2 and p["status"] == "Preparing",
                       after=mark)
    return session.mark()


async def _present(session: Session, reader: int) -> None:
    session.world.set("card_reader", reader)
    session.world.set("card_uid", CARD)
    await asyncio.sleep(0.3)
    session.world.set("card_uid", None)


@_readers("single")
async def test_one_reader_serves_the_connector_with_the_cable(session: Session) -> None:
    mark = await _cable_in_connector_2(session)
    await _present(session, reader=1)  # wherever it stands, the one reader serves both
    start = await session.next("StartTransaction", after=mark)
    assert start.payload["connectorId"] == 2


@_readers("one_per_evse")
async def test_a_reader_per_connector_serves_only_its_own(session: Session) -> None:
    mark = await _cable_in_connector_2(session)
    await _present(session, reader=1)
    await session.next("Authorize", after=mark)
    await session.next("StatusNotification", lambda p: p["connectorId"] == 1 and p["status"] == "Preparing",
                       after=mark)
    await asyncio.sleep(0.5)
    assert not [i for i in session.link.inbox[mark:] if i.action == "StartTransaction"], \
        "the card was read at connector 1's reader: connector 2's cable does not start"
    mark = session.mark()
    await _present(session, reader=2)
    start = await session.next("StartTransaction", after=mark)
    assert start.payload["connectorId"] == 2


@_readers("none")
async def test_without_a_reader_a_card_does_nothing(session: Session) -> None:
    mark = await _cable_in_connector_2(session)
    await _present(session, reader=1)
    await asyncio.sleep(0.5)
    assert [i.action for i in session.link.inbox[mark:] if i.action in ("Authorize", "StartTransaction")] == []


@_readers("one_per_evse")
async def test_a_remote_start_without_connector_picks_the_one_with_the_cable(session: Session) -> None:
    # the firmware's choice of connector does not depend on where the presenter stands
    mark = await _cable_in_connector_2(session)
    session.world.set("card_reader", 1)
    assert (await session.call("RemoteStartTransaction", {"idTag": CARD}))["status"] == "Accepted"
    start = await session.next("StartTransaction", after=mark)
    assert start.payload["connectorId"] == 2
