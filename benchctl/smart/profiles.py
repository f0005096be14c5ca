"""OCPP 1.6 charging profiles as the Central System sends them (camelCase JSON), parsed into plain values.

Times are aware datetimes; schedule offsets are seconds. Only what the composite schedule depends on is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

PURPOSES = ("ChargePointMaxProfile", "TxDefaultProfile", "TxProfile")
KINDS = ("Absolute", "Recurring", "Relative")
RECURRENCY_S = {"Daily": 86400, "Weekly": 7 * 86400}


class ProfileError(ValueError):
    """A profile benchctl cannot reason about (a scenario mistake, since the schema already passed)."""


def parse_time(value: Any) -> datetime | None:
    """An OCPP dateTime as an aware datetime (UTC assumed when no offset is given); None when absent."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise ProfileError(f"not an OCPP dateTime: {value!r}") from exc
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def plus(at: datetime, seconds: float) -> datetime:
    return at + timedelta(seconds=seconds)


def seconds_between(earlier: datetime, later: datetime) -> float:
    return (later - earlier).total_seconds()


@dataclass(frozen=True)
class Period:
    start_s: float  # offset from the schedule's start
    limit: float  # in the schedule's unit; None in a computed schedule: no limit known (no local limit)
    number_phases: int | None = None


@dataclass(frozen=True)
class Schedule:
    unit: str  # "A" or "W"
    periods: tuple[Period, ...]
    duration_s: float | None = None  # None: runs on after its last period starts
    start: datetime | None = None  # startSchedule


@dataclass(frozen=True)
class Profile:
    profile_id: int
    connector_id: int  # the SetChargingProfile.req connectorId (0: the whole charge point)
    stack_level: int
    purpose: str
    kind: str
    schedule: Schedule
    recurrency: str | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    transaction_id: int | None = None


def parse_schedule(raw: dict[str, Any]) -> Schedule:
    periods = tuple(Period(float(p["startPeriod"]), float(p["limit"]), p.get("numberPhases"))
                    for p in raw.get("chargingSchedulePeriod") or [])
    if not periods:
        raise ProfileError("a charging schedule needs at least one period")
    if any(b.start_s <= a.start_s for a, b in zip(periods, periods[1:])):
        raise ProfileError("schedule periods must be in increasing order of startPeriod")
    unit = raw.get("chargingRateUnit")
    if unit not in ("A", "W"):
        raise ProfileError(f"chargingRateUnit must be A or W, not {unit!r}")
    duration = raw.get("duration")
    return Schedule(unit, periods, None if duration is None else float(duration), parse_time(raw.get("startSchedule")))


def parse_profile(connector_id: int, raw: dict[str, Any]) -> Profile:
    """A csChargingProfiles (SetChargingProfile.req) or chargingProfile (RemoteStartTransaction.req) object."""
    purpose, kind = raw.get("chargingProfilePurpose"), raw.get("chargingProfileKind")
    if purpose not in PURPOSES:
        raise ProfileError(f"unknown chargingProfilePurpose {purpose!r}")
    if kind not in KINDS:
        raise ProfileError(f"unknown chargingProfileKind {kind!r}")
    recurrency = raw.get("recurrencyKind")
    schedule = parse_schedule(raw.get("chargingSchedule") or {})
    if kind == "Recurring" and (recurrency not in RECURRENCY_S or schedule.start is None):
        raise ProfileError("a Recurring profile needs recurrencyKind (Daily/Weekly) and a startSchedule")
    return Profile(int(raw["chargingProfileId"]), int(connector_id), int(raw["stackLevel"]), purpose, kind,
                   schedule, recurrency if kind == "Recurring" else None, parse_time(raw.get("validFrom")),
                   parse_time(raw.get("validTo")), raw.get("transactionId"))


def to_unit(limit: float, unit: str, wanted: str, phases: int | None, voltage_v: float) -> float:
    """A limit in `wanted` units: W = A x voltage x phases (3 phases when the period does not say)."""
    if unit == wanted:
        return limit
    factor = voltage_v * (phases or 3)
    return limit * factor if wanted == "W" else limit / factor


def in_rate_unit(payload: Any, unit: str) -> Any:
    """A request whose charging schedules are written in A, as the test case document gives them, sent in `unit`:
    every chargingSchedule gets that chargingRateUnit, and for W its limits x 1000 (the document's note "If
    <Configured chargingRateUnit> is W, then the limit field will be multiplied by 1000")."""
    if unit not in ("A", "W"):
        raise ValueError(f"rate_unit must be A or W, not {unit!r}")
    if isinstance(payload, list):
        return [in_rate_unit(item, unit) for item in payload]
    if not isinstance(payload, dict):
        return payload
    out = {key: in_rate_unit(value, unit) for key, value in payload.items()}
    if isinstance(out.get("chargingSchedulePeriod"), list):
        out["chargingRateUnit"] = unit
        factor = 1000 if unit == "W" else 1
        out["chargingSchedulePeriod"] = [{**p, "limit": p["limit"] * factor} if "limit" in p else p
                                         for p in out["chargingSchedulePeriod"]]
    return out
