"""The simulated station's Smart Charging profile over the real wire: what it accepts, the composite schedule it
reports (cross-checked with benchctl's own computation, written separately), and the PWM it drives."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from benchctl.csms.link import ToolRequestError
from benchctl.smart.tracker import SmartTracker
from drivers.evse_tester.iec61851 import duty_to_current

from support.station import Session, _settings

VALUES = {"local_limit_a": 32, "supply_voltage_v": 230, "number_phases": 3}


def stamp(seconds: float = 0.0) -> str:
    at = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def profile(pid: int, purpose: str, periods: list[tuple[int, float]], stack: int = 0, unit: str = "A",
            **extra: Any) -> dict[str, Any]:
    schedule = {"chargingRateUnit": unit,
                "chargingSchedulePeriod": [{"startPeriod": s, "limit": v} for s, v in periods]}
    schedule.update(extra.pop("schedule", {}))
    return {"chargingProfileId": pid, "stackLevel": stack, "chargingProfilePurpose": purpose,
            "chargingProfileKind": extra.pop("kind", "Absolute"), "chargingSchedule": schedule, **extra}


async def set_profile(session: Session, connector_id: int, raw: dict[str, Any], tracker: SmartTracker | None = None
                      ) -> str:
    payload = {"connectorId": connector_id, "csChargingProfiles": raw}
    response = await session.call("SetChargingProfile", payload)
    if tracker is not None:
        tracker.sent("SetChargingProfile", payload, response)
    return str(response["status"])


def offered_a(session: Session, connector_id: int = 1) -> float | None:
    return duty_to_current(session.world.connector(connector_id).pwm_duty_pct)


async def test_the_profile_keys_are_there_and_read_only(session: Session) -> None:
    conf = await session.call("GetConfiguration", {"key": ["ChargeProfileMaxStackLevel", "ChargingScheduleMaxPeriods",
                                                           "MaxChargingProfilesInstalled",
                                                           "ChargingScheduleAllowedChargingRateUnit"]})
    keys = {k["key"]: k for k in conf["configurationKey"]}
    assert len(keys) == 4 and all(k["readonly"] for k in keys.values())
    assert int(keys["ChargeProfileMaxStackLevel"]["value"]) >= 1  # TC_072
    assert int(keys["ChargingScheduleMaxPeriods"]["value"]) >= 5 and int(keys["MaxChargingProfilesInstalled"][
        "value"]) >= 3  # TC_066
    assert (await session.call("ChangeConfiguration", {"key": "ChargeProfileMaxStackLevel", "value": "2"}))[
        "status"] == "Rejected"


@pytest.mark.parametrize(("connector_id", "raw", "status"), [
    (1, profile(1, "TxDefaultProfile", [(0, 6)]), "Accepted"),
    (0, profile(1, "TxDefaultProfile", [(0, 6)]), "Accepted"),  # every connector
    (0, profile(1, "ChargePointMaxProfile", [(0, 16)]), "Accepted"),
    (1, profile(1, "ChargePointMaxProfile", [(0, 16)]), "Rejected"),  # only on connector 0
    (2, profile(1, "TxDefaultProfile", [(0, 6)]), "Rejected"),  # no such connector
    (1, profile(1, "TxProfile", [(0, 6)], transactionId=5), "Rejected"),  # no transaction runs (TC_058_1)
    (1, profile(1, "TxProfile", [(0, 6)]), "Rejected"),
    (1, profile(1, "TxDefaultProfile", [(0, 6)], stack=9), "Rejected"),  # above ChargeProfileMaxStackLevel
    (1, profile(1, "TxDefaultProfile", [(i * 10, 6) for i in range(25)]), "Rejected"),  # too many periods
    (1, profile(1, "TxDefaultProfile", [(0, 6)], kind="Recurring"), "Rejected"),  # no recurrencyKind
])
async def test_what_set_charging_profile_accepts(session: Session, connector_id: int, raw: dict[str, Any],
                                                 status: str) -> None:
    assert await set_profile(session, connector_id, raw) == status


async def test_composite_schedule_of_stacked_defaults_matches_benchctls_computation(session: Session) -> None:
    """TC_072's profiles: stack level 1 for 150 s over stack level 0, under a station maximum."""
    tracker = SmartTracker.from_values(session.link.inbox, VALUES)
    start, until = stamp(-5), stamp(396)
    common = {"validFrom": start, "validTo": until}
    assert await set_profile(session, 1, profile(1, "TxDefaultProfile", [(0, 6), (100, 8), (200, 10)], 0, schedule={
        "duration": 400, "startSchedule": start}, **common), tracker) == "Accepted"
    assert await set_profile(session, 1, profile(2, "TxDefaultProfile", [(0, 7), (100, 9)], 1, schedule={
        "duration": 150, "startSchedule": start}, **common), tracker) == "Accepted"
    assert await set_profile(session, 0, profile(3, "ChargePointMaxProfile", [(0, 9.5)]), tracker) == "Accepted"
    response = await session.call("GetCompositeSchedule", {"connectorId": 1, "duration": 350,
                                                           "chargingRateUnit": "A"})
    schedule = response["chargingSchedule"]
    assert response["status"] == "Accepted" and response["connectorId"] == 1
    assert schedule["duration"] == 350 and schedule["chargingRateUnit"] == "A"
    assert [p["limit"] for p in schedule["chargingSchedulePeriod"]] == [7, 9, 8, 9.5]
    assert [p["startPeriod"] for p in schedule["chargingSchedulePeriod"]] == pytest.approx([0, 95, 145, 195], abs=1)
    problems, _ = tracker.judge(response, 1, 1.0, datetime.now(timezone.utc), "A")
    assert problems == []
    watts = await session.call("GetCompositeSchedule", {"connectorId": 1, "duration": 100, "chargingRateUnit": "W"})
    assert [p["limit"] for p in watts["chargingSchedule"]["chargingSchedulePeriod"]] == [7 * 690, 9 * 690]
    assert tracker.judge(watts, 1, 1.0, datetime.now(timezone.utc), "W")[0] == []


