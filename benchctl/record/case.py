"""The record of one case: verdict, the step that decided it, and every check with its evidence.

One type for the writer (the engine, follow, octt: `as_record`, one line of results.jsonl) and the reader (the
reports: `from_record`). Reading never gives up on a damaged line: a record without a verdict is an ERROR, a
field of the wrong type is taken as absent, and `raw` keeps the whole line, keys this version does not know
included.
"""

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
    # the reusable state (section 2.25) whose step this is: its steps are numbered by its own table
    state: str = ""
    expected: Any = None  # what the check required, when it compares a value (the report sets them side by side)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "Check":
        # a check whose outcome was not recorded is not a passed one
        return cls(_int(record.get("step")), str(record.get("description") or ""), record.get("ok") is True,
                   record.get("observed"), _indices(record.get("frames")), str(record.get("state") or ""),
                   record.get("expected"))


@dataclass
class Warn:
    """A defect the certification does not test (a WARN): reported with its evidence, never a verdict."""

    kind: str  # energy-register-backwards, clock-skew, meter-disagrees, document
    message: str
    frames: list[int] = field(default_factory=list)  # capture indices of the evidence
    step: int | None = None  # the document's step, for the warnings the document itself asks for

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "Warn":
        return cls(str(record.get("kind") or ""), str(record.get("message") or ""), _indices(record.get("frames")),
                   _int(record.get("step")))


@dataclass
class CaseResult:
    id: str
    title: str
    verdict: str
    started: float | None  # None only when read from a record that lost it
    duration_s: float = 0.0
    step: int | None = None  # the document's step number the verdict is about (FAIL / ERROR)
    reason: str = ""
    where: str = ""  # scenario file:line of the deciding step
    state: str = ""  # the reusable state the deciding step belongs to (its step numbers are the state's)
    checks: list[Check] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    section: str = ""
    group: str = ""
    certification: str | None = None
    # Appendix D: every StatusNotification of the case judged; a FAIL these rules found that Appendix D says
    # to retest (connectorId 0 without errorCode/info, nothing else failing) rather than count against the charger.
    # None only when read from a record that does not say.
    status_rules: dict[str, Any] | None = None
    retest: bool | None = False
    # chapter 8: response / triggered-function / Authorize times of this case (benchctl.perf.timings)
    timings: list[dict[str, Any]] = field(default_factory=list)
    # retests (Appendix D): the attempts before this one, oldest first; flaky = passed only on a retry
    attempts: list[dict[str, Any]] = field(default_factory=list)
    flaky: bool = False
    # findings beyond the verdict (benchctl.run.warnings, and `warn_if` of a scenario step)
    warnings: list[Warn] = field(default_factory=list)
    bench: int | None = None  # which simulated bench of a run with several ran the case (capture frames' `bench`)
    # the line as read back (from_record), unknown keys included; never written
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def as_record(self) -> dict[str, Any]:
        record = asdict(self)
        del record["raw"]
        record["duration_s"] = round(self.duration_s, 3)
        return record

    @property
    def ended(self) -> float | None:
        return None if self.started is None else self.started + self.duration_s

    @property
    def failed_checks(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "CaseResult":
        retest = record.get("retest")
        rules = record.get("status_rules")
        return cls(
            id=str(record.get("id", "?")),
            title=str(record.get("title") or ""),
            # a record without a verdict is damaged; it must not be counted as anything but a problem
            verdict=str(record.get("verdict") or ERROR),
            started=number(record.get("started")),
            duration_s=number(record.get("duration_s")) or 0.0,
            step=_int(record.get("step")),
            reason=str(record.get("reason") or ("" if record.get("verdict") else "result record has no verdict")),
            where=str(record.get("where") or ""),
            state=str(record.get("state") or ""),
            checks=[Check.from_record(c) for c in _dicts(record.get("checks"))],
            actions=_dicts(record.get("actions")),
            section=str(record.get("section") or ""),
            group=str(record.get("group") or ""),
            certification=str(record["certification"]) if record.get("certification") else None,
            status_rules=rules if isinstance(rules, dict) else None,
            retest=retest if isinstance(retest, bool) else None,
            timings=_dicts(record.get("timings")),
            attempts=_dicts(record.get("attempts")),
            flaky=record.get("flaky") is True,
            warnings=[Warn.from_record(w) for w in _dicts(record.get("warnings"))],
            bench=_int(record.get("bench")),
            raw=record,
        )


def number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _indices(value: Any) -> list[int]:
    return [i for i in value if _int(i) is not None] if isinstance(value, list) else []
