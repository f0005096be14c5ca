"""The Reservation profile of the simulated station (hil_sim/charger/reservation.py), over the wire: ReserveNow for
a connector and for the station (connectorId 0), the Reserved status, who may use a reserved connector (the
reserved idTag, or one of its group), the reservationId in StartTransaction, expiry, CancelReservation, and a
build without the profile."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from benchctl.csms.link import ToolRequestError
from benchctl.csms.responder import Rule
from hil_sim.settings import PROFILES

from support.station import Session, _settings, present, status

RESERVED, OTHER, GROUP = "04A1B2C3", "04D4E5F6", "GROUP-7"

two_connectors = pytest.mark.parametrize("station_settings", [_settings(connectors=2)])
without_reservation = pytest.mark.parametrize(
    "station_settings", [_settings(profiles=[p for p in PROFILES if p != "Reservation"])])


def _in(seconds: float) -> str:
    at = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def reserve(session: Session, connector_id: int, reservation_id: int, id_tag: str = RESERVED,
                  expiry_s: float = 60, parent: str | None = None) -> str:
    payload: dict[str, Any] = {"connectorId": connector_id, "expiryDate": _in(expiry_s), "idTag": id_tag,
                               "reservationId": reservation_id}
    if parent is not None:
        payload["parentIdTag"] = parent
    return str((await session.call("ReserveNow", payload))["status"])


async def cancel(session: Session, reservation_id: int) -> str:
    return str((await session.call("CancelReservation", {"reservationId": reservation_id}))["status"])


def plug(session: Session, connector_id: int = 1) -> None:
    session.world.set("ev_state", "C", connector_id=connector_id)
    session.world.set("plugged_ev_side", True, connector_id=connector_id)


def sent(session: Session, mark: int, action: str) -> list[dict[str, Any]]:
    return [i.payload for i in session.link.inbox[mark:] if i.action == action]


async def test_only_the_reserved_card_prepares_and_the_start_carries_the_reservation(session: Session) -> None:
    mark = session.mark()
    assert await reserve(session, 1, 11) == "Accepted"
    await status(session, 1, "Reserved", mark)
    mark = session.mark()
    await present(session, OTHER)
    await session.next("Authorize", lambda p: p["idTag"] == OTHER, after=mark)
    await asyncio.sleep(1.0)
    assert not [p for p in sent(session, mark, "StatusNotification") if p["status"] == "Preparing"]
    await present(session, RESERVED)
    await status(session, 1, "Preparing", mark)
    plug(session)
    start = await session.next("StartTransaction", after=mark)
    assert (start.payload["idTag"], start.payload["reservationId"]) == (RESERVED, 11)
    await status(session, 1, "Charging", mark)
    assert await cancel(session, 11) == "Rejected"  # the start ended it


async def test_a_remote_start_on_a_reserved_plugged_connector_reports_preparing_before_charging(
        session: Session) -> None:
    mark = session.mark()
    assert await reserve(session, 1, 12) == "Accepted"
    await status(session, 1, "Reserved", mark)
    plug(session)
    await asyncio.sleep(1.0)
    assert sent(session, mark, "StatusNotification")[-1]["status"] == "Reserved"  # the cable alone says nobody
    assert (await session.call("RemoteStartTransaction", {"connectorId": 1, "idTag": OTHER}))["status"] == "Rejected"
    assert (await session.call("RemoteStartTransaction", {"connectorId": 1, "idTag": RESERVED}))["status"] == \
        "Accepted"
    await status(session, 1, "Charging", mark)
    after_reserved = [p["status"] for p in sent(session, mark, "StatusNotification")]
    assert after_reserved[-3:] == ["Reserved", "Preparing", "Charging"]
    start = await session.next("StartTransaction", after=mark)
    assert start.payload["reservationId"] == 12


async def test_a_reservation_expires_at_its_expiry_date(session: Session) -> None:
    mark = session.mark()
    assert await reserve(session, 1, 13, expiry_s=1.5) == "Accepted"
    await status(session, 1, "Reserved", mark)
    reserved_at = asyncio.get_running_loop().time()
    await status(session, 1, "Available", mark)
    assert 1.0 < asyncio.get_running_loop().time() - reserved_at < 2.5
    assert await cancel(session, 13) == "Rejected"
    assert await reserve(session, 1, 14, expiry_s=-1) == "Rejected"  # already past: nothing to hold


async def test_cancel_ends_only_the_named_reservation(session: Session) -> None:
    mark = session.mark()
    assert await reserve(session, 1, 15) == "Accepted"
    await status(session, 1, "Reserved", mark)
    assert await cancel(session, 16) == "Rejected"
    mark = session.mark()
    assert await cancel(session, 15) == "Accepted"
    await status(session, 1, "Available", mark)
    assert await cancel(session, 15) == "Rejected"


async def test_the_same_reservation_id_replaces_the_reservation_another_one_finds_it_occupied(
        session: Session) -> None:
    mark = session.mark()
    assert await reserve(session, 1, 17, id_tag=RESERVED) == "Accepted"
    await status(session, 1, "Reserved", mark)
    assert await reserve(session, 1, 18, id_tag=OTHER) == "Occupied"
    assert await reserve(session, 1, 17, id_tag=OTHER) == "Accepted"  # now held for OTHER
    assert (await session.call("RemoteStartTransaction", {"connectorId": 1, "idTag": RESERVED}))["status"] == \
        "Rejected"
    assert session.sim.station.reservations.entries[17].id_tag == OTHER


async def test_reserve_now_answers_why_a_connector_cannot_be_reserved(session: Session) -> None:
    mark = session.mark()
    assert await reserve(session, 2, 20) == "Rejected"  # no such connector
    session.world.set("ground_fault", True, connector_id=1)
    await status(session, 1, "Faulted", mark)
    assert await reserve(session, 1, 21) == "Faulted"
    assert await reserve(session, 0, 21) == "Faulted"
    session.world.set("ground_fault", False, connector_id=1)
    await status(session, 1, "Available", mark)
    plug(session)
    await status(session, 1, "Preparing", mark)
    assert await reserve(session, 1, 22) == "Occupied"
    assert await reserve(session, 0, 22) == "Occupied"
    session.world.set("plugged_ev_side", False, connector_id=1)
    await status(session, 1, "Available", session.mark())
    assert (await session.call("ChangeAvailability", {"connectorId": 0, "type": "Inoperative"}))["status"] == \
        "Accepted"
    await status(session, 1, "Unavailable", mark)
    assert await reserve(session, 1, 23) == "Unavailable"
    assert await reserve(session, 0, 23) == "Unavailable"
    assert session.sim.station.reservations.entries == {}


async def test_a_reservation_ends_when_its_connector_goes_faulted(session: Session) -> None:
    mark = session.mark()
    assert await reserve(session, 1, 24) == "Accepted"
    await status(session, 1, "Reserved", mark)
    session.world.set("ground_fault", True, connector_id=1)
    await status(session, 1, "Faulted", mark)
    mark = session.mark()
    session.world.set("ground_fault", False, connector_id=1)
    await status(session, 1, "Available", mark)
    assert await cancel(session, 24) == "Rejected"


async def test_a_group_card_uses_the_reservation_once_authorize_names_the_parent(session: Session) -> None:
    await session.call("ChangeConfiguration", {"key": "LocalPreAuthorize", "value": "true"})
    session.sim.station.authorization.cache[OTHER] = "Accepted"  # cached without a parent: the station must still ask
    mark = session.mark()
    assert await reserve(session, 1, 25, parent=GROUP) == "Accepted"
    await status(session, 1, "Reserved", mark)
    session.link.responder.push(Rule("Authorize", {"idTagInfo": {"status": "Accepted", "parentIdTag": GROUP}}))
    await present(session, OTHER)
    await session.next("Authorize", lambda p: p["idTag"] == OTHER, after=mark)
    await status(session, 1, "Preparing", mark)
    plug(session)
    start = await session.next("StartTransaction", after=mark)
    assert (start.payload["idTag"], start.payload["reservationId"]) == (OTHER, 25)


async def test_a_card_of_another_group_does_not_get_the_reserved_connector(session: Session) -> None:
    mark = session.mark()
    assert await reserve(session, 1, 26, parent=GROUP) == "Accepted"
    await status(session, 1, "Reserved", mark)
    session.link.responder.push(Rule("Authorize", {"idTagInfo": {"status": "Accepted", "parentIdTag": "GROUP-8"}}))
    await present(session, OTHER)
    await session.next("Authorize", lambda p: p["idTag"] == OTHER, after=mark)
    await asyncio.sleep(1.0)
    assert sent(session, mark, "StatusNotification")[-1]["status"] == "Reserved"


async def test_a_station_reservation_reserves_the_last_free_connector(session: Session) -> None:
    assert (await session.call("GetConfiguration", {"key": ["ReserveConnectorZeroSupported"]}))[
        "configurationKey"] == [{"key": "ReserveConnectorZeroSupported", "readonly": True, "value": "true"}]
    mark = session.mark()
    assert await reserve(session, 0, 27) == "Accepted"
    await status(session, 1, "Reserved", mark)
    assert not [p for p in sent(session, mark, "StatusNotification") if p["connectorId"] == 0]
    plug(session)
    assert (await session.call("RemoteStartTransaction", {"connectorId": 1, "idTag": OTHER}))["status"] == "Rejected"
    assert (await session.call("RemoteStartTransaction", {"connectorId": 1, "idTag": RESERVED}))["status"] == \
        "Accepted"
    start = await session.next("StartTransaction", after=mark)
    assert start.payload["reservationId"] == 27


@two_connectors
async def test_with_two_connectors_a_station_reservation_keeps_one_free(session: Session) -> None:
    mark = session.mark()
    assert await reserve(session, 0, 28) == "Accepted"
    await asyncio.sleep(0.8)
    assert not [p for p in sent(session, mark, "StatusNotification") if p["status"] == "Reserved"]  # both free
    plug(session, 1)
    assert (await session.call("RemoteStartTransaction", {"connectorId": 1, "idTag": OTHER}))["status"] == "Accepted"
    start = await session.next("StartTransaction", after=mark)
    assert "reservationId" not in start.payload
    await status(session, 2, "Reserved", mark)  # the last free one is held now
    assert (await session.call("RemoteStartTransaction", {"connectorId": 2, "idTag": OTHER}))["status"] == "Rejected"
    assert await reserve(session, 0, 29) == "Occupied"


async def test_reservations_are_lost_with_the_power(session: Session) -> None:
    mark = session.mark()
    assert await reserve(session, 1, 30) == "Accepted"
    await status(session, 1, "Reserved", mark)
    mark = session.mark()
    session.world.set("mains_on", False)
    await asyncio.sleep(0.3)
    session.world.set("mains_on", True)
    await session.next("BootNotification", after=mark)
    await status(session, 1, "Available", mark)
    assert await cancel(session, 30) == "Rejected"


@without_reservation
async def test_without_the_profile_reserve_now_is_rejected_and_cancel_not_implemented(session: Session) -> None:
    mark = session.mark()
    assert await reserve(session, 1, 31) == "Rejected"
    assert await reserve(session, 0, 31) == "Rejected"
    with pytest.raises(ToolRequestError, match="NotImplemented"):
        await cancel(session, 31)
    keys = (await session.call("GetConfiguration", {"key": ["ReserveConnectorZeroSupported"]}))
    assert keys.get("unknownKey") == ["ReserveConnectorZeroSupported"]
    await asyncio.sleep(0.5)
    assert not [p for p in sent(session, mark, "StatusNotification") if p["status"] == "Reserved"]
