"""One case of a station's test plan as run.json keeps it: written by the plan, read back by the reports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PlanEntry:
    """One case of the test plan (Appendix C), run or not, with why it is in or out. run.json keeps it
    (as_record); a report reads it back (from_record), tolerating a hand-edited or older file."""

    id: str
    title: str
    section: str | None
    group: str | None
    certification: str | None  # M / O / C
    included: bool
    reason: str
    has_scenario: bool | None  # None: not recorded

    def as_record(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "section": self.section, "certification": self.certification,
                "included": self.included, "reason": self.reason}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "PlanEntry":
        return cls(str(record.get("id", "?")), str(record.get("title") or ""), _text(record.get("section")),
                   _text(record.get("group")), _text(record.get("certification")),
                   bool(record.get("included", True)), str(record.get("reason") or ""), None)


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)