async def test_clear_charging_profile_by_id_by_criteria_and_unknown(session: Session) -> None:
    await set_profile(session, 1, profile(1, "TxDefaultProfile", [(0, 6)], 1))
    await set_profile(session, 1, profile(2, "TxDefaultProfile", [(0, 7)], 0))
    await set_profile(session, 0, profile(3, "ChargePointMaxProfile", [(0, 11)]))

    async def composite() -> list[float]:
        r = await session.call("GetCompositeSchedule", {"connectorId": 1, "duration": 60})
        return [p["limit"] for p in r["chargingSchedule"]["chargingSchedulePeriod"]]
    assert await composite() == [6]
    assert (await session.call("ClearChargingProfile", {"id": 1}))["status"] == "Accepted"
    assert await composite() == [7]
    assert (await session.call("ClearChargingProfile", {"chargingProfilePurpose": "TxDefaultProfile",
                                                        "stackLevel": 0}))["status"] == "Accepted"
    assert await composite() == [11]
    assert (await session.call("ClearChargingProfile", {"id": 1}))["status"] == "Unknown"
    assert (await session.call("ClearChargingProfile", {}))["status"] == "Accepted"
    assert await composite() == [32]  # the station's own limit
    assert (await session.call("ClearChargingProfile", {}))["status"] == "Unknown"


async def test_the_pwm_and_the_meter_follow_the_limit_in_force(session: Session) -> None:
    tx = await session.charging()
    assert offered_a(session) == 32
    assert await set_profile(session, 1, profile(1, "TxProfile", [(0, 10)], transactionId=tx)) == "Accepted"
    await asyncio.sleep(0.2)
    assert offered_a(session) == pytest.approx(10, abs=0.1)
    assert session.sim.station.energy.power_w(1) == pytest.approx(10 * 690, rel=0.01)
    await set_profile(session, 0, profile(2, "ChargePointMaxProfile", [(0, 8)]))  # a lower cap
    await asyncio.sleep(0.2)
    assert offered_a(session) == pytest.approx(8, abs=0.1)
    await set_profile(session, 0, profile(2, "ChargePointMaxProfile", [(0, 3)]))  # below 6 A: nothing offered
    await session.next("StatusNotification", lambda p: p["status"] == "SuspendedEVSE")
    assert session.world.connector(1).pwm_duty_pct == 100.0
    mark = session.mark()
    assert (await session.call("ClearChargingProfile", {}))["status"] == "Accepted"
    await session.next("StatusNotification", lambda p: p["status"] == "Charging", after=mark)
    assert offered_a(session) == 32


async def test_a_new_period_changes_the_pwm_within_a_second(session: Session) -> None:
    tx = await session.charging()
    raw = profile(1, "TxProfile", [(0, 10), (2, 6)], kind="Relative", transactionId=tx)
    started = asyncio.get_running_loop().time()
    assert await set_profile(session, 1, raw) == "Accepted"
    await asyncio.sleep(0.2)
    # relative to the transaction's start, which was a moment ago
    assert offered_a(session) in (pytest.approx(10, abs=0.1), pytest.approx(6, abs=0.1))
    while offered_a(session) != pytest.approx(6, abs=0.1):
        assert asyncio.get_running_loop().time() - started < 3.5
        await asyncio.sleep(0.1)


