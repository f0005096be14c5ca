"""What a running case has told the charger about charging profiles, and what it saw of transactions, as the
scenario engine needs it: the composite schedule a GetCompositeSchedule.conf must equal, and the limit the
charger must signal on the Control Pilot now.

Only requests the charger answered Accepted count (a rejected profile is not installed). Profiles installed
before the case do not exist: the return to idle clears them (test case document 1.3, "no charging schedules
active").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, Sequence

from .compare import compare
from .composite import Limits, ProfileBook, Transaction, composite, limit_in_force
from .profiles import ProfileError, Schedule, parse_profile, parse_time


class Message(Protocol):
    """A charger request as the Central System link keeps it (benchctl.csms.link.Received)."""

    action: str
    payload: dict[str, Any]
    answer: dict[str, Any] | None


def transactions(inbox: Sequence[Message]) -> list[Transaction]:
    """The transactions the charger reported, with those it has stopped left out."""
    started: dict[int | None, Transaction] = {}
    stopped: set[int] = set()
    for seq, item in enumerate(inbox):
        if item.action == "StartTransaction":
            tx_id = (item.answer or {}).get("transactionId")
            at = parse_time(item.payload.get("timestamp"))
            if at is not None:
                started[tx_id] = Transaction(int(item.payload.get("connectorId", 0)), tx_id,
                                             str(item.payload.get("idTag")), at, seq)
        elif item.action == "StopTransaction":
            if isinstance(stopped_id := item.payload.get("transactionId"), int):
                stopped.add(stopped_id)
    return [tx for tx_id, tx in started.items() if tx_id not in stopped]


class SmartTracker:
    ACTIONS = ("SetChargingProfile", "ClearChargingProfile", "RemoteStartTransaction")  # what changes profiles

    def __init__(self, inbox: Sequence[Message], limits: Limits) -> None:
        self.inbox = inbox
        self.limits = limits
        self.book = ProfileBook()

    @classmethod
    def from_values(cls, inbox: Sequence[Message], values: dict[str, Any]) -> "SmartTracker":
        local = values.get("local_limit_a")  # None: the charger has no local limit
        return cls(inbox, Limits(None if local is None else float(local), float(values["supply_voltage_v"]),
                                 int(values["number_phases"])))

    def running(self, connector_id: int) -> Transaction | None:
        """The latest transaction still running on the connector."""
        mine = [tx for tx in transactions(self.inbox) if tx.connector_id == connector_id]
        return mine[-1] if mine else None

    def sent(self, action: str, payload: dict[str, Any], response: dict[str, Any], seq: int | None = None) -> None:
        """A tool request and the charger's answer: remember what it changed in the installed profiles. `seq`: the
        inbox length when the request left (what the charger sent after it may be its doing)."""
        if response.get("status") != "Accepted":
            return
        seq = len(self.inbox) if seq is None else seq
        try:
            if action == "SetChargingProfile":
                profile = parse_profile(payload["connectorId"], payload["csChargingProfiles"])
                tx_id = profile.transaction_id
                if profile.purpose == "TxProfile" and tx_id is None:  # the transaction running there now
                    running = self.running(profile.connector_id)
                    tx_id = running.transaction_id if running is not None else None
                self.book.install(profile, transaction_id=tx_id, seq=seq)
            elif action == "ClearChargingProfile":
                self.book.clear(payload.get("id"), payload.get("connectorId"), payload.get("chargingProfilePurpose"),
                                payload.get("stackLevel"))
            elif action == "RemoteStartTransaction" and payload.get("chargingProfile"):
                profile = parse_profile(payload.get("connectorId") or 0, payload["chargingProfile"])
                self.book.install(profile, pending_id_tag=str(payload["idTag"]), seq=seq)
        except (KeyError, TypeError, ProfileError) as exc:
            raise ValueError(f"{action}: a charging profile benchctl cannot follow: {exc}") from exc

    def expected(self, connector_id: int, start: datetime, duration_s: float, unit: str) -> Schedule:
        return composite(self.book, connector_id, start, duration_s, unit, self.running(connector_id),
                         self.limits)

    def judge(self, response: dict[str, Any], connector_id: int, tolerance_s: float, now: datetime,
              unit: str | None = None, start_within_s: float | None = None) -> tuple[list[str], Schedule | None]:
        """A GetCompositeSchedule.conf against the computed schedule; returns the problems and what was expected.
        Period boundaries may be off by tolerance_s. The schedule's start is the charger's (scheduleStart or
        chargingSchedule.startSchedule) and must be within start_within_s (default: tolerance_s) of `now`, the
        time of the answer (the document's <Configured Max Time Deviation>). `unit`: the one requested."""
        schedule = response.get("chargingSchedule")
        if response.get("status") != "Accepted" or not isinstance(schedule, dict):
            return [f"no composite schedule in the answer (status {response.get('status')!r})"], None
        start = parse_time(schedule.get("startSchedule") or response.get("scheduleStart"))
        if start is None:
            return ["the composite schedule has no start (scheduleStart / startSchedule)"], None
        problems = []
        off, start_within_s = abs((start - now).total_seconds()), start_within_s or tolerance_s
        if off > start_within_s:
            problems.append(f"its start {schedule.get('startSchedule') or response.get('scheduleStart')} is "
                            f"{off:.1f} s from the time of the answer (at most {start_within_s:g} s)")
        duration = schedule.get("duration")
        if duration is None:
            return problems + ["the composite schedule has no duration"], None
        wanted = unit or str(schedule.get("chargingRateUnit"))
        expected = self.expected(connector_id, start, float(duration), wanted)
        return problems + compare(schedule, expected, tolerance_s), expected

    def limit_in_force_a(self, connector_id: int, at: datetime) -> float | None:
        return limit_in_force(self.book, connector_id, at, self.running(connector_id), self.limits)
