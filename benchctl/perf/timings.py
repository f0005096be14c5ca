"""The chapter 8 timings of one stretch of capture: what a test lab reads off the tool's log by hand.

Chapter 8.2.1 of the test procedure names four parameters: the OCPP response timeout (a request to the
charger until its answer), the OCPP triggered function timeout (the charger's answer to a request until the
request that answer promised, e.g. RemoteStartTransaction.conf until StartTransaction.req), and the response
times of Authorize and RemoteStartTransaction. Each measurement keeps the capture indices it came from, so a
figure in a report can always be traced to its frames.

The triggered pairs are data (a4.yaml). A promised message is looked for from the request on, on the same charge
point and in the same case: a charger may send it before its answer, which counts as no wait at all.

Input is capture records (the lines of capture.jsonl, `CapturedFrame.as_record()`), so the same code measures a
run benchctl drove and a capture taken beside another Central System.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Iterable

from .a4 import TriggeredPair, a4

TO_CSMS, TO_CHARGER = "charger->csms", "csms->charger"

RESPONSE, TRIGGERED, AUTHORIZE = "response", "triggered", "authorize"

# how long after a request's answer its triggered message may still count as the promised one
TRIGGER_WINDOW_S = 120.0


@dataclass(frozen=True)
class Timing:
    kind: str  # RESPONSE, TRIGGERED or AUTHORIZE
    name: str  # "RemoteStartTransaction", "RemoteStartTransaction -> StartTransaction", ...
    ms: float
    frames: tuple[int, ...]  # capture indices: from, to (none for the card side of AUTHORIZE)

    def as_record(self) -> dict[str, Any]:
        record = asdict(self)
        record["ms"] = round(self.ms, 3)
        record["frames"] = list(self.frames)
        return record


@dataclass(frozen=True)
class OcppFrame:
    """One capture record as the timings see it."""

    index: int
    mono: float
    wall: float
    direction: str
    type: str
    unique_id: str | None
    action: str | None
    payload: Any
    cp: str | None = None
    case: str | None = None


def _payload(record: dict[str, Any]) -> Any:
    try:
        message = json.loads(record.get("raw") or "")
    except (TypeError, ValueError):
        return None
    if not isinstance(message, list) or len(message) < 3:
        return None
    return message[3] if message[0] == 2 and len(message) > 3 else message[2]


def frames_of(records: Iterable[dict[str, Any]]) -> list[OcppFrame]:
    frames = []
    for r in records:
        wall = datetime.fromisoformat(r["ts"]).timestamp() if r.get("ts") else 0.0
        frames.append(OcppFrame(r["i"], float(r["mono"]), wall, r["dir"], r.get("type", ""), r.get("id"),
                                r.get("action"), _payload(r), r.get("cp"), r.get("case")))
    return frames


@dataclass(frozen=True)
class Exchange:
    """A request and its CALLRESULT / CALLERROR (None: never answered in the capture)."""

    call: OcppFrame
    answer: OcppFrame | None

    @property
    def ms(self) -> float | None:
        return None if self.answer is None else (self.answer.mono - self.call.mono) * 1000

    @property
    def status(self) -> Any:
        """The answer's `status` (Accepted, Rejected, ...), "CALLERROR", or None."""
        if self.answer is None:
            return None
        if self.answer.type == "CALLERROR":
            return "CALLERROR"
        return self.answer.payload.get("status") if isinstance(self.answer.payload, dict) else None


def exchanges(frames: list[OcppFrame]) -> list[Exchange]:
    """Every request in the capture, both directions, with its answer: same charge point, same unique id, the
    other direction (unique ids are only unique per connection and per sender)."""
    out: list[Exchange] = []
    open_calls: dict[tuple[str | None, str, str], int] = {}
    answers: dict[int, OcppFrame] = {}
    for f in frames:
        if f.type == "CALL" and f.unique_id:
            open_calls[(f.cp, f.direction, f.unique_id)] = len(out)
            out.append(Exchange(f, None))
        elif f.type in ("CALLRESULT", "CALLERROR") and f.unique_id:
            asked = TO_CHARGER if f.direction == TO_CSMS else TO_CSMS
            n = open_calls.pop((f.cp, asked, f.unique_id), None)
            if n is not None:
                answers[n] = f
    return [Exchange(e.call, answers.get(n)) for n, e in enumerate(out)]


