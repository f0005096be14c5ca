"""One case as it happened: its OCPP frames and the bench's actions on one clock, in the order they occurred.

Capture frames carry an ISO timestamp and actions carry epoch seconds, both taken from the same wall clock
(time.time()), so converting the ISO form is enough to merge them. The idle-return before the case
(000_RESET) is part of the story when it went wrong, so its frames and actions are included as the
"reset" phase.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from benchctl.record.run import RunRecord, iso_to_epoch

from .cases import CaseRow

FRAME, ACTION, EV = "frame", "action", "ev"
RESET, CASE = "reset", "case"
TO_CSMS, CONNECTION = "charger->csms", "connection"  # as benchctl.csms.capture writes them


@dataclass
class Event:
    t: float | None  # epoch seconds; None only when nothing in the case had a readable time
    kind: str  # FRAME, ACTION, or EV (a CP state change or plug move of the EV emulator)
    phase: str  # RESET (the idle-return before the case) or CASE
    frame: dict[str, Any] | None = None
    action: dict[str, Any] | None = None


def case_timeline(record: RunRecord, row: CaseRow) -> list[Event]:
    frames = [(RESET, f) for f in record.frames_of(f"{row.id}:reset")] + [(CASE, f) for f in record.frames_of(row.id)]
    events = [Event(iso_to_epoch(f.get("ts")), FRAME, phase, frame=f) for phase, f in frames]
    for phase, action in _actions(record, row, events):
        events.append(Event(_epoch(action.get("ts")), _action_kind(action), phase, action=action))
    return _in_time_order(events)


def frame_payload(frame: dict[str, Any]) -> Any:
    """The message body of a frame (the payload of a CALL/CALLRESULT, code and text of a CALLERROR), or the
    raw text when the frame is not an OCPP-J array."""
    raw = frame.get("raw")
    try:
        msg = json.loads(raw) if isinstance(raw, str) else None
    except json.JSONDecodeError:
        return raw
    if not isinstance(msg, list) or not msg:
        return raw
    if msg[0] == 2 and len(msg) == 4:
        return msg[3]
    if msg[0] == 3 and len(msg) == 3:
        return msg[2]
    if msg[0] == 4 and len(msg) == 5:
        return {"errorCode": msg[2], "errorDescription": msg[3], "errorDetails": msg[4]}
    return raw


def arrow(frame: dict[str, Any]) -> str:
    if frame.get("dir") == CONNECTION:
        return "connection"
    return "CP → CSMS" if frame.get("dir") == TO_CSMS else "CSMS → CP"


def ev_change(action: dict[str, Any]) -> str:
    given = action.get("args")
    args: dict[str, Any] = given if isinstance(given, dict) else {}
    if action.get("command") == "set_cp_state":
        return f"CP state → {args.get('state', '?')}"
    connected = args.get("connected")
    return "cable plugged in" if connected else "cable unplugged" if connected is not None else "plug"


def _action_kind(action: dict[str, Any]) -> str:
    if action.get("role") == "ev" and action.get("command") in ("set_cp_state", "set_plug"):
        return EV
    return ACTION


def _actions(record: RunRecord, row: CaseRow, frames: list[Event]) -> list[tuple[str, dict[str, Any]]]:
    """The bench actions of the case and of the reset before it.

    The case's own actions are the ones its result recorded. The reset's are not in any result, so they are
    taken from the action log between the end of the previous case and the start of this one.
    """
    result = row.result
    if result is not None:
        k = next(i for i, r in enumerate(record.results) if r is result)
        # the case before it on the same charger (a run with several simulated benches runs cases side by side)
        previous = [r for r in record.results[:k] if r.bench == result.bench]
        previous_end = previous[-1].ended if previous else None
        start = result.started
        own = [(CASE, a) for a in result.actions]
        if start is None:
            return own
        return [(RESET, a) for a in _logged_between(record, previous_end, start, result.bench)] + own
    if not frames:
        return []  # never reached: nothing of the run belongs to it
    # The case the run was in when it was cut off: everything its bench logged after its last finished case.
    bench = next((e.frame.get("bench") for e in frames if e.frame is not None), None)
    previous_end = max((r.ended for r in record.results if r.ended is not None and r.bench == bench), default=None)
    case_frames = [e.t for e in frames if e.phase == CASE and e.t is not None]
    start = min(case_frames) if case_frames else math.inf
    logged = _logged_between(record, previous_end, math.inf, bench)
    return [(RESET if (_epoch(a.get("ts")) or 0.0) < start else CASE, a) for a in logged]


def _logged_between(record: RunRecord, after: float | None, before: float, bench: int | None) -> list[dict[str, Any]]:
    low = -math.inf if after is None else after
    return [a for a in record.actions
            if (t := _epoch(a.get("ts"))) is not None and low <= t < before and a.get("bench") == bench]


def _in_time_order(events: list[Event]) -> list[Event]:
    # An event without a readable time keeps its place after the one before it, rather than jumping to an end.
    last: float | None = None
    keyed = []
    for n, event in enumerate(events):
        if event.t is not None:
            last = event.t
        keyed.append((event.t if event.t is not None else last if last is not None else -math.inf, n, event))
    keyed.sort(key=lambda item: (item[0], item[1]))
    return [event for _, _, event in keyed]


def _epoch(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
