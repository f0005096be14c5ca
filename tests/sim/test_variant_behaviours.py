"""The behaviour variants' station settings over the real wire (hil_sim/variants.py names combinations of them):
read-only keys at fixed values, Charging before StartTransaction, power-only smart charging, no local limit,
connectorId 0 reported last at boot, and two connectors sharing one EVSE. Each test also holds the default
behaviour against the variant's, so it fails when the setting does nothing."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from hil_sim.variants import VARIANTS

from support.station import Session, _settings, present, status


def _in(seconds: float) -> str:
    at = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def reserve(session: Session, connector_id: int, reservation_id: int, id_tag: str = "04A1B2C3") -> str:
    payload = {"connectorId": connector_id, "expiryDate": _in(60), "idTag": id_tag, "reservationId": reservation_id}
    return str((await session.call("ReserveNow", payload))["status"])


def profile(pid: int, purpose: str, periods: list[tuple[int, float]], unit: str = "A", **schedule: Any
            ) -> dict[str, Any]:
    return {"chargingProfileId": pid, "stackLevel": 0, "chargingProfilePurpose": purpose,
            "chargingProfileKind": "Absolute",
            "chargingSchedule": {"chargingRateUnit": unit, **schedule,
                                 "chargingSchedulePeriod": [{"startPeriod": s, "limit": v} for s, v in periods]}}


async def set_profile(session: Session, connector_id: int, raw: dict[str, Any]) -> str:
    answer = await session.call("SetChargingProfile", {"connectorId": connector_id, "csChargingProfiles": raw})
    return str(answer["status"])


def _variant(name: str, **more: Any) -> Any:
    return pytest.mark.parametrize("station_settings", [_settings(**{**VARIANTS[name].station, **more})])


def statuses(session: Session, after: int = 0) -> list[tuple[int, str]]:
    return [(i.payload["connectorId"], i.payload["status"]) for i in session.link.inbox[after:]
            if i.action == "StatusNotification"]


# ----------------------------------------------------------------- read-only keys at fixed values
@_variant("fixed-keys")
async def test_fixed_keys_are_read_only_at_their_value_and_refuse_changes(session: Session) -> None:
    conf = await session.call("GetConfiguration", {"key": ["StopTransactionOnEVSideDisconnect",
                                                           "AuthorizeRemoteTxRequests", "StopTransactionOnInvalidId"]})
    keys = {k["key"]: (k["value"], k["readonly"]) for k in conf["configurationKey"]}
    assert keys == {"StopTransactionOnEVSideDisconnect": ("true", True), "AuthorizeRemoteTxRequests": ("true", True),
                    "StopTransactionOnInvalidId": ("true", False)}
    for key in ("StopTransactionOnEVSideDisconnect", "AuthorizeRemoteTxRequests"):
        for value in ("false", "true"):  # even the value it has: a read-only key is never changed
            answer = await session.call("ChangeConfiguration", {"key": key, "value": value})
            assert answer["status"] == "Rejected", (key, value)


async def test_by_default_those_keys_are_writable(session: Session) -> None:
    answer = await session.call("ChangeConfiguration", {"key": "AuthorizeRemoteTxRequests", "value": "true"})
    assert answer["status"] == "Accepted"


def test_a_fixed_key_the_station_does_not_have_is_a_clear_error() -> None:
    from hil_sim.charger.config_keys import default_keys, fix

    with pytest.raises(ValueError, match="no key 'Nonsense'"):
        fix(default_keys(1, ["Core"]), {"Nonsense": True})


# ----------------------------------------------------------------- Charging before StartTransaction
def _order(session: Session, mark: int) -> list[str]:
    return [i.action if i.action != "StatusNotification" else i.payload["status"]
            for i in session.link.inbox[mark:] if i.action in ("StartTransaction", "StatusNotification")]


async def _start(session: Session) -> list[str]:
    rt = session.sim.station.rt
    assert rt is not None
    await asyncio.wait_for(rt.online.wait(), 5)  # the boot's statuses went out; the link is up for everything
    mark = session.mark()
    await session.charging()
    await asyncio.sleep(0.3)
    return [event for event in _order(session, mark) if event in ("Charging", "StartTransaction")][:2]


@_variant("charging-before-start")
async def test_charging_is_reported_before_the_start_transaction(session: Session) -> None:
    assert await _start(session) == ["Charging", "StartTransaction"]


async def test_by_default_start_transaction_comes_first(session: Session) -> None:
    assert await _start(session) == ["StartTransaction", "Charging"]


@_variant("charging-before-start")
async def test_an_ev_not_asking_for_energy_is_not_reported_charging_early(session: Session) -> None:
    mark = session.mark()
    session.world.set("ev_state", "B", connector_id=1)
    session.world.set("plugged_ev_side", True, connector_id=1)
    await session.call("RemoteStartTransaction", {"connectorId": 1, "idTag": "04A1B2C3"})
    await session.next("StartTransaction", after=mark)
    await session.next("StatusNotification", lambda p: p["status"] == "SuspendedEV", after=mark)
    assert "Charging" not in _order(session, mark)


# ----------------------------------------------------------------- power-only smart charging
@_variant("power-only")
async def test_a_power_only_station_says_so_and_refuses_current_schedules(session: Session) -> None:
    conf = await session.call("GetConfiguration", {"key": ["ChargingScheduleAllowedChargingRateUnit"]})
    assert conf["configurationKey"][0]["value"] == "Power"
    assert await set_profile(session, 1, profile(1, "TxDefaultProfile", [(0, 10)])) == "Rejected"
    assert await set_profile(session, 1, profile(1, "TxDefaultProfile", [(0, 6900)], unit="W")) == "Accepted"
    amps = await session.call("GetCompositeSchedule", {"connectorId": 1, "duration": 60, "chargingRateUnit": "A"})
    assert amps["status"] == "Rejected"
    for request in ({"chargingRateUnit": "W"}, {}):  # no unit asked: its own unit
        watts = await session.call("GetCompositeSchedule", {"connectorId": 1, "duration": 60, **request})
        schedule = watts["chargingSchedule"]
        assert (schedule["chargingRateUnit"], schedule["chargingSchedulePeriod"][0]["limit"]) == ("W", 6900)
    remote = await session.call("RemoteStartTransaction", {"connectorId": 1, "idTag": "04A1B2C3",
                                                           "chargingProfile": profile(9, "TxProfile", [(0, 10)])})
    assert remote["status"] == "Rejected"


async def test_by_default_both_units_are_taken(session: Session) -> None:
    conf = await session.call("GetConfiguration", {"key": ["ChargingScheduleAllowedChargingRateUnit"]})
    assert conf["configurationKey"][0]["value"] == "Current,Power"
    assert await set_profile(session, 1, profile(1, "TxDefaultProfile", [(0, 10)])) == "Accepted"


# ----------------------------------------------------------------- no local limit
async def _composite(session: Session) -> list[dict[str, Any]]:
    r = await session.call("GetCompositeSchedule", {"connectorId": 1, "duration": 60, "chargingRateUnit": "A"})
    return list(r["chargingSchedule"]["chargingSchedulePeriod"])


@_variant("no-local-limit")
async def test_without_a_local_limit_no_profile_means_no_period(session: Session) -> None:
    assert await _composite(session) == []
    start = _in(-1)
    raw = profile(1, "TxDefaultProfile", [(0, 10)], duration=31, startSchedule=start)
    assert await set_profile(session, 1, raw) == "Accepted"
    periods = await _composite(session)
    # past the profile's end nothing but the connector's own maximum limits it
    assert [p["limit"] for p in periods] == [10, 32]
    await session.charging()
    assert session.world.connector(1).pwm_duty_pct < 100.0  # it still offers energy without any limit


async def test_by_default_the_local_limit_is_reported(session: Session) -> None:
    assert [p["limit"] for p in await _composite(session)] == [32]


# ----------------------------------------------------------------- connectorId 0 at boot
@_variant("station-status-last", connectors=2)
async def test_connector_0_is_reported_after_the_connectors_at_boot(session: Session) -> None:
    await session.next("StatusNotification", lambda p: p["connectorId"] == 0)
    assert statuses(session) == [(1, "Available"), (2, "Available"), (0, "Available")]


@pytest.mark.parametrize("station_settings", [_settings(connectors=2)])
async def test_by_default_connector_0_comes_first(session: Session) -> None:
    await session.next("StatusNotification", lambda p: p["connectorId"] == 2)
    assert statuses(session) == [(0, "Available"), (1, "Available"), (2, "Available")]


# ----------------------------------------------------------------- two connectors on one EVSE
shared = _variant("shared-evse")


@shared
async def test_while_one_connector_charges_the_other_takes_no_session(session: Session) -> None:
    """Appendix D allows another connector's statuses only in the Reservation cases: a session on one connector
    leaves the other reported as it was; it just cannot start."""
    await session.next("StatusNotification", lambda p: p["connectorId"] == 2)  # booted
    mark = session.mark()
    await session.charging(1)
    answer = await session.call("RemoteStartTransaction", {"connectorId": 2, "idTag": "04D4E5F6"})
    assert answer["status"] == "Rejected"
    assert [s for s in statuses(session, mark) if s[0] == 2] == []
    mark = session.mark()
    session.world.set("plugged_ev_side", False, connector_id=1)  # the first session ends: the stage is free
    await session.next("StopTransaction", after=mark)
    answer = await session.call("RemoteStartTransaction", {"connectorId": 2, "idTag": "04D4E5F6"})
    assert answer["status"] == "Accepted"
    await status(session, 2, "Preparing", mark)


@pytest.mark.parametrize("station_settings", [_settings(connectors=2)])
async def test_by_default_each_connector_is_its_own_evse(session: Session) -> None:
    mark = session.mark()
    await session.charging(1)
    await session.charging(2)
    assert (2, "Unavailable") not in statuses(session, mark)


@shared
async def test_a_reservation_of_one_connector_makes_the_other_unavailable(session: Session) -> None:
    mark = session.mark()
    assert await reserve(session, 1, 21) == "Accepted"
    await status(session, 1, "Reserved", mark)
    await status(session, 2, "Unavailable", mark)
    assert await reserve(session, 2, 22, id_tag="04D4E5F6") == "Unavailable"


@shared
async def test_a_reservation_of_the_station_holds_both_connectors(session: Session) -> None:
    mark = session.mark()
    assert await reserve(session, 0, 31) == "Accepted"
    await status(session, 1, "Reserved", mark)
    await status(session, 2, "Reserved", mark)
    await present(session, "04A1B2C3")  # the reserved driver takes one: the reservation ends on both
    await status(session, 2, "Available", mark)



@shared
async def test_the_station_is_occupied_while_its_one_evse_serves_a_session(session: Session) -> None:
    """TC_050_2 on a shared EVSE: the other connector is still reported Available, yet the station as a whole
    cannot take a reservation, nor does a second card get an Authorize (TC_068)."""
    await session.next("StatusNotification", lambda p: p["connectorId"] == 2)  # booted
    mark = session.mark()
    session.world.set("plugged_ev_side", True, connector_id=1)  # a cable alone (TC_050_2's SetConnectorOccupied)
    await status(session, 1, "Preparing", mark)
    assert await reserve(session, 0, 40) == "Occupied"
    await session.charging(1)
    assert await reserve(session, 0, 41) == "Occupied"
    mark = session.mark()
    await present(session, "04D4E5F6")
    await asyncio.sleep(0.3)
    assert [i for i in session.link.inbox[mark:] if i.action == "Authorize"] == []
