"""Answers to the tool's verification questions from benchctl's own evidence: the capture (what the charger
really sent), the EV emulator (the CP state it measures) and the bench's step log. Every answer carries its
reason and the capture frames it rests on, for the report."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from ocpp.v16.enums import ChargePointErrorCode, ChargePointStatus

from benchctl.bench.bench import Bench
from benchctl.csms.capture import TO_CSMS, Capture, CapturedFrame
from benchctl.csms.frames import CALL
from benchctl.scenario.status_rules import Allowances, ExpectedStatus, judge_statuses, observations_from_frames

from .prompts import PromptBook, PromptRule
from .station_facts import StationFacts

STATUSES = {s.value for s in ChargePointStatus}
ERROR_CODES = {e.value for e in ChargePointErrorCode}
ENERGY_STATES = ("C", "D")  # the EV draws current only in these CP states


@dataclass
class Answer:
    yes: bool
    reason: str
    frames: list[int] = field(default_factory=list)


@dataclass
class ListedStatus:
    """One line of the tool's StatusNotification lists."""

    line: int
    text: str
    connector_id: int
    status: str
    error_code: str
    received: bool | None
    timestamp: str | None
    info: str | None


class ListError(ValueError):
    """The tool's status list has a line benchctl cannot read as an entry."""


def parse_status_list(prompt: str, book: PromptBook) -> list[ListedStatus]:
    """The entries after the list's title. A line between entries that is no entry (a column header, a footer
    note) is passed over; one that looks like an entry benchctl cannot read (a timestamp, a connector number, a
    status or error code) is an error: the entries are read entirely or not at all."""
    text = prompt.replace("\r\n", "\n")
    title_end = text.find("\n")
    body = "" if title_end < 0 else text[title_end + 1:]
    offset = len(text) - len(body)
    items: list[ListedStatus] = []
    pos = 0
    for m in book.status_entry.finditer(body):
        _leftover(text, offset, body[pos:m.start()], pos)
        pos = m.end()
        line = text.count("\n", 0, offset + m.start()) + 1
        status = _ocpp_value(m["status"], STATUSES)
        if status is None:
            raise ListError(f"line {line}: {m['status']!r} is not an OCPP 1.6 connector status")
        error = _ocpp_value(m["error_code"], ERROR_CODES)
        if error is None:
            raise ListError(f"line {line + 1}: {m['error_code']!r} is not an OCPP 1.6 error code")
        info = (m["info"] or "").strip()
        received = m["received"]
        items.append(ListedStatus(line, " ".join(m.group(0).split()), int(m["connector_id"]), status, error,
                                  None if received is None else received.lower() == "yes", m["timestamp"],
                                  None if info in ("", book.no_info) else info))
    _leftover(text, offset, body[pos:], pos)
    return items


def _leftover(text: str, offset: int, gap: str, pos: int) -> None:
    first = text.count("\n", 0, offset + pos) + 1
    for n, content in enumerate(gap.split("\n")):
        if _entry_like(content):
            raise ListError(f"line {first + n} is not an entry benchctl can read: {content.strip()!r}")


# what only an entry carries; a header or footer line names the columns or explains, it carries no data
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_CONNECTOR_NUMBER = re.compile(r"connector\s*(?:id)?\s*[:=#]?\s*\d", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z_]+")


def _entry_like(line: str) -> bool:
    """A line with a timestamp, a connector number, or an OCPP status or error code (as OCPP spells it or as the
    tool prints it, SUSPENDED_EVSE) is an entry, or part of one."""
    if _TIMESTAMP.search(line) or _CONNECTOR_NUMBER.search(line):
        return True
    return any(word in _ENUM_WORDS for word in _WORD.findall(line))


