"""The charging profiles a correct charger has installed after a case's requests, and the composite schedule
they give (OCPP 1.6, 3.13: purposes, stack levels, kinds, validity).

How benchctl reads the specification:
  - a new profile replaces an installed one with the same chargingProfileId, or with the same stackLevel and
    chargingProfilePurpose on the same connector;
  - within a purpose, at each instant the profile with the highest stackLevel whose validity and schedule cover
    that instant sets the limit (a connector's own TxDefaultProfile wins a tie with one set on connector 0);
  - a TxProfile belongs to one transaction and, while that transaction runs, overrules the TxDefaultProfiles
    for the whole transaction (also once its own schedule has ended);
  - the ChargePointMaxProfile (connector 0) caps whatever the connector would get; where no profile says
    anything, the charger's own local limit applies;
  - an Absolute schedule without startSchedule, and a Relative one, start when charging starts: the running
    transaction's start, or (no transaction) the start of the composite, as for a transaction starting now;
  - a Recurring schedule repeats from its startSchedule every day or week.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from .profiles import RECURRENCY_S, Period, Profile, Schedule, plus, seconds_between, to_unit


@dataclass(frozen=True)
class Transaction:
    """A transaction as the Central System saw it: StartTransaction.req and the id it gave."""

    connector_id: int
    transaction_id: int | None
    id_tag: str
    started: datetime  # the StartTransaction.req timestamp (the charger's clock)
    seq: int = 0  # position in the case's message order


@dataclass
class Installed:
    profile: Profile
    transaction_id: int | None = None  # a TxProfile: the transaction it belongs to
    pending_id_tag: str | None = None  # a RemoteStartTransaction profile: the idTag of the transaction to come
    seq: int = 0  # inbox length when it was sent: a transaction at this position or later came after it


@dataclass
class ProfileBook:
    """What the charger must have installed: fed with the requests it answered Accepted."""

    installed: list[Installed] = field(default_factory=list)

    def install(self, profile: Profile, transaction_id: int | None = None, pending_id_tag: str | None = None,
                seq: int = 0) -> None:
        p = profile
        self.installed = [i for i in self.installed if not (
            i.profile.profile_id == p.profile_id
            or (i.profile.stack_level, i.profile.purpose, i.profile.connector_id) == (p.stack_level, p.purpose,
                                                                                      p.connector_id))]
        self.installed.append(Installed(profile, transaction_id, pending_id_tag, seq))

    def clear(self, profile_id: int | None = None, connector_id: int | None = None, purpose: str | None = None,
              stack_level: int | None = None) -> int:
        """ClearChargingProfile: by id alone when an id is given, else by every criterion given (none: all).
        Returns how many profiles it removed."""
        def matches(i: Installed) -> bool:
            p = i.profile
            if profile_id is not None:
                return p.profile_id == profile_id
            return ((connector_id is None or p.connector_id == connector_id)
                    and (purpose is None or p.purpose == purpose)
                    and (stack_level is None or p.stack_level == stack_level))
        before = len(self.installed)
        self.installed = [i for i in self.installed if not matches(i)]
        return before - len(self.installed)

    def belongs(self, item: Installed, running: Transaction | None) -> bool:
        """Whether a TxProfile applies to the running transaction."""
        if running is None:
            return False
        if item.pending_id_tag is not None:  # given with RemoteStartTransaction: the transaction it started
            return (running.seq >= item.seq and running.id_tag == item.pending_id_tag
                    and item.profile.connector_id in (0, running.connector_id))
        return item.transaction_id is not None and item.transaction_id == running.transaction_id


@dataclass(frozen=True)
class Layers:
    """The profiles that matter for one connector, by role."""

    station_max: list[Profile]
    tx: list[Profile]  # the running transaction's TxProfiles (when there are any, no default applies)
    tx_default: list[Profile]


def layers(book: ProfileBook, connector_id: int, running: Transaction | None) -> Layers:
    station_max = [i.profile for i in book.installed if i.profile.purpose == "ChargePointMaxProfile"]
    if connector_id == 0:  # the charge point as a whole: only its maximum
        return Layers(station_max, [], [])
    tx = [i.profile for i in book.installed if i.profile.purpose == "TxProfile" and book.belongs(i, running)]
    default = [i.profile for i in book.installed
               if i.profile.purpose == "TxDefaultProfile" and i.profile.connector_id in (0, connector_id)]
    return Layers(station_max, tx, [] if tx else default)


def _anchors(profile: Profile, frm: datetime, to: datetime, charging_start: datetime) -> list[datetime]:
    """The instants the profile's schedule (re)starts that can matter in [frm, to)."""
    s = profile.schedule
    if profile.kind == "Recurring":
        assert s.start is not None and profile.recurrency is not None
        every = RECURRENCY_S[profile.recurrency]
        first = math.floor(seconds_between(s.start, frm) / every)
        last = math.floor(seconds_between(s.start, to) / every)
        return [plus(s.start, k * every) for k in range(max(first, 0), max(last, 0) + 1)]
    if profile.kind == "Absolute" and s.start is not None:
        return [s.start]
    return [charging_start]


