"""The "Test configuration" of the test procedure's OCPP Certification Report: every read-only key with its
value, every read-write key with the values the cases ran with.

The start values are the GetConfiguration read before the first case (run.json "configuration"); a value a
case ran with comes from the ChangeConfiguration requests in the capture that the charger accepted, by the
case (or the return to idle before it) that sent them. A key keeps a value set by one case into the next
until something sets it again (on the same simulated bench, in a run with several); a case lists the keys whose value differed from the start while it ran, and the
keys it set itself (its Configuration State) even to the start value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from benchctl.record.run import RunRecord

from .cases import CaseRow

_ACCEPTED = ("Accepted", "RebootRequired")


@dataclass
class KeyUse:
    key: str
    start: str | None  # the value before the first case; None: the charger gave none
    readonly: bool
    per_case: list[tuple[str, str]] = field(default_factory=list)  # (case id, value) where it differed from start


def configuration_used(record: RunRecord, rows: list[CaseRow]) -> dict[str, list[KeyUse]] | None:
    if record.configuration is None:
        return None
    keys = {k.key: KeyUse(k.key, k.value, bool(k.readonly)) for k in record.configuration}
    changes = _accepted_changes(record)
    run = {row.id for row in rows if row.result is not None}
    changed: dict[str, dict[str, str | None]] = {}  # case id -> the values it (or the idle return before it) set
    own: dict[str, set[str]] = {}  # case id -> the keys the case itself set (its Configuration State)
    for case, key, value in changes:
        owner = case.split(":", 1)[0]
        changed.setdefault(owner, {})[key] = value
        if ":" not in case:
            own.setdefault(owner, set()).add(key)
    # walk the cases in run order, carrying a value into the following cases of the same charger (a run with
    # several simulated benches has one per bench) until it is set again
    start: dict[str, str | None] = {k: use.start for k, use in keys.items()}
    held_by_bench: dict[int | None, dict[str, str | None]] = {}
    for result in record.results:
        if result.id not in run:
            continue
        held = held_by_bench.setdefault(result.bench, dict(start))
        held.update(changed.get(result.id, {}))
        for key, value in held.items():
            use = keys.setdefault(key, KeyUse(key, None, False))
            if (value != use.start or key in own.get(result.id, set())) \
                    and (result.id, _shown(value)) not in use.per_case:
                use.per_case.append((result.id, _shown(value)))
    ordered = sorted(keys.values(), key=lambda u: u.key.lower())
    return {"readonly": [u for u in ordered if u.readonly], "readwrite": [u for u in ordered if not u.readonly]}


def _accepted_changes(record: RunRecord) -> list[tuple[str, str, str | None]]:
    """(case, key, value) of each ChangeConfiguration the charger accepted, in capture order."""
    asked: dict[str, tuple[str, str, str | None]] = {}
    accepted: list[tuple[str, str, str | None]] = []
    for frame in record.frames:
        if frame.get("action") != "ChangeConfiguration" or not isinstance(frame.get("id"), str):
            continue
        message = _message(frame.get("raw"))
        if frame.get("type") == "CALL" and len(message) == 4 and isinstance(message[3], dict):
            payload = message[3]
            asked[frame["id"]] = (str(frame.get("case") or ""), str(payload.get("key")), _value(payload.get("value")))
        elif frame.get("type") == "CALLRESULT" and frame["id"] in asked and len(message) == 3:
            answer = message[2] if isinstance(message[2], dict) else {}
            if answer.get("status") in _ACCEPTED:
                accepted.append(asked.pop(frame["id"]))
    return accepted


def _message(raw: Any) -> list[Any]:
    try:
        message = json.loads(raw) if isinstance(raw, str) else None
    except json.JSONDecodeError:
        return []
    return message if isinstance(message, list) else []


def _value(value: Any) -> str | None:
    return None if value is None else str(value)


def _shown(value: str | None) -> str:
    return "(no value)" if value is None else value
