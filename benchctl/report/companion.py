"""The companion run's part of a report (benchctl octt): the official tool's verdict beside benchctl's own, the
disagreement flag, and every prompt of the tool with benchctl's answer and why."""

from __future__ import annotations

from html import escape
from typing import Any

from .record import CaseRecord


def octt_of(result: CaseRecord | None) -> dict[str, Any] | None:
    octt = result.raw.get("octt") if result is not None else None
    return octt if isinstance(octt, dict) and octt else None


def verdicts_cell(result: CaseRecord | None) -> str:
    """For the case table, after the verdict: 'tool PASS · benchctl FAIL', flagged when they differ."""
    octt = octt_of(result)
    if octt is None or "tool_verdict" not in octt:
        return ""
    text = f"tool {_e(octt.get('tool_verdict') or '-')} · benchctl {_e(octt.get('benchctl_verdict') or '-')}"
    if octt.get("disagreement"):
        return f" <small class=\"disagreement\"><strong>DISAGREE</strong>: {text}</small>"
    return f" <small>{text}</small>"


def companion_section(result: CaseRecord | None) -> str:
    octt = octt_of(result)
    if octt is None:
        return ""
    flag = "<strong class=\"disagreement\">yes: the tool and benchctl disagree</strong>" if octt.get(
        "disagreement") else "no"
    rows = [("Tool case", _e(octt.get("tool_case") or "")),
            ("Tool verdict", _e(octt.get("tool_verdict") or "-") + _raw(octt.get("tool_result"))),
            ("benchctl verdict", _e(octt.get("benchctl_verdict") or "-")
             + (f" at step {_e(octt['benchctl_step'])}" if octt.get("benchctl_step") is not None else "")
             + (f": {_e(octt['benchctl_reason'])}" if octt.get("benchctl_reason") else "")),
            ("Disagreement", flag)]
    if octt.get("problem"):
        rows.append(("Driving the tool", _e(octt["problem"])))
    reset = octt.get("reset")
    if isinstance(reset, dict):
        rows.append((f"{_e(octt.get('reset_case') or 'reset')}", _e(reset.get("tool_result") or "-")
                     + (f": {_e(reset['problem'])}" if reset.get("problem") else "")))
    facts = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>\n" for k, v in rows)
    prompts = [p for p in ((reset or {}).get("prompts") or []) + (octt.get("prompts") or []) if isinstance(p, dict)]
    body = "".join(
        f"<tr class=\"{'bad' if p.get('rule') is None or p.get('error') else ''}\"><td>{_e(p.get('case', ''))}</td>"
        f"<td><pre class=\"raw\">{_e(p.get('text', ''))}</pre></td>"
        f"<td>{_e(p.get('rule') or 'UNKNOWN PROMPT')}</td><td>{'Yes' if p.get('answer') else 'No'}</td>"
        f"<td>{_e(p.get('action') or '')} {_e(p.get('args') or '')}</td>"
        f"<td>{_e(p.get('error') or p.get('reason') or '')}"
        + (f" <span class=\"muted\">(quirk: {_e(p['quirk'])})</span>" if p.get("quirk") else "") + "</td></tr>\n"
        for p in prompts)
    table = ("<table class=\"checks\"><tr><th>Tool case</th><th>Prompt</th><th>Entry</th><th>Answer</th>"
             "<th>Bench action</th><th>Why</th></tr>\n" + body + "</table>\n") if prompts else ""
    return ("<h4>Official tool (companion run)</h4>\n<table class=\"facts\">\n" + facts + "</table>\n"
            + (f"<details><summary>Prompts of the tool ({len(prompts)})</summary>\n{table}</details>\n"
               if table else ""))


def _raw(result: Any) -> str:
    return f" <span class=\"muted\">(testCase_Result {_e(result)})</span>" if result else ""


def _e(value: Any) -> str:
    return escape(value if isinstance(value, str) else str(value), quote=True)