def _printed(value: str) -> str:
    """SuspendedEVSE -> SUSPENDED_EVSE, NoError -> NO_ERROR: OCPP's enum values as the tool prints them."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", value).upper()


_ENUM_WORDS = frozenset(STATUSES | ERROR_CODES | {_printed(v) for v in STATUSES | ERROR_CODES})


def _ocpp_value(printed: str, values: set[str]) -> str | None:
    """The tool prints OCPP enum values in upper snake case (SUSPENDED_EVSE); OCPP spells them SuspendedEVSE."""
    key = printed.replace("_", "").lower()
    return next((v for v in values if v.lower() == key), None)


class Evidence:
    """What benchctl knows about the station, for one tool case at a time (`case` labels its capture frames)."""

    def __init__(self, capture: Capture, bench: Bench | None, values: dict[str, Any], book: PromptBook,
                 connected: Callable[[], bool] | None = None, allowances: Allowances | None = None) -> None:
        self.capture = capture
        self.allowances = allowances or Allowances()  # the station's Appendix D allowances (its PICS)
        self.bench = bench
        self.values = values
        self.book = book
        self.connected = connected  # whether the charger's connection is up (the proxy knows)
        self.case: str | None = None
        self.reservation_case = False  # the case is one of the Reservation group (Appendix D's EVSE allowance)
        self.facts = StationFacts(capture)  # kept up to date by the capture from here on

    # ------------------------------------------------------------------ facts of the run
    def case_frames(self) -> list[CapturedFrame]:
        return self.capture.frames_of_case(self.case)

    def last_transaction(self) -> tuple[int | None, str | None, int | None]:
        """(transactionId, idTag, capture index) of the last transaction the charger started, as far as seen."""
        return self.facts.last_transaction

    def variables(self) -> dict[str, Any]:
        """The bench's values plus the run's facts a prompt's action may refer to."""
        transaction_id, id_tag, _ = self.last_transaction()
        return {**self.values, "transaction_id": transaction_id,
                "transaction_id_tag": id_tag if id_tag is not None else self.values["valid_id_tag"]}

    async def cp_state(self) -> str | None:
        if self.bench is None or not self.bench.has("ev"):
            return None
        return (await self.bench.ev.measure()).state

    def last_status(self, connector_id: int) -> tuple[str | None, int | None]:
        return self.facts.statuses.get(connector_id, (None, None))

    # ------------------------------------------------------------------ answers
    async def answer(self, rule: PromptRule, prompt: str, match: re.Match[str] | None) -> Answer:
        assert rule.evidence is not None
        if rule.evidence == "station_idle":
            return await self.station_idle()
        if rule.evidence == "connector_available":
            return await self.connector_available(int(rule.evidence_args.get("connector_id",
                                                                             self.values["connector_id"])))
        if rule.evidence == "interval":
            assert match is not None, "an interval prompt is matched by a pattern"
            return self.interval(str(rule.evidence_args.get("message", "Heartbeat")), float(match["expected"]),
                                 float(match["actual"]))
        if rule.evidence == "expected_statuses":
            return self.expected_statuses(prompt)
        if rule.evidence == "unexpected_statuses":
            return self.unexpected_statuses(prompt)
        raise ValueError(f"unknown evidence {rule.evidence!r} ({rule.where})")

    async def station_idle(self) -> Answer:
        problems, frames = [], []
        if self.connected is not None and not self.connected():
            problems.append("the charger is not connected")
        for c in range(1, int(self.bench.config.connectors if self.bench else 1) + 1):
            status, index = self.last_status(c)
            if index is not None:
                frames.append(index)
            if status != "Available":
                problems.append(f"connector {c} last reported {status or 'nothing'}")
        state = await self.cp_state()
        if state not in (None, "A"):
            problems.append(f"the EV emulator measures CP state {state}, not A")
        if problems:
            return Answer(False, "station not idle: " + "; ".join(problems), frames)
        return Answer(True, "connected, every connector last reported Available"
                      + ("" if state is None else ", CP state A"), frames)

    async def connector_available(self, connector_id: int) -> Answer:
        status, index = self.last_status(connector_id)
        frames = [] if index is None else [index]
        state = await self.cp_state()
        seen = f"connector {connector_id} last reported {status or 'nothing'}" + (
            f" (frame #{index})" if index is not None else "") + ("" if state is None else f", CP state {state}")
        ok = status == "Available" and state in (None, "A")
        return Answer(ok, seen, frames)

    def interval(self, message: str, expected: float, actual: float) -> Answer:
        tolerance = float(self.values["timing_tolerance_s"])
        frames = [f for f in self.case_frames() if f.direction == TO_CSMS and f.frame.message_type == CALL
                  and f.frame.action == message]
        if message == "MeterValues" and any(_has_transaction(f) for f in frames):
            frames = [f for f in frames if _has_transaction(f)]  # the sampled ones, not clock-aligned extras
        if abs(actual - expected) > tolerance:
            return Answer(False, f"the tool measured {actual:g} s, expected {expected:g} s (tolerance "
                                 f"{tolerance:g} s)", [f.index for f in frames[-2:]])
        if len(frames) < 2:
            return Answer(True, f"the tool measured {actual:g} s for {expected:g} s (tolerance {tolerance:g} s); "
                                f"the capture has {len(frames)} {message} in this case, no interval of its own")
        seen = frames[-1].mono - frames[-2].mono
        ok = abs(seen - expected) <= tolerance
        return Answer(ok, f"the tool measured {actual:g} s, the capture {seen:.2f} s between frames "
                          f"#{frames[-2].index} and #{frames[-1].index}; expected {expected:g} s "
                          f"(tolerance {tolerance:g} s)", [frames[-2].index, frames[-1].index])

    def expected_statuses(self, prompt: str) -> Answer:
        try:
            listed = parse_status_list(prompt, self.book)
        except ListError as exc:
            return Answer(False, f"cannot read the tool's list: {exc}")
        observed = self._status_frames()
        used: set[int] = set()
        problems, frames = [], []
        for item in listed:
            if item.received is False:
                problems.append(f"the tool did not receive {_describe(item)}")
                continue
            hit = self._find(item, observed, used)
            if hit is None:
                problems.append(f"{_describe(item)}: the tool lists it as received, the capture of this case "
                                "has no such StatusNotification")
                continue
            used.add(hit.index)
            frames.append(hit.index)
        if problems:
            return Answer(False, "; ".join(problems), frames)
        return Answer(True, f"all {len(listed)} expected StatusNotification(s) received and in the capture "
                            f"({', '.join(f'#{i}' for i in frames)})", frames)

    def unexpected_statuses(self, prompt: str) -> Answer:
        """Judge each listed notification by Appendix D, taking every other one of the case as expected."""
        try:
            listed = parse_status_list(prompt, self.book)
        except ListError as exc:
            return Answer(False, f"cannot read the tool's list: {exc}")
        frames = self._status_frames()
        used: set[int] = set()
        problems, notes, cited = [], [], []
        for item in listed:
            hit = self._find(item, frames, used)
            if hit is None:
                problems.append(f"{_describe(item)}: not in the capture of this case, so it cannot be judged")
                continue
            used.add(hit.index)
            cited.append(hit.index)
        observations = observations_from_frames(frames)
        allowed = {i for i in used if self.book.allow_charging_during_transaction and self._energy_flowing(i)}
        notes += [f"frame #{i} Charging while energy flows in a started transaction: allowed" for i in sorted(allowed)]
        expected = [ExpectedStatus(None, o.connector_id, o.status, o.index) for o in observations
                    if o.index not in used or o.index in allowed]
        verdict = judge_statuses(str(self.case or ""), observations, expected, allowances=self.allowances,
                                 reservation_case=self.reservation_case)
        for finding in verdict.findings:
            if not set(finding.frames) & used:
                continue  # about a notification the tool expected; the tool judged it already
            (problems if finding.fail else notes).append(f"{finding.rule}: {finding.message}")
        if problems:
            return Answer(False, "; ".join(problems + notes), cited)
        return Answer(True, f"{len(listed)} unexpected StatusNotification(s), all valid by Appendix D"
                      + (": " + "; ".join(notes) if notes else ""), cited)

    # ------------------------------------------------------------------ helpers
    def _status_frames(self) -> list[CapturedFrame]:
        return [f for f in self.case_frames() if f.direction == TO_CSMS and f.frame.message_type == CALL
                and f.frame.action == "StatusNotification" and isinstance(f.frame.payload, dict)]

    def _find(self, item: ListedStatus, frames: list[CapturedFrame], used: set[int]) -> CapturedFrame | None:
        candidates = [f for f in frames if f.index not in used and f.frame.payload.get("connectorId") == item.connector_id
                      and f.frame.payload.get("status") == item.status
                      and f.frame.payload.get("errorCode") == item.error_code]
        if not candidates:
            return None
        at = _epoch(item.timestamp)
        if at is None:
            return candidates[0]
        return min(candidates, key=lambda f: abs(f.wall - at))

    def _energy_flowing(self, index: int) -> bool:
        """A Charging notification inside a transaction the charger started on that connector, while the EV
        emulator was set to draw current (the bench's step log says what it was set to, and when)."""
        captured = self.capture.frame_at(index)
        if captured is None or captured.frame.payload.get("status") != "Charging":
            return False
        connector = captured.frame.payload.get("connectorId")
        open_connectors = self.facts.open_at.get(index)
        if open_connectors is None:  # a notification older than the facts keep: the capture read back up to it
            open_connectors = StationFacts.before(self.capture, index).open_connectors()
        if connector not in open_connectors or self.bench is None:
            return False
        state, plugged = None, True
        for step in self.bench.steplog.steps:
            if step.started > captured.wall:
                break
            if step.role == "ev" and step.command == "set_cp_state":
                state = step.args.get("state")
            elif step.role == "ev" and step.command == "set_plug":
                plugged = bool(step.args.get("connected"))
        return plugged and state in ENERGY_STATES


def _has_transaction(f: CapturedFrame) -> bool:
    return isinstance(f.frame.payload, dict) and "transactionId" in f.frame.payload


def _describe(item: ListedStatus) -> str:
    return f"line {item.line} StatusNotification(connector {item.connector_id}, {item.status}, {item.error_code})"


def _epoch(stamp: str | None) -> float | None:
    if stamp is None:
        return None
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.timestamp() if moment.tzinfo is not None else None
