"""Chapter 8 timings from capture records: which pairs count, which do not, and the frames each cites."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from benchctl.perf.timings import AUTHORIZE, RESPONSE, TRIGGERED, case_timings

T0 = 1_800_000_000.0


class Wire:
    """Capture records as the run writes them, with a clock the test moves."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.t = 0.0

    def at(self, t: float) -> "Wire":
        self.t = t
        return self

    def _add(self, direction: str, kind: str, uid: str, action: str, message: list[Any]) -> None:
        self.records.append({"i": len(self.records), "mono": 100.0 + self.t,
                             "ts": datetime.fromtimestamp(T0 + self.t, timezone.utc).isoformat(),
                             "dir": direction, "type": kind, "id": uid, "action": action,
                             "raw": json.dumps(message)})

    def tool_call(self, uid: str, action: str, payload: dict[str, Any]) -> None:
        self._add("csms->charger", "CALL", uid, action, [2, uid, action, payload])

    def charger_answer(self, uid: str, action: str, payload: dict[str, Any]) -> None:
        self._add("charger->csms", "CALLRESULT", uid, action, [3, uid, payload])

    def charger_error(self, uid: str, action: str) -> None:
        self._add("charger->csms", "CALLERROR", uid, action, [4, uid, "NotImplemented", "", {}])

    def charger_call(self, uid: str, action: str, payload: dict[str, Any]) -> None:
        self._add("charger->csms", "CALL", uid, action, [2, uid, action, payload])


def _by_kind(timings: list[Any], kind: str) -> list[tuple[str, float, tuple[int, ...]]]:
    return [(t.name, round(t.ms, 3), t.frames) for t in timings if t.kind == kind]


def test_remote_start_gives_a_response_time_and_a_triggered_time() -> None:
    w = Wire()
    w.at(0.0).tool_call("a", "RemoteStartTransaction", {"idTag": "X"})
    w.at(0.120).charger_answer("a", "RemoteStartTransaction", {"status": "Accepted"})
    w.at(0.300).charger_call("b", "StatusNotification", {"connectorId": 1, "status": "Available"})
    w.at(0.450).charger_call("c", "StatusNotification", {"connectorId": 1, "status": "Preparing"})
    w.at(0.900).charger_call("d", "StartTransaction", {"connectorId": 1})
    timings = case_timings(w.records)
    assert _by_kind(timings, RESPONSE) == [("RemoteStartTransaction", 120.0, (0, 1))]
    # the first promised message counts (Preparing), not an unrelated status before it
    assert _by_kind(timings, TRIGGERED) == [
        ("RemoteStartTransaction -> StatusNotification(Preparing)/Authorize/StartTransaction", 330.0, (1, 3))]


def test_a_rejected_request_promises_nothing() -> None:
    w = Wire()
    w.at(0.0).tool_call("a", "ReserveNow", {"connectorId": 1})
    w.at(0.050).charger_answer("a", "ReserveNow", {"status": "Occupied"})
    w.at(0.100).charger_call("b", "StatusNotification", {"connectorId": 1, "status": "Reserved"})
    assert _by_kind(case_timings(w.records), TRIGGERED) == []


def test_trigger_message_waits_for_the_requested_message_only() -> None:
    w = Wire()
    w.at(0.0).tool_call("a", "TriggerMessage", {"requestedMessage": "Heartbeat"})
    w.at(0.010).charger_answer("a", "TriggerMessage", {"status": "Accepted"})
    w.at(0.020).charger_call("b", "StatusNotification", {"connectorId": 0, "status": "Available"})
    w.at(0.250).charger_call("c", "Heartbeat", {})
    assert _by_kind(case_timings(w.records), TRIGGERED) == [
        ("TriggerMessage -> the requested message", 240.0, (1, 3))]


def test_a_callerror_is_a_response_and_an_unanswered_call_is_not() -> None:
    w = Wire()
    w.at(0.0).tool_call("a", "ReserveNow", {"connectorId": 1})
    w.at(0.040).charger_error("a", "ReserveNow")
    w.at(1.0).tool_call("z", "Reset", {"type": "Soft"})
    assert _by_kind(case_timings(w.records), RESPONSE) == [("ReserveNow", 40.0, (0, 1))]


def test_a_promised_message_too_late_is_not_counted() -> None:
    w = Wire()
    w.at(0.0).tool_call("a", "RemoteStopTransaction", {"transactionId": 1})
    w.at(0.010).charger_answer("a", "RemoteStopTransaction", {"status": "Accepted"})
    w.at(500.0).charger_call("b", "StopTransaction", {"transactionId": 1})
    assert _by_kind(case_timings(w.records), TRIGGERED) == []


def test_card_presented_until_authorize() -> None:
    w = Wire()
    w.at(2.0).charger_call("x", "Authorize", {"idTag": "OLD"})  # before the card: not this card's
    w.at(5.5).charger_call("y", "Authorize", {"idTag": "CARD"})  # while the card is still held
    actions = [{"role": "card", "command": "present", "ts": T0 + 5.0, "duration_s": 1.0, "error": None},
               {"role": "ev", "command": "set_cp_state", "ts": T0 + 1.0, "duration_s": 0.01, "error": None}]
    assert _by_kind(case_timings(w.records, actions), AUTHORIZE) == [("card presented -> Authorize", 500.0, (1,))]


def test_records_that_are_not_ocpp_are_skipped_not_fatal() -> None:
    w = Wire()
    w.at(0.0).tool_call("a", "ChangeAvailability", {"connectorId": 0, "type": "Inoperative"})
    w.at(0.010).charger_answer("a", "ChangeAvailability", {"status": "Accepted"})
    w.records.append({"i": 2, "mono": 100.02, "ts": None, "dir": "charger->csms", "type": "INVALID", "id": None,
                      "action": None, "raw": "garbage{"})
    w.at(0.030).charger_call("b", "StatusNotification", {"connectorId": 0, "status": "Unavailable"})
    w.records[-1]["i"] = 3
    assert _by_kind(case_timings(w.records), TRIGGERED) == [
        ("ChangeAvailability -> StatusNotification", 20.0, (1, 3))]
