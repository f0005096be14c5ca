"""Warnings: charger defects the certification does not test, found in the capture of a run.

A warning never changes a verdict or the exit status; it names the frames that show it. The run keeps one
`RunWatch` and scans every frame once, in capture order, so what spans cases (the last meterStop of each
connector, an open transaction) is carried from one case to the next:

- energy-register-backwards: meterStart below the connector's previous meterStop, or an
  Energy.Active.Import.Register that falls within a transaction (meterStart, MeterValues, the transactionData of
  StopTransaction, meterStop), beyond the resolution the charger gives its values in;
- clock-skew: a MeterValues or StatusNotification timestamp more than `clock_warning_s` from the time the frame
  came; a timestamp in the past is a queued message, not a wrong clock, when it is earlier than the start of the
  connection the frame came over (the charger was offline, or rebooted, in between);
- meter-disagrees: the energy of a transaction (meterStop - meterStart) against the bench's reference meter read
  when its StartTransaction and StopTransaction came, beyond `meter_accuracy_pct` plus the register's 1 Wh.

OCPP 1.6 defaults apply to an omitted field: a sampledValue without measurand is Energy.Active.Import.Register,
unit Wh, location Outlet, format Raw.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any, Iterable

from benchctl.csms.capture import TO_CHARGER, TO_CSMS, CapturedFrame
from benchctl.csms.defaults import SAMPLED_VALUE_DEFAULTS
from benchctl.csms.frames import CALL, CALLRESULT
from benchctl.record.case import Warn
from benchctl.scenario.status_rules import epoch

ENERGY = "Energy.Active.Import.Register"
BACKWARDS, CLOCK, METER, DOCUMENT = "energy-register-backwards", "clock-skew", "meter-disagrees", "document"
UNIT_WH = {"Wh": 1.0, "kWh": 1000.0}
INTEGER_WH = 1.0  # meterStart and meterStop are whole Wh


@dataclass(frozen=True)
class Reading:
    """One value of the energy register, in Wh, with the resolution the charger wrote it in and its frame."""

    wh: float
    resolution_wh: float
    frame: int
    what: str
    at: float  # when the charger took it: the message's own timestamp (the frame's arrival when it has none)


@dataclass(frozen=True)
class MeterRead:
    """The reference meter read when a frame came: its energy, its power, and when (wall time) it was read."""

    energy_wh: float
    power_w: float
    at: float

    def slack_wh(self, reading: Reading) -> float:
        """What may have flowed between the charger taking `reading` and this read (a sample sent late, a read
        delayed): the charger's register and the meter are not read at the same instant."""
        return self.power_w * abs(self.at - reading.at) / 3600.0


@dataclass
class _Transaction:
    connector: int
    last: Reading | None
    start: Reading | None = None
    start_queued: bool = False
    live: Reading | None = None  # the latest reading sent when it was taken (the meter was read then too)
    metered: bool = False  # warned about against the reference meter already (once per transaction)


def register_value(sampled: dict[str, Any]) -> tuple[float, float] | None:
    """(Wh, resolution in Wh) of a sampledValue of the station's energy register, None for any other value.
    The OCPP 1.6 defaults: measurand Energy.Active.Import.Register, unit Wh, location Outlet, format Raw."""
    sampled = {**SAMPLED_VALUE_DEFAULTS, **sampled}
    if sampled["measurand"] != ENERGY or "phase" in sampled:
        return None
    if sampled["location"] != "Outlet" or sampled["format"] != "Raw":
        return None
    scale = UNIT_WH.get(sampled["unit"])
    text = str(sampled.get("value", ""))
    try:
        value = float(text)
    except ValueError:
        return None
    if scale is None:
        return None
    decimals = len(text.partition(".")[2]) if "." in text and "e" not in text.lower() else 0
    return value * scale, scale * 10.0 ** -decimals


