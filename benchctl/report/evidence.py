"""The evidence of a failed case as a lab engineer reads it first: the failing check, what the step expected
beside what the charger sent (pretty JSON, the differing fields marked), and the frames it cites.

Step numbers are the test case document's: a step of a reusable state (section 2.25) is numbered by the
state's own table, so it is shown as "Charging / step 11", never as the case's step 11.
"""

from __future__ import annotations

import json
import re
from pathlib import PurePath
from typing import Any

from benchctl.record.case import CaseResult, Check
from benchctl.record.run import RunRecord

from .timeline import arrow, frame_payload

FRAME_REF = re.compile(r"frame #(\d+)")
Line = tuple[str, bool]  # one line of pretty JSON, and whether it holds a field that differs


def step_label(step: int | None, state: str = "") -> str:
    if step is None:
        return f"{state} (no step number)" if state else ""
    return f"{state} / step {step}" if state else f"step {step}"


def result_state(result: CaseResult) -> str:
    """The reusable state of the deciding step; a record older than the `state` field says it by its file."""
    if result.state:
        return result.state
    file = PurePath(result.where.rsplit(":", 1)[0]) if result.where else None
    return file.stem if file is not None and file.parent.name == "states" else ""


def frame_anchor(case_anchor: str, index: int) -> str:
    return f"{case_anchor}-frame-{index}"


def frame_ref(record: RunRecord, index: int, case_anchor: str = "") -> dict[str, Any]:
    frame = record.frame(index)
    link = frame_anchor(case_anchor, index) if case_anchor else ""
    if frame is None:
        return {"index": index, "missing": True, "link": ""}
    return {"index": index, "missing": False, "ts": frame.get("ts", ""), "arrow": arrow(frame), "link": link,
            "action": frame.get("action") or "", "type": frame.get("type") or "", "raw": frame.get("raw", "")}


def evidence(record: RunRecord, result: CaseResult, anchor: str) -> dict[str, Any]:
    """The failed checks first, each with expected and observed side by side; then what the reason cites."""
    failed = result.failed_checks
    state = result_state(result)
    # verdicts decided outside a check (a timeout, an unexpected message) name their frame in the reason
    cited = [int(i) for i in dict.fromkeys(FRAME_REF.findall(result.reason))]
    shown = {i for c in failed for i in c.frames}
    step = result.step if result.step is not None else next((c.step for c in failed), None)
    return {"step": step_label(step, state or next((c.state for c in failed), "")),
            "reason": result.reason,
            "failed": [_failed(record, result, check, anchor) for check in failed],
            "cited": [frame_ref(record, i, anchor) for i in cited if i not in shown]}


def _failed(record: RunRecord, result: CaseResult, check: Check, anchor: str) -> dict[str, Any]:
    frames = [frame_ref(record, i, anchor) for i in check.frames]
    compared = [f for f in frames if not f["missing"]][-1:]  # the charger's message the check judged
    side_by_side = None
    if compared and check.expected is not None:
        frame = record.frame(compared[0]["index"]) or {}
        # every check of the same step on that frame: the step's whole expectation, its failed fields marked
        same = [c for c in result.checks if c.step == check.step and compared[0]["index"] in c.frames
                and c.expected is not None]
        expected = _nest({_path(c): c.expected for c in same})
        differing = {_path(c) for c in same if not c.ok}
        side_by_side = {"expected": json_lines(expected, differing),
                        "observed": json_lines(frame_payload(frame), differing)}
    return {"step": step_label(check.step, check.state), "description": check.description,
            "observed": "" if check.observed is None else _text(check.observed), "frames": frames, "side_by_side": side_by_side}


def _path(check: Check) -> str:
    """The payload path a value check judged: its description is "<Action>.req <path> is <expected>"."""
    words = check.description.split(" ")
    return words[1] if len(words) > 2 and words[2] == "is" else check.description


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for path, value in flat.items():
        keys = path.split(".") if "[" not in path else [path]
        node = nested
        for key in keys[:-1]:
            child = node.setdefault(key, {})
            node = child if isinstance(child, dict) else node
        node[keys[-1]] = value
    return nested


def json_lines(value: Any, marked: set[str]) -> list[Line]:
    """`value` as indented JSON, line by line; a line is marked when its field's path (a.b.c) is one of
    `marked` or lies inside one."""
    lines: list[Line] = []
    _walk(value, "", "", "", 0, marked, lines)
    return lines


def _walk(value: Any, path: str, prefix: str, suffix: str, depth: int, marked: set[str], out: list[Line]) -> None:
    pad = "  " * depth
    hit = bool(path) and any(path == m or path.startswith(m + ".") for m in marked)
    items: list[tuple[str, str, Any]]
    if isinstance(value, dict) and value:
        opening, closing = "{", "}"
        items = [(f"{path}.{k}" if path else str(k), json.dumps(str(k)) + ": ", v) for k, v in value.items()]
    elif isinstance(value, list) and value:
        opening, closing = "[", "]"
        items = [(f"{path}.{n}" if path else str(n), "", v) for n, v in enumerate(value)]
    else:
        out.append((pad + prefix + json.dumps(value, ensure_ascii=False) + suffix, hit))
        return
    out.append((pad + prefix + opening, hit))
    for n, (child, key, item) in enumerate(items):
        _walk(item, child, key, "," if n < len(items) - 1 else "", depth + 1, marked, out)
    out.append((pad + closing + suffix, hit))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
