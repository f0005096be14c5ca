"""report.html: the run as a certification lab would hand it over, in one file that needs nothing else.

Every value that comes from the run (charger payloads above all: the DUT writes them) goes through `_e`, so a
charger cannot put markup into the report. No script and no external resource is used; <details> does the
folding.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import Any

from benchctl.run.results import ERROR, FAIL

from .cases import NO_RESULT, OUTCOMES, CaseRow, case_rows, summary
from .record import RunRecord
from .style import CSS
from .timeline import EV, FRAME, RESET, Event, arrow, case_timeline, ev_change, frame_payload
from .companion import companion_section, verdicts_cell

_FRAME_REF = re.compile(r"frame #(\d+)")
DUT_FIRST = ("chargePointVendor", "chargePointModel", "firmwareVersion", "chargePointSerialNumber",
             "chargeBoxSerialNumber")


def render_html(record: RunRecord) -> str:
    rows = case_rows(record)
    anchors = _anchors(rows)
    parts = [
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
        f"<title>Test report {_e(record.charge_point_id)} {_e(record.bench)} {_e(_when(record.started))}</title>\n",
        f"<style>{CSS}</style>\n</head>\n<body>\n",
        _header(record),
        _dut(record),
        _pics(record),
        _profile(record),
        _configuration(record),
        _summary(rows),
        _case_table(record, rows, anchors),
        _performance(record),
        "<h2>Case details</h2>\n",
        *(_case_section(record, row, anchors[n]) for n, row in enumerate(rows) if anchors[n]),
        "</body>\n</html>\n",
    ]
    return "".join(parts)


def _performance(record: RunRecord) -> str:
    """The chapter 8 section, once `benchctl perf` has left perf.json in the run directory."""
    from benchctl.perf.html import PERF_CSS, perf_section
    from benchctl.perf.record import load_perf

    perf = load_perf(record.path)
    if perf is None:
        return ""
    try:
        section = perf_section(perf)
    except (KeyError, TypeError, ValueError) as exc:  # a hand-edited perf.json must not cost the whole report
        return f"<p class=\"notes\">perf.json could not be shown: {_e(exc)}</p>\n"
    return f"<style>{PERF_CSS}</style>\n{section}<p><a href=\"perf.html\">perf.html</a></p>\n"


def write_html(record: RunRecord, path: Path) -> Path:
    # backslashreplace: a lone surrogate decoded from a frame's JSON must not stop the report being written
    path.write_text(render_html(record), encoding="utf-8", errors="backslashreplace")
    return path


def _header(record: RunRecord) -> str:
    facts: list[tuple[str, str]] = [
        ("Bench", _e(record.bench)),
        ("Bench file", _e(record.meta.get("bench_file") or "")),
        ("Charge point id", _e(record.charge_point_id)),
        ("Started", _e(_when(record.started))),
    ]
    if record.finished is not None:
        facts.append(("Finished", _e(_when(record.finished))))
    else:
        last = record.last_activity
        facts.append(("Finished", "<span class=\"muted\">not recorded"
                      + (f"; last activity {_e(_when(last))}" if last is not None else "") + "</span>"))
    if record.faults is not None:
        faults = ", ".join(record.faults) or "none (healthy simulated charger)"
        facts.append(("Simulated bench, faults", _e(faults)))
    if record.pics_file:
        facts.append(("PICS file", _e(record.pics_file)))
    facts.append(("Run directory", _e(str(record.path))))
    facts.append(("Report written", _e(_when(datetime.now(timezone.utc).timestamp()))))
    notes = ""
    if record.notes:
        notes = ("<div class=\"notes\"><strong>The run directory is incomplete:</strong><ul>"
                 + "".join(f"<li>{_e(n)}</li>" for n in record.notes) + "</ul></div>\n")
    return ("<header>\n<h1>OCPP 1.6J conformance test report</h1>\n"
            f"<p class=\"muted\">benchctl run of {_e(record.charge_point_id)} on bench {_e(record.bench)}</p>\n"
            + _facts(facts) + notes + "</header>\n")


def _dut(record: RunRecord) -> str:
    dut = record.dut
    if not dut:
        return ("<h2>Device under test</h2>\n"
                "<p class=\"muted\">Not recorded (no BootNotification data in run.json).</p>\n")
    keys = [k for k in DUT_FIRST if k in dut] + sorted(k for k in dut if k not in DUT_FIRST)
    return "<h2>Device under test</h2>\n" + _facts([(k, _e(_value(dut[k]))) for k in keys])


def _pics(record: RunRecord) -> str:
    pics = record.pics
    head = "<h2>PICS</h2>\n"
    if record.pics_file:
        head += f"<p>From <code>{_e(record.pics_file)}</code>.</p>\n"
    if pics is None:
        return head + "<p class=\"muted\">No Protocol Implementation Conformance Statement recorded.</p>\n"
    body = "".join(f"<tr><td>{_e(k)}</td><td>{_e(_value(v))}</td></tr>\n" for k, v in pics.items())
    return head + f"<table class=\"pics\"><tr><th>Field</th><th>Value</th></tr>\n{body}</table>\n"


def _profile(record: RunRecord) -> str:
    """The DUT profile check before the first case (benchctl/run/profile_check.py): every row but the OK ones."""
    profile = record.meta.get("dut_profile")
    if not isinstance(profile, dict):
        return ""
    head = "<h2>DUT profile</h2>\n"
    if profile.get("error"):
        head += f"<p class=\"muted\">Not compared: {_e(profile['error'])}.</p>\n"
    stops = profile.get("contradictions") or []
    if stops:
        head += ("<p class=\"notes\">" + ("The contradiction was overridden (--accept-profile): "
                                          if profile.get("overridden") else "The run stopped before its first case: ")
                 + _e(", ".join(map(str, stops))) + "</p>\n")
    rows = [r for r in profile.get("rows") or [] if isinstance(r, dict) and r.get("outcome") != "OK"]
    if not rows:
        return head + "<p>The charger agrees with the bench config and the PICS.</p>\n"
    body = "".join(f"<tr><td>{_e(r.get('key'))}</td><td>{_e(r.get('charger'))}</td><td>{_e(r.get('expected'))}</td>"
                   f"<td>{_e(', '.join(map(str, r.get('cases') or [])))}</td><td>{_e(r.get('outcome'))}</td>"
                   f"<td>{_e(r.get('note'))}</td></tr>\n" for r in rows)
    return (head + "<table class=\"configuration\"><tr><th>Key</th><th>Charger says</th><th>Bench/PICS says</th>"
            f"<th>Cases affected</th><th></th><th>Why</th></tr>\n{body}</table>\n")


def _configuration(record: RunRecord) -> str:
    keys = record.configuration
    head = "<h2>Configuration keys</h2>\n"
    if keys is None:
        return head + "<p class=\"muted\">Not read (no GetConfiguration result in run.json).</p>\n"
    body = "".join(
        f"<tr><td>{_e(k.key)}</td><td>"
        + ("<span class=\"muted\">(no value)</span>" if k.value is None else f"<code>{_e(k.value)}</code>")
        + f"</td><td>{'read-only' if k.readonly else 'read-write'}</td></tr>\n" for k in keys)
    return (head + "<p>As reported by GetConfiguration at the start of the run.</p>\n"
            f"<table class=\"configuration\"><tr><th>Key</th><th>Value</th><th>Access</th></tr>\n{body}</table>\n")


def _summary(rows: list[CaseRow]) -> str:
    counts = summary(rows)
    shown = [o for o in OUTCOMES if counts[o]] or ["PASS"]
    head = "".join(f"<th>{_e(_label(o))}</th>" for o in shown)
    cells = "".join(f"<td><span class=\"verdict v-{o}\">{counts[o]}</span></td>" for o in shown)
    warned = (f" {counts['warnings']} warning(s) in {counts['warned_cases']} case(s): defects the certification "
              f"does not test, never a verdict." if counts["warnings"] else "")
    return ("<h2>Summary</h2>\n"
            f"<p>{counts['run']} of {counts['total']} cases run.{_e(warned)}</p>\n"
            f"<table class=\"counts\"><tr>{head}<th>Total</th></tr>\n<tr>{cells}<td>{counts['total']}</td></tr>"
            "</table>\n")


def _case_table(record: RunRecord, rows: list[CaseRow], anchors: list[str | None]) -> str:
    has_plan = record.plan is not None
    lines = ["<h2>Test cases</h2>\n", "<table class=\"cases\"><tr><th>Case</th><th>Title</th><th>Section</th>"
             "<th>M/O/C</th><th>In/out</th><th>Verdict</th><th>Reason</th><th>Duration</th></tr>\n"]
    for row, anchor in zip(rows, anchors):
        case_id = f"<a href=\"#{anchor}\">{_e(row.id)}</a>" if anchor else _e(row.id)
        if row.in_plan is None:
            in_out = "in (not in plan)" if has_plan else "in"
        else:
            in_out = "in" if row.in_plan else "out"
        duration = "" if row.duration_s is None else f"{row.duration_s:.1f} s"
        lines.append(f"<tr class=\"case-row\" data-case=\"{_e(row.id)}\"><td>{case_id}</td><td>{_e(row.title)}</td>"
                     f"<td>{_e(row.section or '')}</td><td>{_e(row.certification or '')}</td><td>{in_out}</td>"
                     f"<td>{_badge(row.outcome)}{_warned(row)}{_retries(row)}{verdicts_cell(row.result)}</td><td>{_e(row.reason)}</td><td>{duration}</td></tr>\n")
    lines.append("</table>\n")
    return "".join(lines)


def _warned(row: CaseRow) -> str:
    count = len(row.result.warnings) if row.result is not None else 0
    return f" <span class=\"verdict v-WARN\">WARN {count}</span>" if count else ""


def _warnings(record: RunRecord, warnings: list[dict[str, Any]]) -> str:
    """The WARN findings of a case, each with its frames (never part of the verdict)."""
    parts = [f"<div class=\"warnings\">\n<h4>Warnings ({len(warnings)}): not part of the verdict</h4>\n"]
    for w in warnings:
        parts.append(f"<p><strong>{_e(w.get('kind', ''))}</strong>: {_e(w.get('message', ''))}</p>\n")
        parts += [_raw_frame(record, i) for i in _indices(w.get("frames"))]
    parts.append("</div>\n")
    return "".join(parts)


def _retries(row: CaseRow) -> str:
    result = row.result
    if result is None or not result.attempts:
        return ""
    return f" <small>{'flaky, ' if result.flaky else ''}{len(result.attempts) + 1} attempts</small>"


def _case_section(record: RunRecord, row: CaseRow, anchor: str | None) -> str:
    result = row.result
    failing = row.outcome in (FAIL, ERROR, NO_RESULT)
    facts: list[tuple[str, str]] = []
    if row.section:
        facts.append(("Section", _e(row.section)))
    if row.group:
        facts.append(("Group", _e(row.group)))
    if row.certification:
        facts.append(("Certification", _e(row.certification)))
    if row.plan is not None and row.plan.reason:
        facts.append(("Plan", _e(("in: " if row.plan.included else "out: ") + row.plan.reason)))
    if result is not None:
        facts.append(("Started", _e(_when(result.started))))
        facts.append(("Duration", f"{result.duration_s:.3f} s"))
        if result.where:
            facts.append(("Scenario", f"<code>{_e(result.where)}</code>"))
        if result.retest is not None:
            facts.append(("Retest (Appendix D)", "yes" if result.retest else "no"))
        if result.attempts:
            history = "; ".join(f"{a.get('verdict')}" + (f" at step {a['step']}" if a.get("step") is not None else "")
                                + (f" ({a.get('reason')})" if a.get("reason") else "") for a in result.attempts)
            facts.append(("Earlier attempts", _e(history) + (" &mdash; <strong>flaky</strong>: passed on a retry"
                                                               if result.flaky else "")))
    if row.reason and not (failing and result is not None):  # a failed case shows it with its evidence
        facts.append(("Reason", _e(row.reason)))
    parts = [f"<section class=\"case c-{_e(row.outcome)}\" id=\"{anchor}\">\n",
             f"<h3>{_e(row.id)} {_e(row.title)} {_badge(row.outcome)}</h3>\n", _facts(facts)]
    if failing and result is not None:
        parts.append(_evidence(record, row))
    parts.append(companion_section(result))
    if result is not None and result.warnings:
        parts.append(_warnings(record, result.warnings))
    if result is not None and result.status_rules is not None:
        parts.append(_findings(record, result.status_rules))
    if result is not None and result.checks:
        parts.append(_details("Checks", _checks(result.checks), open_=failing))
    if result is not None and result.timings:
        parts.append(_details(f"Timings, chapter 8 ({len(result.timings)})", _timings(result.timings), open_=False))
    events = case_timeline(record, row)
    if events:
        cited = {i for c in (result.failed_checks if result else []) for i in _indices(c.get("frames"))}
        if failing and result is not None:
            cited |= {int(i) for i in _FRAME_REF.findall(result.reason)}
        start = result.started if result is not None else None
        parts.append(_details(f"Timeline ({len(events)} events)", _timeline(events, cited, start), open_=failing))
    parts.append("</section>\n")
    return "".join(parts)


def _evidence(record: RunRecord, row: CaseRow) -> str:
    """What a lab engineer reads first for a failed case: the step, what was expected, what the DUT sent."""
    result = row.result
    assert result is not None
    failed = result.failed_checks
    step = result.step if result.step is not None else next((c.get("step") for c in failed), None)
    parts = ["<div class=\"evidence\">\n",
             f"<h4>Failed at step {_e(step)}</h4>\n" if step is not None else "<h4>Failed</h4>\n",
             f"<p>{_e(result.reason)}</p>\n"]
    if failed:
        parts.append("<h4>Expected</h4>\n<ul>")
        parts += [f"<li>step {_e(c.get('step'))}: {_e(c.get('description', ''))}</li>" for c in failed]
        parts.append("</ul>\n<h4>Observed</h4>\n")
        for check in failed:
            parts.append(f"<p>step {_e(check.get('step'))}: <code>{_e(_value(check.get('observed')))}</code></p>\n")
            parts += [_raw_frame(record, i) for i in _indices(check.get("frames"))]
    else:
        # verdicts decided outside a check (a timeout, an unexpected message) name their frame in the reason
        cited = [int(i) for i in dict.fromkeys(_FRAME_REF.findall(result.reason))]
        if cited:
            parts.append("<h4>Observed</h4>\n")
            parts += [_raw_frame(record, i) for i in cited]
    parts.append("</div>\n")
    return "".join(parts)


def _raw_frame(record: RunRecord, index: int) -> str:
    frame = record.frame(index)
    if frame is None:
        return f"<p class=\"muted\">frame #{index} is not in the capture</p>\n"
    return (f"<p class=\"frame-ref\">frame #{index}, {_e(frame.get('ts', ''))}, {_e(arrow(frame))}, "
            f"{_e(frame.get('action') or '')} {_e(frame.get('type') or '')}</p>\n"
            f"<pre class=\"raw\">{_e(frame.get('raw', ''))}</pre>\n")


def _findings(record: RunRecord, rules: dict[str, Any]) -> str:
    findings = [f for f in rules.get("findings") or [] if isinstance(f, dict)]
    verdict = "satisfied" if rules.get("ok") else "not satisfied"
    head = f"<h4>Appendix D StatusNotification rules: {verdict}</h4>\n"
    if not findings:
        return head
    body = []
    for f in findings:
        frames = ", ".join(f"#{i}" for i in _indices(f.get("frames")))
        body.append(f"<tr class=\"{'bad' if f.get('fail') else ''}\"><td>{_e(f.get('rule', ''))}</td>"
                    f"<td>{_e(f.get('message', ''))}</td><td>{frames}</td>"
                    f"<td>{'fail' if f.get('fail') else 'note'}</td></tr>\n")
    return (head + "<table class=\"findings\"><tr><th>Rule</th><th>Finding</th><th>Frames</th><th></th></tr>\n"
            + "".join(body) + "</table>\n")


def _checks(checks: list[dict[str, Any]]) -> str:
    body = []
    for c in checks:
        ok = bool(c.get("ok"))
        frames = ", ".join(f"#{i}" for i in _indices(c.get("frames")))
        body.append(f"<tr class=\"{'' if ok else 'bad'}\"><td>{_e(c.get('step'))}</td>"
                    f"<td>{_e(c.get('description', ''))}</td><td>{'ok' if ok else 'FAILED'}</td>"
                    f"<td><code>{_e(_value(c.get('observed')))}</code></td><td>{frames}</td></tr>\n")
    return ("<table class=\"checks\"><tr><th>Step</th><th>Check</th><th>Result</th><th>Observed</th>"
            "<th>Frames</th></tr>\n" + "".join(body) + "</table>\n")


def _timings(timings: list[dict[str, Any]]) -> str:
    body = [f"<tr><td>{_e(t.get('kind'))}</td><td>{_e(t.get('name'))}</td><td>{_e(t.get('ms'))} ms</td>"
            f"<td>{', '.join(f'#{i}' for i in _indices(t.get('frames')))}</td></tr>\n" for t in timings]
    return ("<table class=\"checks\"><tr><th>Kind</th><th>Measured</th><th>Time</th><th>Frames</th></tr>\n"
            + "".join(body) + "</table>\n")


def _timeline(events: list[Event], cited: set[int], start: float | None) -> str:
    origin = start if start is not None else next((e.t for e in events if e.t is not None), None)
    body = []
    for event in events:
        classes = [RESET] if event.phase == RESET else []
        offset = "" if event.t is None or origin is None else f"{event.t - origin:+.3f} s"
        if event.kind == FRAME and event.frame is not None:
            f = event.frame
            index = f.get("i")
            if index in cited:
                classes.append("cited")
            if f.get("valid") is False:
                classes.append("bad")
            detail = f"<code>{_e(_value(frame_payload(f)))}</code>"
            if f.get("valid") is False:
                detail += f"<br><strong>invalid:</strong> {_e(f.get('error') or '')}"
            cells = (f"#{_e(index)}", _e(arrow(f)), _e(f.get("action") or ""), _e(f.get("type") or ""), detail)
        elif event.action is not None:
            a = event.action
            if a.get("error"):
                classes.append("bad")
            if event.kind == EV:
                classes.append("ev")
            what = ev_change(a) if event.kind == EV else f"{a.get('role', '')}.{a.get('command', '')}"
            outcome = f"error: {a['error']}" if a.get("error") else f"→ {_value(a.get('result'))}"
            cells = ("", "EV" if event.kind == EV else "bench", _e(what), "",
                     f"<code>{_e(_value(a.get('args')))}</code> {_e(outcome)}")
        else:
            continue
        body.append(f"<tr class=\"{' '.join(classes)}\"><td class=\"t\">{_e(_clock(event.t))}</td>"
                    f"<td class=\"t\">{offset}</td>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>\n")
    return ("<p class=\"muted\">Times are UTC; offsets from the start of the case. Grey rows are the return to "
            "idle before the case (000_RESET); highlighted frames are cited by a failed check.</p>\n"
            "<table class=\"timeline\"><tr><th>Time</th><th>Offset</th><th>Frame</th><th>Who</th><th>What</th>"
            "<th>Type</th><th>Payload / arguments</th></tr>\n" + "".join(body) + "</table>\n")


def _details(summary_text: str, body: str, open_: bool) -> str:
    return f"<details{' open' if open_ else ''}><summary>{_e(summary_text)}</summary>\n{body}</details>\n"


def _facts(facts: list[tuple[str, str]]) -> str:
    """A two-column table; values arrive already escaped, since some hold markup of their own."""
    return ("<table class=\"facts\">\n" + "".join(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>\n" for k, v in facts)
            + "</table>\n")


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


def _badge(outcome: str) -> str:
    css = outcome if outcome in OUTCOMES else ERROR
    return f"<span class=\"verdict v-{css}\">{_e(_label(outcome))}</span>"


def _label(outcome: str) -> str:
    return outcome.replace("_", " ")


def _indices(frames: Any) -> list[int]:
    return [i for i in frames if isinstance(i, int)] if isinstance(frames, list) else []


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "not recorded"
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _clock(epoch: float | None) -> str:
    return "" if epoch is None else datetime.fromtimestamp(epoch, timezone.utc).strftime("%H:%M:%S.%f")[:-3]


def _e(value: Any) -> str:
    return escape(value if isinstance(value, str) else str(value), quote=True)
