"""The chapter 8 timings of one stretch of capture: what a test lab reads off the tool's log by hand.

Chapter 8.2.1 of the test procedure names four parameters: the OCPP response timeout (a request to the
charger until its answer), the OCPP triggered function timeout (the charger's answer to a request until the
request that answer promised, e.g. RemoteStartTransaction.conf until StartTransaction.req), and the response
times of Authorize and RemoteStartTransaction. Each measurement keeps the capture indices it came from, so a
figure in a report can always be traced to its frames.

Input is capture records (the lines of capture.jsonl, `CapturedFrame.as_record()`), so the same code measures a
run benchctl drove and a capture taken beside another Central System.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Callable, Iterable

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
class _Frame:
    index: int
    mono: float
    wall: float
    direction: str
    type: str
    unique_id: str | None
    action: str | None
    payload: Any


def _payload(record: dict[str, Any]) -> Any:
    try:
        message = json.loads(record.get("raw") or "")
    except (TypeError, ValueError):
        return None
    if not isinstance(message, list) or len(message) < 3:
        return None
    return message[3] if message[0] == 2 and len(message) > 3 else message[2]


def _frames(records: Iterable[dict[str, Any]]) -> list[_Frame]:
    frames = []
    for r in records:
        wall = datetime.fromisoformat(r["ts"]).timestamp() if r.get("ts") else 0.0
        frames.append(_Frame(r["i"], float(r["mono"]), wall, r["dir"], r.get("type", ""), r.get("id"),
                             r.get("action"), _payload(r)))
    return frames


def _status(frame: _Frame, *wanted: str) -> bool:
    return (frame.action == "StatusNotification" and isinstance(frame.payload, dict)
            and (not wanted or frame.payload.get("status") in wanted))


Promise = Callable[[_Frame, Any], bool]  # (a later charger request, the tool's request) -> is it the promised one

# the pairs chapter 8 and Appendix A.4 list: request answered Accepted -> the charger request it promises
TRIGGERED_BY: dict[str, tuple[str, Promise]] = {
    "CancelReservation": ("StatusNotification(Available)", lambda f, _: _status(f, "Available")),
    "ReserveNow": ("StatusNotification(Reserved)", lambda f, _: _status(f, "Reserved")),
    "ChangeAvailability": ("StatusNotification", lambda f, _: _status(f)),
    "RemoteStartTransaction": ("StatusNotification(Preparing)/Authorize/StartTransaction",
                               lambda f, _: _status(f, "Preparing") or f.action in ("Authorize", "StartTransaction")),
    "RemoteStopTransaction": ("StopTransaction", lambda f, _: f.action == "StopTransaction"),
    "TriggerMessage": ("the requested message",
                       lambda f, req: isinstance(req, dict) and f.action == req.get("requestedMessage")),
}


def response_times(frames: list[_Frame]) -> list[Timing]:
    """Every request of the Central System until the charger's CALLRESULT or CALLERROR with its id."""
    out: list[Timing] = []
    open_calls: dict[str, _Frame] = {}
    for f in frames:
        if f.direction == TO_CHARGER and f.type == "CALL" and f.unique_id:
            open_calls[f.unique_id] = f
        elif f.direction == TO_CSMS and f.type in ("CALLRESULT", "CALLERROR") and f.unique_id in open_calls:
            call = open_calls.pop(f.unique_id)  # type: ignore[arg-type]
            out.append(Timing(RESPONSE, call.action or "?", (f.mono - call.mono) * 1000, (call.index, f.index)))
    return out


def triggered_times(frames: list[_Frame]) -> list[Timing]:
    """Each accepted request of TRIGGERED_BY: its answer until the first charger request it promised."""
    out: list[Timing] = []
    requests = {f.unique_id: f for f in frames if f.direction == TO_CHARGER and f.type == "CALL"}
    for pos, answer in enumerate(frames):
        if answer.direction != TO_CSMS or answer.type != "CALLRESULT" or answer.action not in TRIGGERED_BY:
            continue
        if not isinstance(answer.payload, dict) or answer.payload.get("status") != "Accepted":
            continue
        label, promised = TRIGGERED_BY[answer.action]
        request = requests.get(answer.unique_id)
        for later in frames[pos + 1:]:
            if later.mono - answer.mono > TRIGGER_WINDOW_S:
                break
            if later.direction == TO_CSMS and later.type == "CALL" and promised(later, request and request.payload):
                out.append(Timing(TRIGGERED, f"{answer.action} -> {label}", (later.mono - answer.mono) * 1000,
                                  (answer.index, later.index)))
                break
    return out


def authorize_times(frames: list[_Frame], actions: Iterable[dict[str, Any]]) -> list[Timing]:
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
    frames = _frames(records)
    timings = response_times(frames) + triggered_times(frames) + authorize_times(frames, actions)
    return sorted(timings, key=lambda t: t.frames)
