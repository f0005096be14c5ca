"""What changed between two runs, typically two firmware versions of one charger on one bench.

Three things matter to a firmware team: the cases whose verdict flipped, where a case that now fails first
behaved differently (the first frame the charger sent that differs from the earlier run's), and the chapter 8
timing figures that moved. Frames are compared by message type, action and payload, in order, leaving out
the fields that differ on every run of the same firmware (times, transaction ids, meter readings) and
the Heartbeats, which come when the charger's clock says, not in answer to the case.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from benchctl.record.case import ERROR, FAIL, CaseResult
from benchctl.record.run import RunRecord

from .history import RunSummary, summarize

CHARGER = "charger->csms"
# differ from run to run on one firmware: comparing them would make every frame a difference
VOLATILE = frozenset({"timestamp", "currentTime", "transactionId", "meterStart", "meterStop", "meterValue",
                      "transactionData", "expiryDate", "requestId", "reservationId"})
# sent on the charger's own clock, not in answer to anything the case did: where one falls is timing, not behaviour
UNPROMPTED = frozenset({"Heartbeat"})
MIN_MOVE_MS, MOVE_RATIO = 100.0, 0.5  # a figure moved: by at least 100 ms and by half its earlier value


@dataclass
class FrameDifference:
    position: int  # the n-th frame the charger sent in the case, from 1
    before: dict[str, Any] | None  # {i, type, action, payload} of the earlier run; None when it sent no more
    after: dict[str, Any] | None


@dataclass
class CaseChange:
    id: str
    title: str
    before: str | None  # verdict in the earlier run; None when the case was not in it
    after: str | None
    reason: str = ""  # of the later run's verdict (or the earlier's, for a case that was fixed)
    step: int | None = None
    first_difference: FrameDifference | None = None

    @property
    def new_failure(self) -> bool:
        return self.after in (FAIL, ERROR) and self.before not in (FAIL, ERROR)


@dataclass
class TimingMove:
    case: str
    kind: str
    name: str
    before_ms: float
    after_ms: float

    @property
    def change_ms(self) -> float:
        return self.after_ms - self.before_ms


@dataclass
class RunDiff:
    before: RunSummary
    after: RunSummary
    flipped: list[CaseChange] = field(default_factory=list)
    only_before: list[str] = field(default_factory=list)
    only_after: list[str] = field(default_factory=list)
    timings: list[TimingMove] = field(default_factory=list)
    unchanged: int = 0

    @property
    def new_failures(self) -> list[CaseChange]:
        return [c for c in self.flipped if c.new_failure]

    def as_record(self) -> dict[str, Any]:
        return {"before": self.before.as_record(), "after": self.after.as_record(),
                "flipped": [asdict(c) | {"new_failure": c.new_failure} for c in self.flipped],
                "only_before": self.only_before, "only_after": self.only_after,
                "timings": [asdict(t) | {"change_ms": round(t.change_ms, 3)} for t in self.timings],
                "unchanged": self.unchanged}


def diff_runs(before: RunRecord, after: RunRecord, min_move_ms: float = MIN_MOVE_MS,
              move_ratio: float = MOVE_RATIO) -> RunDiff:
    diff = RunDiff(summarize(before), summarize(after))
    old = {r.id: r for r in before.results}
    new = {r.id: r for r in after.results}
    diff.only_before = [c for c in old if c not in new]
    for case_id, result in new.items():
        earlier = old.get(case_id)
        if earlier is None:
            diff.only_after.append(case_id)
            continue
        if earlier.verdict == result.verdict:
            diff.unchanged += 1
        else:
            judged = result if result.verdict != "PASS" else earlier
            diff.flipped.append(CaseChange(case_id, result.title or earlier.title, earlier.verdict, result.verdict,
                                           judged.reason, judged.step,
                                           first_difference(before.frames_of(case_id), after.frames_of(case_id))))
        diff.timings += timing_moves(earlier, result, min_move_ms, move_ratio)
    return diff


def first_difference(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> FrameDifference | None:
    """The first frame the charger sent in a case that is not the one it sent in the earlier run."""
    old = [f for f in before if f.get("dir") == CHARGER and f.get("action") not in UNPROMPTED]
    new = [f for f in after if f.get("dir") == CHARGER and f.get("action") not in UNPROMPTED]
    for n in range(max(len(old), len(new))):
        a = _frame(old[n]) if n < len(old) else None
        b = _frame(new[n]) if n < len(new) else None
        if a is None or b is None or _comparable(a) != _comparable(b):
            return FrameDifference(n + 1, a, b)
    return None


def timing_moves(before: CaseResult, after: CaseResult, min_move_ms: float, move_ratio: float) -> list[TimingMove]:
    old, new = _worst(before), _worst(after)
    moves = []
    for key in [k for k in new if k in old]:
        a, b = old[key], new[key]
        if abs(b - a) >= max(min_move_ms, move_ratio * a):
            moves.append(TimingMove(after.id, key[0], key[1], a, b))
    return moves


def _worst(result: CaseResult) -> dict[tuple[str, str], float]:
    """The slowest time of each figure of a case (a case may answer GetConfiguration twice)."""
    worst: dict[tuple[str, str], float] = {}
    for t in result.timings:
        ms = t.get("ms")
        if isinstance(ms, (int, float)) and not isinstance(ms, bool):
            key = (str(t.get("kind") or ""), str(t.get("name") or ""))
            worst[key] = max(worst.get(key, float(ms)), float(ms))
    return worst


def _frame(record: dict[str, Any]) -> dict[str, Any]:
    return {"i": record.get("i"), "type": record.get("type"), "action": record.get("action"),
            "payload": _payload(record.get("raw"))}


def _payload(raw: Any) -> Any:
    try:
        message = json.loads(raw) if isinstance(raw, str) else None
    except json.JSONDecodeError:
        return raw  # a frame that was not JSON is compared as the text it was
    if not isinstance(message, list) or len(message) < 3:
        return message
    return message[3] if message[0] == 2 and len(message) > 3 else message[2]


def _comparable(frame: dict[str, Any]) -> tuple[Any, Any, str]:
    return frame["type"], frame["action"], json.dumps(_stable(frame["payload"]), sort_keys=True)


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value
