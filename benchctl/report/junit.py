"""The run as JUnit XML, the shape Jenkins, GitLab and pytest use, so a CI job shows each case as a test.

FAIL is a <failure>, ERROR an <error>, NOT_RUNNABLE and cases the plan leaves out are <skipped>. A case the run
was selected for but never finished is an <error>: a killed run must not look green in CI.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchctl.record.case import ERROR, FAIL, NOT_APPLICABLE, NOT_RUNNABLE, PASS, CaseResult
from benchctl.record.run import RunRecord

from .cases import EXCLUDED, NO_RESULT, NOT_SELECTED, CaseRow, case_rows
from .evidence import result_state, step_label

SUITE = "benchctl"
# Characters XML 1.0 cannot hold at all, escaped or not; a garbage frame from a charger may contain them.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def build_junit(record: RunRecord) -> ET.ElementTree:
    rows = case_rows(record)
    counts = {"tests": len(rows), "failures": 0, "errors": 0, "skipped": 0}
    cases = []
    for row in rows:
        case = _testcase(record, row)
        cases.append(case)
        for tag, count in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
            if case.find(tag) is not None:
                counts[count] += 1
    elapsed = _elapsed(record, rows)
    attrs = {**{k: str(v) for k, v in counts.items()}, "time": f"{elapsed:.3f}"}
    root = ET.Element("testsuites", {"name": SUITE, **attrs})
    suite = ET.SubElement(root, "testsuite", {"name": SUITE, **attrs})
    if record.started is not None:
        suite.set("timestamp", datetime.fromtimestamp(record.started, timezone.utc).isoformat(timespec="seconds"))
    properties = ET.SubElement(suite, "properties")
    for name, value in _properties(record):
        ET.SubElement(properties, "property", {"name": name, "value": _clean(value)})
    suite.extend(cases)
    if record.notes:
        ET.SubElement(suite, "system-err").text = _clean("\n".join(record.notes))
    ET.indent(root)
    return ET.ElementTree(root)


def write_junit(record: RunRecord, path: Path) -> Path:
    build_junit(record).write(path, encoding="utf-8", xml_declaration=True)
    return path


def _properties(record: RunRecord) -> list[tuple[str, str]]:
    props = [("bench", record.bench), ("bench_file", str(record.meta.get("bench_file") or "")),
             ("charge_point_id", record.charge_point_id)]
    if record.faults is not None:
        props.append(("simulator_faults", ",".join(record.faults)))
    if record.pics_file:
        props.append(("pics_file", record.pics_file))
    for key, value in (record.dut or {}).items():
        props.append((f"dut.{key}", value if isinstance(value, str) else json.dumps(value)))
    return props


def _testcase(record: RunRecord, row: CaseRow) -> ET.Element:
    classname = row.group or row.section or SUITE
    duration = row.duration_s or 0.0
    case = ET.Element("testcase", {"classname": _clean(classname), "name": _clean(f"{row.id} {row.title}".strip()),
                                   "time": f"{duration:.3f}"})
    result = row.result
    if row.outcome == FAIL and result is not None:
        step = _step(result)
        ET.SubElement(case, "failure", {"message": _clean(step + result.reason), "type": FAIL}).text = \
            _clean(_details(record, row))
    elif row.outcome == ERROR and result is not None:
        step = _step(result)
        ET.SubElement(case, "error", {"message": _clean(step + result.reason), "type": ERROR}).text = \
            _clean(_details(record, row))
    elif row.outcome == NOT_RUNNABLE:
        ET.SubElement(case, "skipped", {"message": _clean(row.reason or "not runnable on this bench")})
    elif row.outcome == NOT_APPLICABLE:
        ET.SubElement(case, "skipped", {"message": _clean(f"not applicable to this charger: {row.reason}")})
    elif row.outcome == EXCLUDED:
        ET.SubElement(case, "skipped", {"message": _clean(f"not in plan: {row.reason}")})
    elif row.outcome == NOT_SELECTED:
        ET.SubElement(case, "skipped", {"message": _clean(row.reason)})
    elif row.outcome == NO_RESULT:
        ET.SubElement(case, "error", {"message": _clean(row.reason), "type": NO_RESULT})
    elif row.outcome != PASS:
        # a verdict this version does not know must not pass silently
        ET.SubElement(case, "error", {"message": _clean(f"unknown verdict {row.outcome}: {row.reason}"),
                                      "type": row.outcome})
    if result is not None and result.warnings:  # WARN: output of the case, never a failure
        ET.SubElement(case, "system-out").text = _clean("\n".join(
            f"WARN {w.kind}: {w.message}" + "".join(f"\n  #{i} " + _frame_text(record, i) for i in w.frames)
            for w in result.warnings))
    return case


def _frame_text(record: RunRecord, index: Any) -> str:
    frame = record.frame(index) if isinstance(index, int) else None
    return f"{frame.get('dir')} {frame.get('raw')}" if frame else "(not in the capture)"


def _step(result: CaseResult) -> str:
    """"step 6: ", or "Charging / step 6: " for a step of a reusable state (numbered by its own table)."""
    label = step_label(result.step, result_state(result)) if result.step is not None else ""
    return f"{label}: " if label else ""


def _details(record: RunRecord, row: CaseRow) -> str:
    """The failure body: where it failed, each failed check with what was observed and the frames it cites."""
    result = row.result
    assert result is not None
    lines = [result.reason]
    if result.where:
        lines.append(f"where: {result.where}")
    if result.retest:
        lines.append("retest: yes (Appendix D: a finding it says to retest, no tool-validation failure)")
    failed = result.failed_checks
    if failed:
        lines.append("failed checks:")
    for check in failed:
        frames = check.frames
        lines.append(f"  {step_label(check.step, check.state) or 'step None'}: {check.description} (observed: {_text(check.observed)})"
                     + (f" frames {', '.join(f'#{i}' for i in frames)}" if frames else ""))
        for index in frames:
            frame = record.frame(index) if isinstance(index, int) else None
            lines.append(f"    #{index} " + (f"{frame.get('dir')} {frame.get('raw')}" if frame
                                             else "(not in the capture)"))
    findings = (result.status_rules or {}).get("findings")
    failing = [f for f in findings if isinstance(f, dict) and f.get("fail")] if isinstance(findings, list) else []
    if failing:
        lines.append("Appendix D findings:")
        lines += [f"  {f.get('rule', '')}: {f.get('message', '')}" for f in failing]
    return "\n".join(lines)


def _elapsed(record: RunRecord, rows: list[CaseRow]) -> float:
    end = record.finished or record.last_activity
    if record.started is not None and end is not None and end >= record.started:
        return end - record.started
    return sum(row.duration_s or 0.0 for row in rows)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)
