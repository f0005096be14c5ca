"""The record of one case: verdict, the step that decided it, and every check with its evidence."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

PASS, FAIL, ERROR, NOT_RUNNABLE = "PASS", "FAIL", "ERROR", "NOT_RUNNABLE"
# the charger cannot be put in the case's Configuration State (a read-only key holds another value): no verdict
NOT_APPLICABLE = "NOT_APPLICABLE"


@dataclass
class Check:
    """One tool validation (or timing rule) of the test case document, as evaluated."""

    step: int | None
    description: str
    ok: bool
    observed: Any = None
    frames: list[int] = field(default_factory=list)  # capture indices of the evidence


@dataclass
class Warn:
    """A defect the certification does not test (a WARN): reported with its evidence, never a verdict."""

    kind: str  # energy-register-backwards, clock-skew, meter-disagrees, document
    message: str
    frames: list[int] = field(default_factory=list)  # capture indices of the evidence
    step: int | None = None  # the document's step, for the warnings the document itself asks for


@dataclass
class CaseResult:
    id: str
    title: str
    verdict: str
    started: float
    duration_s: float = 0.0
    step: int | None = None  # the document's step number the verdict is about (FAIL / ERROR)
    reason: str = ""
    where: str = ""  # scenario file:line of the deciding step
    checks: list[Check] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    section: str = ""
    group: str = ""
    certification: str | None = None
    # Appendix D: every StatusNotification of the case judged; a FAIL these rules found that Appendix D says
    # to retest (connectorId 0 without errorCode/info, nothing else failing) rather than count against the charger
    status_rules: dict[str, Any] | None = None
    retest: bool = False
    # chapter 8: response / triggered-function / Authorize times of this case (benchctl.perf.timings)
    timings: list[dict[str, Any]] = field(default_factory=list)
    # retests (Appendix D): the attempts before this one, oldest first; flaky = passed only on a retry
    attempts: list[dict[str, Any]] = field(default_factory=list)
    flaky: bool = False
    # findings beyond the verdict (benchctl.run.warnings, and `warn_if` of a scenario step)
    warnings: list[Warn] = field(default_factory=list)

    def as_record(self) -> dict[str, Any]:
        record = asdict(self)
        record["duration_s"] = round(self.duration_s, 3)
        return record