async def test_the_pwm_changes_at_the_boundary_of_each_period(session: Session) -> None:
    """The firmware wakes for a period's start, not on its next one-second tick: each change is on the Control
    Pilot within a few ticks of the loop after its boundary."""
    await session.charging()
    changes: list[tuple[datetime, float | None]] = []

    def on_world(event: str, value: Any) -> None:
        if event == "connector1.pwm_duty_pct":
            changes.append((datetime.now(timezone.utc), duty_to_current(value)))
    session.world.subscribe(on_world)
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=1)
    raw = profile(1, "TxDefaultProfile", [(0, 16), (1, 10), (2, 8), (3, 6)],
                  schedule={"startSchedule": start.isoformat().replace("+00:00", "Z")})
    assert await set_profile(session, 0, raw) == "Accepted"
    while datetime.now(timezone.utc) < start + timedelta(seconds=3.3):
        await asyncio.sleep(0.05)
    session.world.unsubscribe(on_world)
    for second, amps in ((1, 10), (2, 8), (3, 6)):
        at = next(t for t, a in changes if a == pytest.approx(amps, abs=0.1))
        late = (at - (start + timedelta(seconds=second))).total_seconds()
        assert -0.05 < late < 0.25, f"{amps} A came {late:.3f} s after its period began"


async def test_tx_profile_for_another_transaction_is_rejected_and_ends_with_its_own(session: Session) -> None:
    tx = await session.charging()
    assert await set_profile(session, 1, profile(1, "TxProfile", [(0, 6)], transactionId=tx + 1)) == "Rejected"
    assert await set_profile(session, 1, profile(1, "TxProfile", [(0, 6)], transactionId=tx)) == "Accepted"
    assert await session.call("RemoteStopTransaction", {"transactionId": tx}) == {"status": "Accepted"}
    await session.next("StopTransaction")
    r = await session.call("GetCompositeSchedule", {"connectorId": 1, "duration": 60})
    assert [p["limit"] for p in r["chargingSchedule"]["chargingSchedulePeriod"]] == [32]  # gone with its transaction
    assert (await session.call("ClearChargingProfile", {}))["status"] == "Unknown"


async def test_remote_start_with_a_profile(session: Session) -> None:
    default = {"connectorId": 1, "idTag": "04A1B2C3", "chargingProfile": profile(1, "TxDefaultProfile", [(0, 6)])}
    assert (await session.call("RemoteStartTransaction", default))["status"] == "Rejected"  # TC_060
    with_id = {**default, "chargingProfile": profile(1, "TxProfile", [(0, 6)], transactionId=3)}
    assert (await session.call("RemoteStartTransaction", with_id))["status"] == "Rejected"  # no transaction yet
    mark = session.mark()
    session.world.set("ev_state", "C", connector_id=1)
    session.world.set("plugged_ev_side", True, connector_id=1)
    request = {**default, "chargingProfile": profile(1, "TxProfile", [(0, 12)], kind="Relative")}
    assert (await session.call("RemoteStartTransaction", request))["status"] == "Accepted"
    await session.next("StatusNotification", lambda p: p["status"] == "Charging", after=mark)
    assert offered_a(session) == pytest.approx(12, abs=0.1)  # from the first moment of the transaction
    r = await session.call("GetCompositeSchedule", {"connectorId": 1, "duration": 60, "chargingRateUnit": "A"})
    assert [p["limit"] for p in r["chargingSchedule"]["chargingSchedulePeriod"]] == [12]


async def test_composite_for_an_unknown_connector_is_rejected(session: Session) -> None:
    assert (await session.call("GetCompositeSchedule", {"connectorId": 3, "duration": 60}))["status"] == "Rejected"
    r = await session.call("GetCompositeSchedule", {"connectorId": 0, "duration": 60})
    assert r["status"] == "Accepted" and r["connectorId"] == 0


@pytest.mark.parametrize("station_settings", [_settings(profiles=["Core", "RemoteTrigger"])])
async def test_without_the_profile_the_requests_are_not_implemented(session: Session) -> None:
    with pytest.raises(ToolRequestError, match="NotImplemented"):
        await session.call("SetChargingProfile", {"connectorId": 1,
                                                  "csChargingProfiles": profile(1, "TxDefaultProfile", [(0, 6)])})
    with pytest.raises(ToolRequestError, match="NotImplemented"):
        await session.call("GetCompositeSchedule", {"connectorId": 1, "duration": 60})
    conf = await session.call("GetConfiguration", {"key": ["ChargeProfileMaxStackLevel"]})
    assert conf.get("unknownKey") == ["ChargeProfileMaxStackLevel"]
    tx = await session.charging()
    assert tx and offered_a(session) == 32
