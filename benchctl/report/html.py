"""report.html: the run as a certification lab would hand it over, in one file that needs nothing else.

The markup is in templates/report.html.j2 and the templates it includes (see templating.py); this module only
shapes what the run recorded into the values they show. No script and no external resource is used;
<details> does the folding.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from jinja2 import TemplateError
from markupsafe import Markup

from benchctl.record.case import ERROR, FAIL
from benchctl.record.run import RunRecord

from .banner import banner
from .cases import EXCLUDED, NO_RESULT, NOT_SELECTED, OUTCOMES, CaseRow, case_rows, summary
from .companion import companion, verdicts
from .configuration_used import configuration_used
from .evidence import FRAME_REF, evidence, frame_anchor, frame_ref, step_label
from .manual_steps import manual_steps
from .templating import frame_list, render, value_text
from .timeline import EV, FRAME, RESET, Event, arrow, case_timeline, ev_change, frame_payload

DUT_FIRST = ("chargePointVendor", "chargePointModel", "firmwareVersion", "chargePointSerialNumber",
             "chargeBoxSerialNumber")


def render_html(record: RunRecord) -> str:
    rows = case_rows(record)
    anchors = _anchors(rows)
    counts = summary(rows)
    table = [_table_row(row, anchor, record.plan is not None) for row, anchor in zip(rows, anchors)]
    return render(
        "report.html.j2", record=record, bench_file=record.meta.get("bench_file") or "",
        written=datetime.now(timezone.utc).timestamp(), dut=_dut(record), profile=_profile(record),
        counts=counts, shown=[o for o in OUTCOMES if counts[o]] or ["PASS"], banner=banner(record, counts),
        # the cases this run was asked for; the plan's others (not selected, out of scope) are folded away
        rows=[r for r in table if r["row"].outcome not in (NOT_SELECTED, EXCLUDED)],
        others=[r for r in table if r["row"].outcome in (NOT_SELECTED, EXCLUDED)],
        cases=[_case(record, row, anchor) for row, anchor in zip(rows, anchors) if anchor],
        configuration=configuration_used(record, rows), manual=manual_steps(record, rows),
        performance=_performance(record))


def write_html(record: RunRecord, path: Path) -> Path:
    # backslashreplace: a lone surrogate decoded from a frame's JSON must not stop the report being written
    path.write_text(render_html(record), encoding="utf-8", errors="backslashreplace")
    return path


def _performance(record: RunRecord) -> dict[str, Any] | None:
    """The chapter 8 section, once `benchctl perf` has left perf.json in the run directory."""
    from benchctl.perf.record import load_perf
    from benchctl.report.perf_section import perf_section

    perf = load_perf(record.path)
    if perf is None:
        return None
    try:
        return {"section": Markup(perf_section(perf)), "error": None}
    except (KeyError, TypeError, ValueError, TemplateError) as exc:  # a hand-edited perf.json must not cost the report
        return {"section": None, "error": str(exc)}


def _dut(record: RunRecord) -> list[tuple[str, str]]:
    dut = record.dut or {}
    keys = [k for k in DUT_FIRST if k in dut] + sorted(k for k in dut if k not in DUT_FIRST)
    return [(k, value_text(dut[k])) for k in keys]


def _profile(record: RunRecord) -> dict[str, Any] | None:
    """The DUT profile check before the first case (benchctl/run/profile_check.py): every row but the OK ones."""
    profile = record.meta.get("dut_profile")
    if not isinstance(profile, dict):
        return None
    rows = [r for r in profile.get("rows") or [] if isinstance(r, dict) and r.get("outcome") != "OK"]
    return {"error": profile.get("error"), "overridden": bool(profile.get("overridden")),
            "contradictions": ", ".join(map(str, profile.get("contradictions") or [])),
            "rows": [{"key": r.get("key"), "charger": r.get("charger"), "expected": r.get("expected"),
                      "cases": ", ".join(map(str, r.get("cases") or [])), "outcome": r.get("outcome"),
                      "note": r.get("note")} for r in rows]}


def _table_row(row: CaseRow, anchor: str | None, has_plan: bool) -> dict[str, Any]:
    result = row.result
    if row.in_plan is None:
        in_out = "in (not in plan)" if has_plan else "in"
    else:
        in_out = "in" if row.in_plan else "out"
    retries = ""
    if result is not None and result.attempts:
        retries = f"{'flaky, ' if result.flaky else ''}{len(result.attempts) + 1} attempts"
    return {"row": row, "anchor": anchor, "in_out": in_out, "verdict_css": _verdict_css(row.outcome),
            "warnings": len(result.warnings) if result is not None else 0, "retries": retries,
            "verdicts": verdicts(result),
            "duration": ("" if row.duration_s is None else f"{row.duration_s:.1f} s")
            + (f" (bench {result.bench})" if result is not None and result.bench is not None else "")}


def _case(record: RunRecord, row: CaseRow, anchor: str) -> dict[str, Any]:
    result = row.result
    failing = row.outcome in (FAIL, ERROR, NO_RESULT)
    case: dict[str, Any] = {
        "row": row, "result": result, "anchor": anchor, "failing": failing, "verdict_css": _verdict_css(row.outcome),
        "plan": None if row.plan is None or not row.plan.reason
        else ("in: " if row.plan.included else "out: ") + row.plan.reason,
        # a failed case shows its reason with its evidence
        "reason": row.reason if row.reason and not (failing and result is not None) else "",
        "history": "", "evidence": None, "companion": companion(result), "warnings": [], "findings": None,
        "checks": [], "timings": [], "timeline": [], "reset": [], "reset_cited": False}
    if result is not None:
        case["history"] = "; ".join(
            f"{a.get('verdict')}" + (f" at step {a['step']}" if a.get("step") is not None else "")
            + (f" ({a.get('reason')})" if a.get("reason") else "") for a in result.attempts)
        if failing:
            case["evidence"] = evidence(record, result, anchor)
        case["warnings"] = [{"kind": w.kind, "message": w.message,
                             "frames": [frame_ref(record, i, anchor) for i in w.frames]}
                            for w in result.warnings]
        case["findings"] = _findings(result.status_rules)
        # the failing checks first: they are what the case is read for
        case["checks"] = [{"ok": c.ok, "step": step_label(c.step, c.state), "description": c.description,
                           "observed": value_text(c.observed), "frames": frame_list(c.frames)}
                          for c in sorted(result.checks, key=lambda c: c.ok)]
        case["timings"] = [{"kind": t.get("kind"), "name": t.get("name"), "ms": t.get("ms"),
                            "frames": frame_list(t.get("frames"))} for t in result.timings]
    events = case_timeline(record, row)
    if events:
        cited = {i for c in (result.failed_checks if result else []) for i in c.frames}
        if failing and result is not None:
            cited |= {int(i) for i in FRAME_REF.findall(result.reason)}
        rows = _timeline(events, cited, result.started if result is not None else None, anchor)
        # the return to idle before the case is folded away: it is read only when it went wrong
        case["reset"] = [r for r in rows if RESET in r["classes"]]
        case["timeline"] = [r for r in rows if RESET not in r["classes"]]
        case["reset_cited"] = any("cited" in r["classes"] or "bad" in r["classes"] for r in case["reset"])
    return case


def _findings(rules: dict[str, Any] | None) -> dict[str, Any] | None:
    if rules is None:
        return None
    findings = [f for f in rules.get("findings") or [] if isinstance(f, dict)]
    return {"ok": bool(rules.get("ok")),
            "rows": [{"fail": bool(f.get("fail")), "rule": f.get("rule", ""), "message": f.get("message", ""),
                      "frames": frame_list(f.get("frames"))} for f in findings]}


def _timeline(events: list[Event], cited: set[int], start: float | None, anchor: str) -> list[dict[str, Any]]:
    """One row per frame or bench action; the template lays them out. A frame's row is the target of the
    links that cite it."""
    origin = start if start is not None else next((e.t for e in events if e.t is not None), None)
    rows = []
    for event in events:
        row: dict[str, Any] = {"t": event.t, "classes": [RESET] if event.phase == RESET else [],
                               "offset": "" if event.t is None or origin is None else f"{event.t - origin:+.3f} s",
                               "invalid": None, "outcome": "", "id": ""}
        if event.kind == FRAME and event.frame is not None:
            f = event.frame
            if f.get("i") in cited:
                row["classes"].append("cited")
            if isinstance(f.get("i"), int):
                row["id"] = frame_anchor(anchor, f["i"])
            if f.get("valid") is False:
                row["classes"].append("bad")
                row["invalid"] = f.get("error") or ""
            row.update(frame=f"#{f.get('i')}", who=arrow(f), what=f.get("action") or "", type=f.get("type") or "",
                       payload=value_text(frame_payload(f)))
        elif event.action is not None:
            a = event.action
            if a.get("error"):
                row["classes"].append("bad")
            if event.kind == EV:
                row["classes"].append("ev")
            row.update(frame="", who="EV" if event.kind == EV else "bench", type="",
                       what=ev_change(a) if event.kind == EV else f"{a.get('role', '')}.{a.get('command', '')}",
                       payload=value_text(a.get("args")),
                       outcome=f"error: {a['error']}" if a.get("error") else f"→ {value_text(a.get('result'))}")
        else:
            continue
        rows.append(row)
    return rows


def _anchors(rows: list[CaseRow]) -> list[str | None]:
    """An element id per row that has something to show; unique even when a case id repeats or is odd."""
    used: set[str] = set()
    anchors: list[str | None] = []
    for row in rows:
        if row.result is None and row.outcome != NO_RESULT:
            anchors.append(None)
            continue
        base = "case-" + re.sub(r"[^A-Za-z0-9_-]", "_", row.id)
        anchor, n = base, 1
        while anchor in used:
            n += 1
            anchor = f"{base}-{n}"
        used.add(anchor)
        anchors.append(anchor)
    return anchors


def _verdict_css(outcome: str) -> str:
    """The badge colour of an outcome; one this version does not know is shown as an error."""
    return outcome if outcome in OUTCOMES else ERROR
