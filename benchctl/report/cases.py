"""The rows of a report: every case of the plan joined with its result, plus every case run outside the plan.

All three reports list the same rows, so the rules for a case that was left out, never reached, or run
without being in the plan live here once.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchctl.record.case import ERROR, FAIL, NOT_APPLICABLE, NOT_RUNNABLE, PASS
from benchctl.record.plan_entry import PlanEntry
from benchctl.record.run import CaseResult, RunRecord

# Outcomes of a row that has no result record.
EXCLUDED = "EXCLUDED"  # the plan leaves the case out (the DUT does not support it, ...)
NOT_SELECTED = "NOT_SELECTED"  # in the plan, but this run was asked for other cases
NO_RESULT = "NO_RESULT"  # selected, but the run ended before the case finished
OUTCOMES = (PASS, FAIL, ERROR, NOT_RUNNABLE, NOT_APPLICABLE, NO_RESULT, NOT_SELECTED, EXCLUDED)


@dataclass
class CaseRow:
    id: str
    title: str
    outcome: str  # a verdict when `result` is set, else EXCLUDED / NOT_SELECTED / NO_RESULT
    reason: str
    plan: PlanEntry | None  # None: the case was run without being in the plan (or the run has no plan)
    result: CaseResult | None

    @property
    def certification(self) -> str | None:
        if self.plan is not None and self.plan.certification:
            return self.plan.certification
        return self.result.certification if self.result is not None else None

    @property
    def section(self) -> str | None:
        if self.plan is not None and self.plan.section:
            return self.plan.section
        return self.result.section if self.result is not None else None

    @property
    def group(self) -> str | None:
        return self.result.group if self.result is not None else None

    @property
    def in_plan(self) -> bool | None:
        """True/False as the plan says; None when the run has no plan entry for the case."""
        return None if self.plan is None else self.plan.included

    @property
    def duration_s(self) -> float | None:
        return None if self.result is None else self.result.duration_s


def case_rows(record: RunRecord) -> list[CaseRow]:
    """Plan order first, then cases run outside the plan in run order, then selected cases never finished."""
    by_id: dict[str, list[CaseResult]] = {}
    for result in record.results:
        by_id.setdefault(result.id, []).append(result)
    selected = set(record.selected)
    rows: list[CaseRow] = []
    seen: set[str] = set()
    for entry in record.plan or []:
        if entry.id in seen:
            continue
        seen.add(entry.id)
        results = by_id.get(entry.id, [])
        # a case run twice gets a row per run, so neither verdict hides the other
        rows += [_run_row(r, entry) for r in results]
        if results:
            continue
        title = entry.title
        if not entry.included:
            rows.append(CaseRow(entry.id, title, EXCLUDED, entry.reason or "left out of the plan", entry, None))
        elif entry.id in selected:
            rows.append(CaseRow(entry.id, title, NO_RESULT, _NO_RESULT_REASON, entry, None))
        else:
            rows.append(CaseRow(entry.id, title, NOT_SELECTED, "in the plan, not selected for this run", entry,
                                None))
    for result in record.results:
        if result.id not in seen:
            rows.append(_run_row(result, None))
    seen.update(by_id)
    for case_id in record.selected:
        if case_id not in seen:
            seen.add(case_id)
            rows.append(CaseRow(case_id, "", NO_RESULT, _NO_RESULT_REASON, None, None))
    return rows


def summary(rows: list[CaseRow]) -> dict[str, int]:
    counts = {outcome: 0 for outcome in OUTCOMES}
    for row in rows:
        counts[row.outcome] = counts.get(row.outcome, 0) + 1
    counts["total"] = len(rows)
    counts["run"] = sum(1 for row in rows if row.result is not None)
    # WARN findings (benchctl/run/warnings.py) are counted beside the outcomes, never as one
    counts["warnings"] = sum(len(row.result.warnings) for row in rows if row.result is not None)
    counts["warned_cases"] = sum(1 for row in rows if row.result is not None and row.result.warnings)
    return counts


_NO_RESULT_REASON = "no result: the run ended before this case finished"


def _run_row(result: CaseResult, entry: PlanEntry | None) -> CaseRow:
    return CaseRow(result.id, result.title or (entry.title if entry else ""), result.verdict, result.reason, entry,
                   result)
