"""The companion run's part of a report (benchctl octt): the official tool's verdict beside benchctl's own, the
disagreement flag, and every prompt of the tool with benchctl's answer and why. The markup is in
templates/companion.html.j2."""

from __future__ import annotations

from typing import Any

from benchctl.record.run import CaseResult


def octt_of(result: CaseResult | None) -> dict[str, Any] | None:
    octt = result.raw.get("octt") if result is not None else None
    return octt if isinstance(octt, dict) and octt else None


def verdicts(result: CaseResult | None) -> dict[str, Any] | None:
    """For the case table, after the verdict: 'tool PASS · benchctl FAIL', flagged when they differ."""
    octt = octt_of(result)
    if octt is None or "tool_verdict" not in octt:
        return None
    return {"tool": octt.get("tool_verdict") or "-", "benchctl": octt.get("benchctl_verdict") or "-",
            "disagreement": bool(octt.get("disagreement"))}


def companion(result: CaseResult | None) -> dict[str, Any] | None:
    octt = octt_of(result)
    if octt is None:
        return None
    reset = octt.get("reset") if isinstance(octt.get("reset"), dict) else None
    prompts = [p for p in ((reset or {}).get("prompts") or []) + (octt.get("prompts") or []) if isinstance(p, dict)]
    return {
        "tool_case": octt.get("tool_case") or "", "tool_verdict": octt.get("tool_verdict") or "-",
        "tool_result": octt.get("tool_result"), "benchctl_verdict": octt.get("benchctl_verdict") or "-",
        "benchctl_step": octt.get("benchctl_step"), "benchctl_reason": octt.get("benchctl_reason"),
        "disagreement": bool(octt.get("disagreement")), "problem": octt.get("problem"),
        "reset": None if reset is None else {"case": octt.get("reset_case") or "reset",
                                             "result": reset.get("tool_result") or "-",
                                             "problem": reset.get("problem")},
        "prompts": [{"bad": p.get("rule") is None or bool(p.get("error")), "case": p.get("case", ""),
                     "text": p.get("text", ""), "rule": p.get("rule") or "UNKNOWN PROMPT",
                     "answer": "Yes" if p.get("answer") else "No", "action": p.get("action") or "",
                     "args": p.get("args") or "", "why": p.get("error") or p.get("reason") or "",
                     "quirk": p.get("quirk")} for p in prompts]}
