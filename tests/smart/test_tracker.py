"""benchctl.smart.tracker: what a case sent and saw, turned into the composite a charger must report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from benchctl.smart.profiles import iso
from benchctl.smart.tracker import SmartTracker, transactions

NOW = datetime.now(timezone.utc).replace(microsecond=0)
VALUES = {"local_limit_a": 16, "supply_voltage_v": 230, "number_phases": 3}


@dataclass
class Msg:
    action: str
    payload: dict[str, Any]
    answer: dict[str, Any] | None = None


def start(tx: int, connector: int = 1, id_tag: str = "A", ago_s: float = 30) -> Msg:
    return Msg("StartTransaction", {"connectorId": connector, "idTag": id_tag, "meterStart": 0,
                                    "timestamp": iso(NOW - timedelta(seconds=ago_s))}, {"transactionId": tx})


def tx_profile(limit: float, transaction_id: int | None = None) -> dict[str, Any]:
    raw: dict[str, Any] = {"chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxProfile",
                           "chargingProfileKind": "Relative",
                           "chargingSchedule": {"chargingRateUnit": "A",
                                                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}]}}
    if transaction_id is not None:
        raw["transactionId"] = transaction_id
    return raw


def test_transactions_leave_out_the_stopped_ones() -> None:
    inbox = [start(1), Msg("StopTransaction", {"transactionId": 1}), start(2, connector=2), start(3)]
    assert [(t.transaction_id, t.connector_id, t.seq) for t in transactions(inbox)] == [(2, 2, 2), (3, 1, 3)]


def test_a_tx_profile_without_transaction_id_belongs_to_the_transaction_running_then() -> None:
    inbox: list[Msg] = [start(7)]
    tracker = SmartTracker.from_values(inbox, VALUES)
    tracker.sent("SetChargingProfile", {"connectorId": 1, "csChargingProfiles": tx_profile(10)}, {"status": "Accepted"})
    assert tracker.limit_in_force_a(1, NOW) == 10
    inbox += [Msg("StopTransaction", {"transactionId": 7}), start(8)]
    assert tracker.limit_in_force_a(1, NOW) == 16  # a new transaction: the profile went with the old one


def test_only_accepted_requests_change_the_installed_profiles() -> None:
    tracker = SmartTracker.from_values([start(7)], VALUES)
    request = {"connectorId": 1, "csChargingProfiles": tx_profile(10, transaction_id=7)}
    tracker.sent("SetChargingProfile", request, {"status": "Rejected"})
    assert tracker.limit_in_force_a(1, NOW) == 16
    tracker.sent("SetChargingProfile", request, {"status": "Accepted"})
    assert tracker.limit_in_force_a(1, NOW) == 10
    tracker.sent("ClearChargingProfile", {"chargingProfilePurpose": "TxDefaultProfile"}, {"status": "Accepted"})
    assert tracker.limit_in_force_a(1, NOW) == 10
    tracker.sent("ClearChargingProfile", {"connectorId": 1}, {"status": "Accepted"})
    assert tracker.limit_in_force_a(1, NOW) == 16


def test_a_remote_start_profile_binds_to_the_transaction_it_started() -> None:
    inbox: list[Msg] = [start(1, ago_s=100), Msg("StopTransaction", {"transactionId": 1})]
    tracker = SmartTracker.from_values(inbox, VALUES)
    request = {"connectorId": 1, "idTag": "A", "chargingProfile": tx_profile(8)}
    tracker.sent("RemoteStartTransaction", request, {"status": "Accepted"}, seq=len(inbox))
    inbox.append(start(2, ago_s=1))  # even when it arrived before the RemoteStartTransaction.conf
    assert tracker.limit_in_force_a(1, NOW) == 8


def test_judge_reports_a_schedule_start_far_from_the_answer_and_missing_parts() -> None:
    tracker = SmartTracker.from_values([], VALUES)
    answer = {"status": "Accepted", "chargingSchedule": {
        "duration": 60, "chargingRateUnit": "A", "startSchedule": iso(NOW - timedelta(seconds=20)),
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16}]}}
    problems, expected = tracker.judge(answer, 1, 1.0, NOW, "A", start_within_s=5)
    assert len(problems) == 1 and "20.0 s from the time of the answer" in problems[0]
    assert expected is not None and [(p.start_s, p.limit) for p in expected.periods] == [(0, 16)]
    assert tracker.judge({"status": "Rejected"}, 1, 1.0, NOW)[0] == ["no composite schedule in the answer "
                                                                    "(status 'Rejected')"]
    del answer["chargingSchedule"]["duration"]
    assert "no duration" in tracker.judge(answer, 1, 1.0, NOW - timedelta(seconds=20))[0][-1]


def test_a_profile_benchctl_cannot_follow_is_a_scenario_error() -> None:
    tracker = SmartTracker.from_values([], VALUES)
    with pytest.raises(ValueError, match="cannot follow"):
        tracker.sent("SetChargingProfile", {"connectorId": 1, "csChargingProfiles": {"chargingProfileId": 1}},
                     {"status": "Accepted"})