class RunWatch:
    """The warnings of a run, scanned case by case from its capture."""

    def __init__(self, clock_warning_s: float = 60.0, meter_accuracy_pct: float = 2.0,
                 meter_connector: int | None = None) -> None:
        self.clock_warning_s = clock_warning_s
        self.meter_accuracy_pct = meter_accuracy_pct
        self.meter_connector = meter_connector  # the connector the reference meter measures; None: no meter
        self.meter_reads: dict[int, MeterRead] = {}  # frame index -> the reference meter when it came
        self.attached_at: list[float] = []  # wall time each connection of the charger started, ascending
        self._starts: dict[str, tuple[int, Reading, bool]] = {}  # StartTransaction unique id -> its start
        self._transactions: dict[int, _Transaction] = {}
        self._last_stop: dict[int, Reading] = {}  # connector -> the last meterStop seen in the run

    def scan(self, frames: Iterable[CapturedFrame]) -> list[Warn]:
        found: list[Warn] = []
        for captured in frames:
            frame, payload = captured.frame, captured.frame.payload
            if not isinstance(payload, dict) or frame.error is not None:
                continue
            if captured.direction == TO_CSMS and frame.message_type == CALL:
                found += self._request(captured, str(frame.action), payload)
            elif captured.direction == TO_CHARGER and frame.message_type == CALLRESULT \
                    and frame.action == "StartTransaction":
                found += self._started(captured, payload)
        for tx in self._transactions.values():  # still running: judged on its latest reading, once
            found += self._against_meter(tx, tx.live)
        return _one_per_clock(found)

    # ------------------------------------------------------------------ the charger's requests
    def _request(self, captured: CapturedFrame, action: str, payload: dict[str, Any]) -> list[Warn]:
        if action == "StatusNotification":
            return self._clock(captured, [payload.get("timestamp")], action)
        if action == "MeterValues":
            stamps = [v.get("timestamp") for v in payload.get("meterValue", []) if isinstance(v, dict)]
            warns = self._clock(captured, stamps, action)
            tx = self._transactions.get(payload.get("transactionId", -1))
            if tx is not None:
                readings = self._readings(captured, payload.get("meterValue", []), action)
                warns += self._advance(tx, readings)
                if readings and not self._queued(captured, stamps):
                    tx.live = readings[-1]
            return warns
        if action == "StartTransaction":
            start = Reading(float(payload.get("meterStart", 0)), INTEGER_WH, captured.index,
                            "StartTransaction.meterStart", _taken(captured, payload.get("timestamp")))
            queued = self._queued(captured, [payload.get("timestamp")])
            self._starts[captured.frame.unique_id or ""] = (int(payload.get("connectorId", 0)), start, queued)
            return []
        if action == "StopTransaction":
            return self._stopped(captured, payload)
        return []

    def _started(self, answer: CapturedFrame, payload: dict[str, Any]) -> list[Warn]:
        """The Central System's StartTransaction.conf: the transaction has its id; meterStart against the
        connector's previous meterStop."""
        started = self._starts.pop(answer.frame.unique_id or "", None)
        if started is None or "transactionId" not in payload:
            return []
        connector, start, queued = started
        self._transactions[int(payload["transactionId"])] = _Transaction(connector, start, start, queued)
        previous = self._last_stop.get(connector)
        if previous is not None and start.wh < previous.wh - start.resolution_wh:
            return [Warn(BACKWARDS, f"connector {connector}: meterStart {start.wh:g} Wh (frame #{start.frame}) is "
                                    f"below the meterStop {previous.wh:g} Wh of the transaction before it (frame "
                                    f"#{previous.frame}): the energy register went backwards",
                         [previous.frame, start.frame])]
        return []

    def _stopped(self, captured: CapturedFrame, payload: dict[str, Any]) -> list[Warn]:
        tx = self._transactions.pop(int(payload.get("transactionId", -1)), None)
        stop = Reading(float(payload.get("meterStop", 0)), INTEGER_WH, captured.index, "StopTransaction.meterStop",
                       _taken(captured, payload.get("timestamp")))
        if tx is None:
            return []
        warns = self._advance(tx, self._readings(captured, payload.get("transactionData", []),
                                                 "StopTransaction.transactionData") + [stop])
        self._last_stop[tx.connector] = stop
        return warns + self._against_meter(tx, None if self._queued(captured, [payload.get("timestamp")]) else stop)

    # ------------------------------------------------------------------ the energy register
    @staticmethod
    def _readings(captured: CapturedFrame, meter_values: Any, what: str) -> list[Reading]:
        out = []
        for value in meter_values if isinstance(meter_values, list) else []:
            for sampled in value.get("sampledValue", []) if isinstance(value, dict) else []:
                reading = register_value(sampled) if isinstance(sampled, dict) else None
                if reading is not None:
                    out.append(Reading(reading[0], reading[1], captured.index, what,
                                       _taken(captured, value.get("timestamp"))))
        return out

    @staticmethod
    def _advance(tx: _Transaction, readings: list[Reading]) -> list[Warn]:
        warns = []
        for reading in readings:
            last = tx.last
            # a value written in kWh with two decimals may read below an exact meterStart: that is resolution
            if last is not None and reading.wh < last.wh - max(reading.resolution_wh, last.resolution_wh):
                warns.append(Warn(BACKWARDS, f"connector {tx.connector}: {reading.what} {reading.wh:g} Wh (frame "
                                             f"#{reading.frame}) is below {last.what} {last.wh:g} Wh of the same "
                                             f"transaction (frame #{last.frame}): the energy register went backwards",
                                  sorted({last.frame, reading.frame})))
            tx.last = reading
        return warns

    def _against_meter(self, tx: _Transaction, last: Reading | None) -> list[Warn]:
        """The energy of the transaction so far by the charger's register (meterStart to `last`) against the
        reference meter, when the meter measures its connector and was read when both frames came; not for a
        start queued offline (the meter was read when it arrived, not when it happened)."""
        start = tx.start
        if tx.metered or tx.connector != self.meter_connector or start is None or tx.start_queued \
                or last is None or last.frame == start.frame:
            return []
        before, after = self.meter_reads.get(start.frame), self.meter_reads.get(last.frame)
        if before is None or after is None:
            return []
        charger, meter = last.wh - start.wh, after.energy_wh - before.energy_wh
        allowed = abs(meter) * self.meter_accuracy_pct / 100.0 + max(start.resolution_wh, last.resolution_wh) \
            + before.slack_wh(start) + after.slack_wh(last)
        if abs(charger - meter) <= allowed:
            return []
        tx.metered = True
        return [Warn(METER, f"connector {tx.connector}: the charger counted {charger:g} Wh from meterStart (frame "
                            f"#{start.frame}) to {last.what} (frame #{last.frame}), the reference meter "
                            f"{meter:.1f} Wh: {charger - meter:+.1f} Wh, more than the {allowed:.1f} Wh its accuracy "
                            f"class {self.meter_accuracy_pct:g} %, the register's resolution and the time between "
                            f"the readings allow",
                     [start.frame, last.frame])]

    # ------------------------------------------------------------------ the charger's clock
    def _queued(self, captured: CapturedFrame, stamps: list[Any]) -> bool:
        """A message that waited in the charger's queue: stamped before the connection it came over started."""
        since = self._connected_since(captured.wall)
        return any((epoch(stamp) or captured.wall) < since for stamp in stamps)

    def _connected_since(self, wall: float) -> float:
        """When the connection a frame received at `wall` came over started (-inf when unknown)."""
        n = bisect.bisect_right(self.attached_at, wall)
        return self.attached_at[n - 1] if n else float("-inf")

    def _clock(self, captured: CapturedFrame, stamps: list[Any], action: str) -> list[Warn]:
        for stamp in stamps:
            at = epoch(stamp)
            if at is None:
                continue
            skew = at - captured.wall
            if skew > self.clock_warning_s:
                said = f"{skew:.0f} s ahead of"
            elif skew < -self.clock_warning_s and at >= self._connected_since(captured.wall):
                said = f"{-skew:.0f} s behind"  # sent while the link was up all along: not a queued message
            else:
                continue
            return [Warn(CLOCK, f"{action} (frame #{captured.index}) is stamped {stamp}, {said} the bench clock "
                                f"(more than {self.clock_warning_s:g} s): the charger's clock is off",
                         [captured.index])]
        return []


def _taken(captured: CapturedFrame, stamp: Any) -> float:
    at = epoch(stamp)
    return captured.wall if at is None else at


def _one_per_clock(found: list[Warn]) -> list[Warn]:
    """A wrong clock shows in every frame: one warning per message kind, the first frame's message, all frames."""
    out: list[Warn] = []
    first: dict[str, Warn] = {}
    for warn in found:
        if warn.kind != CLOCK:
            out.append(warn)
            continue
        action = warn.message.partition(" ")[0]
        if action not in first:
            first[action] = Warn(CLOCK, warn.message, list(warn.frames))
            out.append(first[action])
        else:
            first[action].frames += warn.frames
    for warn in first.values():
        if len(warn.frames) > 1:
            warn.message += f" (and {len(warn.frames) - 1} more {warn.message.partition(' ')[0]} of this case)"
    return out
