"""The machine-readable report: one JSON document holding the run, the DUT, and every case with its evidence.

Evidence is resolved rather than referenced: a check that cites capture frame #12 carries the frame itself,
so a reader of report.json never needs capture.jsonl to see what the verdict was based on.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchctl.record.run import RunRecord

from .cases import CaseRow, case_rows, summary
from .evidence import result_state
from .timeline import RESET, case_timeline

FORMAT = "benchctl-report/1"


def build_json(record: RunRecord) -> dict[str, Any]:
    rows = case_rows(record)
    plan = record.plan
    configuration = record.configuration
    return {
        "format": FORMAT,
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "run": {
            "directory": str(record.path),
            "bench": record.bench,
            "bench_file": record.meta.get("bench_file"),
            "charge_point_id": record.charge_point_id,
            "started": record.started,
            "started_iso": iso(record.started),
            "finished": record.finished,
            "finished_iso": iso(record.finished),
            "last_activity_iso": iso(record.last_activity),
            "simulated": record.faults is not None,
            "faults": record.faults,
            "pics_file": record.pics_file,
            "selected": record.selected,
        },
        "dut": record.dut,
        "pics": record.pics,
        "configuration": None if configuration is None else [
            {"key": k.key, "value": k.value, "readonly": k.readonly} for k in configuration],
        "summary": summary(rows),
        "plan": None if plan is None else [
            {"id": p.id, "title": p.title, "section": p.section, "certification": p.certification,
             "included": p.included, "reason": p.reason} for p in plan],
        "cases": [_case(record, row) for row in rows],
        "notes": record.notes,
    }


def write_json(record: RunRecord, path: Path) -> Path:
    path.write_text(json.dumps(build_json(record), indent=2) + "\n", encoding="utf-8")
    return path


def iso(epoch: float | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="milliseconds")


def _case(record: RunRecord, row: CaseRow) -> dict[str, Any]:
    result = row.result
    case: dict[str, Any] = {
        "id": row.id,
        "title": row.title,
        "outcome": row.outcome,
        "reason": row.reason,
        "section": row.section,
        "group": row.group,
        "certification": row.certification,
        "in_plan": row.in_plan,
        "plan_reason": None if row.plan is None else row.plan.reason,
    }
    if result is not None:
        case.update({
            "verdict": result.verdict,
            "step": result.step,
            "state": result_state(result),  # the reusable state whose table numbers `step`, or ""
            "where": result.where,
            "started": result.started,
            "started_iso": iso(result.started),
            "duration_s": result.duration_s,
            "retest": result.retest,
            "checks": [{**asdict(check), "cited": _cited(record, check.frames)} for check in result.checks],
            "status_rules": _status_rules(record, result.status_rules),
            "warnings": [{**asdict(w), "cited": _cited(record, w.frames)} for w in result.warnings],
            "result": result.raw,
            "octt": result.raw.get("octt"),  # benchctl octt: the tool's verdict beside benchctl's
        })
    timeline = case_timeline(record, row)
    case["frames"] = [e.frame for e in timeline if e.frame is not None and e.phase != RESET]
    case["reset_frames"] = [e.frame for e in timeline if e.frame is not None and e.phase == RESET]
    case["actions"] = [e.action for e in timeline if e.action is not None and e.phase != RESET]
    case["reset_actions"] = [e.action for e in timeline if e.action is not None and e.phase == RESET]
    return case


def _status_rules(record: RunRecord, rules: dict[str, Any] | None) -> dict[str, Any] | None:
    if rules is None:
        return None
    findings = rules.get("findings")
    return {**rules, "findings": [{**f, "cited": _cited(record, f.get("frames"))}
                                  for f in findings if isinstance(f, dict)] if isinstance(findings, list) else []}


def _cited(record: RunRecord, indices: Any) -> list[dict[str, Any]]:
    """The capture frames a check or finding names; an index the capture lacks is kept, marked missing, so a
    dangling reference shows up instead of vanishing."""
    if not isinstance(indices, list):
        return []
    cited = []
    for index in indices:
        frame = record.frame(index) if isinstance(index, int) else None
        cited.append(frame if frame is not None else {"i": index, "missing": True})
    return cited
