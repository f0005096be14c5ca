"""The Smart Charging profile (OCPP 1.6, sections 3.13, 5.5 ClearChargingProfile, 5.7 GetCompositeSchedule,
5.16 SetChargingProfile, and a chargingProfile in RemoteStartTransaction, 5.11).

The firmware keeps the installed charging profiles in flash, turns them into the limit in force on each
connector, and offers that current to the EV on the Control Pilot (the PWM duty, IEC 61851-1): the EV draws
what the PWM offers, so the energy meter follows too. The limit is re-evaluated when profiles change and, through
the station's once-a-second wake-up, when a schedule period begins or ends.

How the limit is reached (per instant): within each purpose the highest stackLevel whose validity and schedule
cover the instant wins; a running transaction's TxProfile replaces the TxDefaultProfiles for that whole
transaction; the ChargePointMaxProfile caps the result, and so does the station's own maximum.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from ocpp.exceptions import NotImplementedError as NotImplementedCallError
from ocpp.routing import on
from ocpp.v16 import call_result

from drivers.evse_tester.iec61851 import MIN_PWM_CURRENT_A, current_to_duty

from .config_keys import Key
from .metering import PHASES, VOLTAGE_V

if TYPE_CHECKING:
    from .runtime import Transaction
    from .station import SimStation

PROFILE = "SmartCharging"
# the limits pics/sim.yaml declares; TC_066 needs 3 profiles of 5 periods, TC_072 stack level 1
MAX_STACK_LEVEL = 8
MAX_PERIODS = 24
MAX_INSTALLED = 10
STATION_MAX_A = 32.0  # what the station's own hardware allows: its local limit, with no profile at all
REPEAT_S = {"Daily": 86400.0, "Weekly": 604800.0}
UNIT_NAMES = {"A": "Current", "W": "Power"}  # chargingRateUnit -> its ChargingScheduleAllowedChargingRateUnit name


def _time(value: Any) -> datetime | None:
    if value is None:
        return None
    at = datetime.fromisoformat(str(value))
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def _iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Stored:
    """One installed charging profile, as the ocpp library hands it over (snake_case), parsed once."""

    connector_id: int
    profile_id: int
    stack_level: int
    purpose: str
    kind: str
    unit: str
    periods: list[tuple[float, float, int | None]]  # (startPeriod, limit, numberPhases)
    duration: float | None = None
    start: datetime | None = None
    recurrency: str | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    transaction_id: int | None = None  # as the request gave it
    tx: "Transaction | None" = None  # a TxProfile: the transaction it belongs to
    installed: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @classmethod
    def parse(cls, connector_id: int, raw: dict[str, Any]) -> "Stored":
        schedule = raw["charging_schedule"]
        periods = [(float(p["start_period"]), float(p["limit"]), p.get("number_phases"))
                   for p in schedule["charging_schedule_period"]]
        duration = schedule.get("duration")
        return cls(connector_id, int(raw["charging_profile_id"]), int(raw["stack_level"]),
                   raw["charging_profile_purpose"], raw["charging_profile_kind"], schedule["charging_rate_unit"],
                   periods, None if duration is None else float(duration), _time(schedule.get("start_schedule")),
                   raw.get("recurrency_kind"), _time(raw.get("valid_from")), _time(raw.get("valid_to")),
                   raw.get("transaction_id"))

    def problem(self) -> str | None:
        """Why the firmware cannot take this profile, None when it can."""
        starts = [p[0] for p in self.periods]
        if not starts or starts[0] != 0 or starts != sorted(set(starts)):
            return "periods must start at 0 and increase"
        if len(self.periods) > MAX_PERIODS:
            return "more periods than ChargingScheduleMaxPeriods"
        if self.stack_level > MAX_STACK_LEVEL:
            return "stackLevel above ChargeProfileMaxStackLevel"
        if self.kind == "Recurring" and (self.recurrency not in REPEAT_S or self.start is None):
            return "a Recurring profile needs recurrencyKind and startSchedule"
        return None

    def stretches(self, frm: datetime, to: datetime, charging_start: datetime,
                  ignore_duration: bool) -> list[tuple[datetime, datetime, float, int | None]]:
        """The (from, to, limit, phases) stretches this profile sets within [frm, to)."""
        if self.kind == "Recurring":
            assert self.start is not None
            every = timedelta(seconds=REPEAT_S[self.recurrency or "Daily"])
            anchor = self.start
            while anchor + every <= frm:
                anchor += every
            anchors = []
            while anchor < to:
                anchors.append(anchor)
                anchor += every
            length: float | None = (every.total_seconds() if self.duration is None
                                    else min(self.duration, every.total_seconds()))
        else:
            # an Absolute schedule without startSchedule, and a Relative one, run from the start of charging
            anchors = [self.start if self.kind == "Absolute" and self.start is not None else charging_start]
            length = self.duration
        if ignore_duration and self.kind != "Recurring":
            length = None  # the bug: the last period runs on
        low = max(frm, self.valid_from) if self.valid_from else frm
        high = min(to, self.valid_to) if self.valid_to else to
        out = []
        for anchor in anchors:
            end = to if length is None else anchor + timedelta(seconds=length)
            for i, (start, limit, phases) in enumerate(self.periods):
                a = anchor + timedelta(seconds=start)
                b = anchor + timedelta(seconds=self.periods[i + 1][0]) if i + 1 < len(self.periods) else end
                a, b = max(a, low), min(b, end, high)
                if a < b:
                    out.append((a, b, limit, phases))
        return out


def _amps(limit: float, unit: str, phases: int | None) -> float:
    return limit if unit == "A" else limit / (VOLTAGE_V * (phases or PHASES))


def _in_unit(amps: float, unit: str, phases: int | None) -> float:
    return amps if unit == "A" else amps * VOLTAGE_V * (phases or PHASES)


class SmartCharging:
    """The installed profiles and what they make of each connector's limit."""

    def __init__(self, station: "SimStation") -> None:
        self.station = station
        self.profiles: list[Stored] = []
        self.waiting: list[tuple[str, int, Stored]] = []  # RemoteStartTransaction profiles: (idTag, connector, ...)
        self.offered: dict[int, float] = {}  # connector -> the duty this module last set
        self.changed: set[int] = set()  # connectors whose profiles changed since the PWM was last set
        if station.settings.supports(PROFILE):  # the profile's required keys (OCPP 1.6, 9.4)
            station.keys.update({k.name: k for k in [
                Key("ChargeProfileMaxStackLevel", str(MAX_STACK_LEVEL), readonly=True),
                Key("ChargingScheduleAllowedChargingRateUnit",
                    ",".join(UNIT_NAMES[u] for u in station.settings.charging_rate_units), readonly=True),
                Key("ChargingScheduleMaxPeriods", str(MAX_PERIODS), readonly=True),
                Key("MaxChargingProfilesInstalled", str(MAX_INSTALLED), readonly=True),
            ]})

    def takes_unit(self, unit: str) -> bool:
        """A schedule in a unit outside ChargingScheduleAllowedChargingRateUnit is refused, not converted."""
        return unit in self.station.settings.charging_rate_units

    # ----------------------------------------------------------------- what is installed
    def _transaction(self, connector_id: int) -> "Transaction | None":
        rt = self.station.rt
        if rt is None or not 1 <= connector_id <= len(rt.connectors):
            return None
        return rt.connectors[connector_id - 1].transaction

    def _forget_ended(self) -> None:
        """A TxProfile lives as long as its transaction."""
        self.profiles = [p for p in self.profiles if p.purpose != "TxProfile" or p.tx is None
                         or p.tx is self._transaction(p.connector_id)]

    def _install(self, profile: Stored) -> str:
        kept = [p for p in self.profiles if p.profile_id != profile.profile_id and (
            p.stack_level, p.purpose, p.connector_id) != (profile.stack_level, profile.purpose, profile.connector_id)]
        if len(kept) >= MAX_INSTALLED:
            return "Rejected"
        self.profiles = kept + [profile]
        self._touched(profile.connector_id)
        return "Accepted"

    def _touched(self, connector_id: int) -> None:
        self.changed.update(range(1, self.station.settings.connectors + 1) if connector_id == 0 else [connector_id])
        if self.station.rt is not None:
            self.station.rt.wake.set()  # the main loop sets the PWM anew

    def set_profile(self, connector_id: int, raw: dict[str, Any]) -> str:
        """SetChargingProfile.req: Accepted, or Rejected for a profile this connector cannot take now."""
        faults = self.station.faults
        try:
            profile = Stored.parse(connector_id, raw)
        except (KeyError, TypeError, ValueError):
            return "Rejected"
        if not 0 <= connector_id <= self.station.settings.connectors or profile.problem() is not None \
                or not self.takes_unit(profile.unit):
            return "Rejected"
        if profile.purpose == "ChargePointMaxProfile" and connector_id != 0:
            return "Rejected"  # a maximum for the whole charge point, so only on connector 0
        if profile.purpose == "TxProfile":
            tx = self._transaction(connector_id) if connector_id else None
            wrong_id = profile.transaction_id is not None and tx is not None \
                and profile.transaction_id != tx.transaction_id
            if (tx is None or wrong_id) and not faults.active("tx_profile_transaction_unchecked"):
                return "Rejected"  # a TxProfile is for a transaction running on that connector
            profile.tx = tx
        self._forget_ended()
        return self._install(profile)

    def clear(self, profile_id: int | None, connector_id: int | None, purpose: str | None,
              stack_level: int | None) -> str:
        """ClearChargingProfile.req: by id (the other criteria then do not matter), else by every criterion given."""
        if self.station.faults.active("clear_ignores_profile_id"):
            profile_id = None  # the bug: the id is not looked at, so an id alone reads as "no criteria"

        def matches(p: Stored) -> bool:
            if profile_id is not None:
                return p.profile_id == profile_id
            return (connector_id is None or p.connector_id == connector_id) and \
                (purpose is None or p.purpose == purpose) and (stack_level is None or p.stack_level == stack_level)
        gone = [p for p in self.profiles if matches(p)]
        dropped = [w for w in self.waiting if matches(w[2])]
        if not gone and not dropped:
            return "Unknown"
        self.profiles = [p for p in self.profiles if p not in gone]
        self.waiting = [w for w in self.waiting if w not in dropped]
        for p in gone:
            self._touched(p.connector_id)
        return "Accepted"

    def remote_start(self, id_tag: str, connector_id: int | None, raw: dict[str, Any] | None) -> str:
        """RemoteStartTransaction.req, with its optional chargingProfile: it must be a TxProfile for the
        transaction to come (OCPP 1.6, 5.11), held until that transaction starts."""
        station = self.station
        if raw is None or not station.settings.supports(PROFILE):
            # without the profile the field means nothing
            return station.authorization.remote_start(id_tag, connector_id)
        try:
            profile = Stored.parse(connector_id or 0, raw)
        except (KeyError, TypeError, ValueError):
            return "Rejected"
        purpose_ok = profile.purpose == "TxProfile" or station.faults.active("remote_start_profile_purpose_unchecked")
        if not purpose_ok or profile.problem() is not None or profile.transaction_id is not None \
                or not self.takes_unit(profile.unit):
            return "Rejected"
        status = station.authorization.remote_start(id_tag, connector_id)
        if status == "Accepted" and not station.faults.active("remote_start_profile_ignored"):
            self.waiting = [w for w in self.waiting if w[0] != id_tag] + [(id_tag, connector_id or 0, profile)]
        return status

    def transaction_started(self, connector_id: int) -> None:
        """The station's hook at a transaction start: a profile given with its remote start now belongs to it,
        and the PWM offers what the profiles allow from the first moment."""
        tx = self._transaction(connector_id)
        for entry in list(self.waiting):
            id_tag, wanted, profile = entry
            if tx is not None and id_tag == tx.id_tag and wanted in (0, connector_id):
                self.waiting.remove(entry)
                self._forget_ended()
                self._install(replace(profile, connector_id=connector_id, tx=tx))
        self.follow(connector_id, starting=True)

    # ----------------------------------------------------------------- the limit
    def _layers(self, connector_id: int) -> list[list[Stored]]:
        """The groups of profiles in force on the connector; the limit is the lowest of the groups' winners."""
        self._forget_ended()
        faults = self.station.faults
        station_max = [p for p in self.profiles if p.purpose == "ChargePointMaxProfile"]
        if connector_id == 0:
            return [station_max]  # the charge point as a whole: only its maximum
        tx = self._transaction(connector_id)
        own = [p for p in self.profiles if p.purpose == "TxProfile" and tx is not None and p.tx is tx]
        defaults = [p for p in self.profiles if p.purpose == "TxDefaultProfile" and p.connector_id in (0, connector_id)]
        if tx is not None and faults.active("tx_default_only_for_new_transactions"):
            started = _time(tx.started)
            defaults = [p for p in defaults if started is None or p.installed <= started]  # the bug
        if tx is None and faults.active("composite_without_tx_default"):
            defaults = []  # the bug: a default only counts once a transaction has started
        if own and faults.active("profile_purposes_min_combined"):
            return [own, defaults, station_max]  # the bug: the lowest of both instead of the TxProfile's
        # a TxProfile overrules the defaults for the whole transaction
        return [own if own else defaults, station_max]

    def schedule(self, connector_id: int, frm: datetime, seconds: float, unit: str,
                 ) -> list[tuple[float, float, int | None]]:
        """The composite over [frm, frm + seconds): (offset s, limit in `unit`, phases), merged."""
        to = frm + timedelta(seconds=seconds)
        tx = self._transaction(connector_id)
        charging_start = (_time(tx.started) if tx is not None else None) or frm
        ignore = self.station.faults.active("schedule_duration_ignored")
        layers = []
        for group in self._layers(connector_id):
            # within a group the highest stack level wins: stretches listed from the highest level down
            ranked = sorted(group, key=lambda p: (p.stack_level, 1 if p.connector_id else 0), reverse=True)
            layers.append([(s, p.unit) for p in ranked for s in p.stretches(frm, to, charging_start, ignore)])
        if not self.station.settings.local_limit and not any(layers):
            return []  # no profile in force and no local limit: nothing limits the connector in this window
        cuts = sorted({frm, to, *[t for layer in layers for (a, b, _, _), _u in layer for t in (a, b)]})
        out: list[tuple[float, float, int | None]] = []
        for a, b in zip(cuts, cuts[1:]):
            if a >= to:
                break
            amps, phases = STATION_MAX_A, None
            for layer in layers:
                hit = next(((lim, ph, u) for (x, y, lim, ph), u in layer if x <= a < y), None)
                if hit is not None:
                    amps = min(amps, _amps(hit[0], hit[2], hit[1]))
                    phases = hit[1] if phases is None else phases
            value = round(_in_unit(amps, unit, phases), 1)
            offset = (a - frm).total_seconds()
            if out and out[-1][1] == value:
                continue
            out.append((offset, value, phases))
        return out

    def limit_a(self, connector_id: int) -> float:
        """The current the profiles allow on the connector now (the station's maximum without any)."""
        periods = self.schedule(connector_id, datetime.now(timezone.utc), 1.0, "A")
        return periods[0][1] if periods else STATION_MAX_A

    def next_change_s(self, connector_id: int, within_s: float) -> float | None:
        """Seconds until the limit in force on the connector changes (a new period, a profile's end), if within
        `within_s`; None if not. Only during a transaction: that is when the PWM follows the limit."""
        if self._transaction(connector_id) is None:
            return None
        periods = self.schedule(connector_id, datetime.now(timezone.utc), within_s, "A")
        return periods[1][0] if len(periods) > 1 else None

    def follow(self, connector_id: int, starting: bool = False) -> None:
        """Offer the limit in force on the Control Pilot. Called at a transaction start and by the main loop; it
        leaves alone a PWM another part of the firmware has set since (e.g. a suspended energy offer)."""
        world = self.station.world.connector(connector_id)
        tx = self._transaction(connector_id)
        if tx is None or self.station.settings.mode_1_2_only:  # Mode 1/2: no pilot to offer a limit on
            self.offered.pop(connector_id, None)
            return
        if not starting and self.offered.get(connector_id) != world.pwm_duty_pct:
            return
        faults = self.station.faults
        if not starting and faults.active("pwm_not_updated_at_period_change") and connector_id not in self.changed:
            return  # the bug: only a profile change or a start sets the PWM, a new period does not
        self.changed.discard(connector_id)
        amps = self.station.hardware.cable_limit_a(connector_id, STATION_MAX_A)
        if self.station.settings.supports(PROFILE) and not faults.active("charging_profile_not_applied"):
            amps = min(amps, self.limit_a(connector_id))
        duty = current_to_duty(amps) if amps >= MIN_PWM_CURRENT_A else 100.0  # below 6 A: no energy offered
        self.offered[connector_id] = duty
        self.station.world.set("pwm_duty_pct", duty, connector_id=connector_id)