def response_times(frames: list[OcppFrame]) -> list[Timing]:
    """Every request of the Central System until the charger's CALLRESULT or CALLERROR with its id."""
    return [Timing(RESPONSE, e.call.action or "?", e.ms, (e.call.index, e.answer.index))
            for e in exchanges(frames)
            if e.call.direction == TO_CHARGER and e.answer is not None and e.ms is not None]


@dataclass(frozen=True)
class Fulfilment:
    """A request of a triggered pair answered Accepted, and the first message it promised (None: not seen)."""

    pair: TriggeredPair
    request: OcppFrame
    answer: OcppFrame
    promised: OcppFrame | None
    waited_s: float  # the answer until the promised message, or until the last frame the search could look at

    @property
    def before_answer(self) -> bool:
        """The charger sent the promised message before its answer: the wait after the answer is nil."""
        return self.promised is not None and self.promised.index < self.answer.index

    @property
    def ms(self) -> float | None:
        return None if self.promised is None else max(0.0, self.waited_s * 1000)


def _same_scope(a: OcppFrame, b: OcppFrame) -> bool:
    return a.cp == b.cp and a.case == b.case


def _connector(payload: Any) -> int | None:
    value = payload.get("connectorId") if isinstance(payload, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _promised(pair: TriggeredPair, request: OcppFrame, later: OcppFrame) -> bool:
    if later.direction != TO_CSMS or later.type != "CALL":
        return False
    if not any(p.matches(later.action, later.payload, request.payload) for p in pair.promises):
        return False
    wanted = _connector(request.payload)
    got = _connector(later.payload)
    return not (pair.same_connector and wanted and got is not None and got != wanted)


def fulfilments(frames: list[OcppFrame], pairs: Iterable[TriggeredPair] | None = None,
                window_s: float = TRIGGER_WINDOW_S) -> list[Fulfilment]:
    """Each accepted request of a triggered pair and the first message it promised: looked for after the request
    (a charger may send it before its answer), on the same charge point and in the same case, at most
    `window_s` after the answer; a message fulfils one request only."""
    by_request = {p.request: p for p in (a4().pairs if pairs is None else pairs)}
    position = {f.index: n for n, f in enumerate(frames)}
    claimed: set[int] = set()
    out: list[Fulfilment] = []
    for exchange in exchanges(frames):
        request, answer = exchange.call, exchange.answer
        pair = by_request.get(request.action or "")
        if pair is None or request.direction != TO_CHARGER or answer is None or exchange.status != "Accepted":
            continue
        found: OcppFrame | None = None
        last = answer
        for later in frames[position[request.index] + 1:]:
            if later.mono - answer.mono > window_s:
                break
            if not _same_scope(later, request):
                continue
            last = later if later.mono > last.mono else last
            if later.index not in claimed and _promised(pair, request, later):
                found = later
                break
        if found is not None:
            claimed.add(found.index)
        waited = (found.mono if found is not None else last.mono) - answer.mono
        out.append(Fulfilment(pair, request, answer, found, waited))
    return out


def triggered_times(frames: list[OcppFrame]) -> list[Timing]:
    """Each accepted request of a triggered pair: its answer until the first charger request it promised."""
    return [Timing(TRIGGERED, f.pair.name, f.ms, (f.answer.index, f.promised.index))
            for f in fulfilments(frames) if f.promised is not None and f.ms is not None]


def authorize_times(frames: list[OcppFrame], actions: Iterable[dict[str, Any]]) -> list[Timing]:
    """A card presented by the bench (the start of its `present` command) until the charger's Authorize.req
    (wall clock: the bench logs it so)."""
    out: list[Timing] = []
    authorizes = [f for f in frames if f.direction == TO_CSMS and f.type == "CALL" and f.action == "Authorize"]
    for action in actions:
        if action.get("command") != "present" or action.get("error"):
            continue
        presented = float(action["ts"])  # the command returns after the hold time; the card is there at once
        following = [f for f in authorizes if f.wall >= presented]
        if following:
            first = following[0]
            out.append(Timing(AUTHORIZE, "card presented -> Authorize", (first.wall - presented) * 1000,
                              (first.index,)))
    return out


def case_timings(records: Iterable[dict[str, Any]], actions: Iterable[dict[str, Any]] = ()) -> list[Timing]:
    """All chapter 8 timings in one case's capture records, in capture order of their first frame."""
    frames = frames_of(records)
    timings = response_times(frames) + triggered_times(frames) + authorize_times(frames, actions)
    return sorted(timings, key=lambda t: t.frames)