def _value_at(profile: Profile, at: datetime, charging_start: datetime) -> Period | None:
    """The period of `profile` in force at `at`, or None when the profile says nothing then."""
    if profile.valid_from is not None and at < profile.valid_from:
        return None
    if profile.valid_to is not None and at >= profile.valid_to:
        return None
    s = profile.schedule
    anchors = [a for a in _anchors(profile, at, at, charging_start) if a <= at]
    if not anchors:
        return None
    offset = seconds_between(anchors[-1], at)
    length = s.duration_s
    if profile.kind == "Recurring":
        every = RECURRENCY_S[profile.recurrency or "Daily"]
        length = every if length is None else min(length, every)
    if length is not None and offset >= length:
        return None
    current = [p for p in s.periods if p.start_s <= offset]
    return current[-1] if current else None


def _winner(profiles: list[Profile], at: datetime, charging_start: datetime) -> tuple[Profile, Period] | None:
    best: tuple[tuple[int, int], Profile, Period] | None = None
    for profile in profiles:
        period = _value_at(profile, at, charging_start)
        if period is None:
            continue
        rank = (profile.stack_level, 1 if profile.connector_id else 0)
        if best is None or rank > best[0]:
            best = (rank, profile, period)
    return None if best is None else (best[1], best[2])


@dataclass(frozen=True)
class Limits:
    """What the charger itself brings: its local limit (None: it has none, only the connector's maximum, which the
    bench does not know), and how amperes and watts convert."""

    local_limit_a: float | None
    voltage_v: float
    phases: int = 3


def limit_at(lay: Layers, at: datetime, charging_start: datetime, unit: str, limits: Limits) -> Period:
    """The composite limit at one instant (in `unit`), with the numberPhases of the profile that set it; its limit
    is None where no profile applies and the charger has no local limit."""
    values = [] if limits.local_limit_a is None else [
        to_unit(limits.local_limit_a, "A", unit, limits.phases, limits.voltage_v)]
    phases = None
    for group in (lay.tx or lay.tx_default, lay.station_max):
        won = _winner(group, at, charging_start)
        if won is not None:
            profile, period = won
            values.append(to_unit(period.limit, profile.schedule.unit, unit, period.number_phases, limits.voltage_v))
            phases = period.number_phases if phases is None else phases
    return Period(0.0, min(values) if values else None, phases)  # type: ignore[arg-type]


def _breakpoints(profile: Profile, start: datetime, end: datetime, charging_start: datetime) -> list[datetime]:
    points = [t for t in (profile.valid_from, profile.valid_to) if t is not None]
    for anchor in _anchors(profile, start, end, charging_start):
        points += [plus(anchor, p.start_s) for p in profile.schedule.periods]
        if profile.schedule.duration_s is not None:
            points.append(plus(anchor, profile.schedule.duration_s))
    return points


def composite(book: ProfileBook, connector_id: int, start: datetime, duration_s: float, unit: str,
              running: Transaction | None, limits: Limits) -> Schedule:
    """The composite schedule for [start, start + duration_s): merged periods, offsets in seconds from start."""
    lay = layers(book, connector_id, running)
    charging_start = running.started if running is not None else start
    end = plus(start, duration_s)
    offsets = {0.0}
    for profile in lay.station_max + lay.tx + lay.tx_default:
        for t in _breakpoints(profile, start, end, charging_start):
            offset = seconds_between(start, t)
            if 0.0 < offset < duration_s:
                offsets.add(offset)
    bounds = sorted(offsets) + [float(duration_s)]
    periods: list[Period] = []
    for a, b in zip(bounds, bounds[1:]):
        value = limit_at(lay, plus(start, (a + b) / 2), charging_start, unit, limits)
        if periods and periods[-1].limit == value.limit:
            continue  # the same limit goes on: one period
        periods.append(Period(a, value.limit, value.number_phases))
    return Schedule(unit, tuple(periods), float(duration_s), start)


def limit_in_force(book: ProfileBook, connector_id: int, at: datetime, running: Transaction | None,
                   limits: Limits, unit: str = "A") -> float | None:
    """The limit a charger must apply on the connector at `at` (in amperes by default); None: nothing but the
    connector's own maximum limits it (no profile applies and the charger has no local limit)."""
    lay = layers(book, connector_id, running)
    charging_start = running.started if running is not None else at
    return limit_at(lay, at, charging_start, unit, limits).limit