def _wire_periods(periods: list[tuple[float, float, int | None]], duration: int) -> list[dict[str, Any]]:
    """Whole seconds, as the schema wants: a sliver shorter than a second gives way to what follows it."""
    out: list[dict[str, Any]] = []
    for offset, limit, phases in periods:
        start = int(round(offset))
        if start >= duration:
            break
        if out and out[-1]["start_period"] == start:
            out.pop()
        if out and out[-1]["limit"] == limit:
            continue
        out.append({"start_period": start, "limit": limit, **({"number_phases": phases} if phases else {})})
    return out


class SmartChargingHandlers:
    """SetChargingProfile, ClearChargingProfile and GetCompositeSchedule, a mixin of SimChargePoint
    (hil_sim/charger/handlers.py)."""

    station: "SimStation"

    def _smart(self) -> SmartCharging:
        if not self.station.settings.supports(PROFILE):
            raise NotImplementedCallError(description="Smart Charging is not implemented")
        return self.station.smart

    @on("SetChargingProfile")
    def on_set_charging_profile(self, connector_id: int, cs_charging_profiles: dict[str, Any],
                                **_: Any) -> call_result.SetChargingProfile:
        return call_result.SetChargingProfile(status=self._smart().set_profile(connector_id, cs_charging_profiles))

    @on("ClearChargingProfile")
    def on_clear_charging_profile(self, id: int | None = None, connector_id: int | None = None,
                                  charging_profile_purpose: str | None = None, stack_level: int | None = None,
                                  **_: Any) -> call_result.ClearChargingProfile:
        status = self._smart().clear(id, connector_id, charging_profile_purpose, stack_level)
        return call_result.ClearChargingProfile(status=status)

    @on("GetCompositeSchedule")
    def on_get_composite_schedule(self, connector_id: int, duration: int, charging_rate_unit: str | None = None,
                                  **_: Any) -> call_result.GetCompositeSchedule:
        smart = self._smart()
        if not 0 <= connector_id <= self.station.settings.connectors or self.station.rt is None:
            return call_result.GetCompositeSchedule(status="Rejected")
        unit = charging_rate_unit or self.station.settings.charging_rate_units[0]
        if not smart.takes_unit(unit):
            return call_result.GetCompositeSchedule(status="Rejected")  # it cannot express its limits in that unit
        now = datetime.now(timezone.utc)
        periods = _wire_periods(smart.schedule(connector_id, now, float(duration), unit), duration)
        return call_result.GetCompositeSchedule(
            status="Accepted", connector_id=connector_id, schedule_start=_iso(now),
            charging_schedule={"duration": duration, "start_schedule": _iso(now), "charging_rate_unit": unit,
                               "charging_schedule_period": periods})

