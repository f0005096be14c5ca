"""Loading appendix_c.yaml: every Charge Point test case with its certification status and condition.

The file ships inside the package so a plan needs nothing but the checkout. Its expressions are compiled
against the PICS schema on load, so a condition naming a field the PICS does not have fails at once, with
the file and line, whatever station is being planned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from benchctl.config import load_marked
from benchctl.config.pics import PICS_SCHEMA
from benchctl.config.schema import Field, Schema, validate

from .conditions import Condition, compile_condition

# every PICS field a condition may name (sections of the PICS are not values)
PICS_FIELDS = {name: f for name, f in PICS_SCHEMA.fields.items() if isinstance(f, Field)}

APPENDIX_C = Path(__file__).with_name("appendix_c.yaml")
CASE_ID = re.compile(r"^TC_\d{3}(_\d)?_CS$")


def _case_id(value: str) -> str | None:
    return None if CASE_ID.match(value) else "not a Charge Point test case id (TC_<number>[_<n>]_CS)"


CASE_SCHEMA = Schema({
    "id": Field(str, required=True, check=_case_id),
    "section": Field(str, required=True, help="section of the test case document"),
    "title": Field(str, required=True),
    "group": Field(str, required=True),
    "certification": Field(str, choices=("M", "O", "C"), help="null: the case has no Appendix C row"),
    "applies_if": Field(str, help="expression over PICS fields"),
    "reason": Field(str, default="", help="the condition in words"),
    "prerequisite": Field(str, help="expression over PICS fields: a limit the case needs to pass"),
    "prerequisite_reason": Field(str, default=""),
})
APPENDIX_C_SCHEMA = Schema({"cases": Field(list, required=True, items=CASE_SCHEMA)})


@dataclass(frozen=True)
class CaseRule:
    """One test case and when it belongs in a station's plan."""

    id: str
    section: str
    title: str
    group: str
    certification: str | None
    applies_if: Condition | None
    reason: str
    prerequisite: Condition | None
    prerequisite_reason: str


def section_key(section: str) -> list[int | str]:
    return [int(part) if part.isdigit() else part for part in section.split(".")]


@lru_cache(maxsize=4)
def load_appendix_c(path: Path = APPENDIX_C) -> tuple[CaseRule, ...]:
    """The rules in test case document order; a ConfigError names the file, line and field of any problem."""
    doc = load_marked(path)
    data = validate(doc, APPENDIX_C_SCHEMA)
    rules: list[CaseRule] = []
    seen: set[str] = set()
    for i, case in enumerate(data["cases"]):
        where = ("cases", i)
        if case["id"] in seen:
            raise doc.error(where + ("id",), f"{case['id']} is listed twice")
        seen.add(case["id"])
        if case["certification"] in ("C", "O") and case["applies_if"] is None:
            raise doc.error(where, f"a {case['certification']} case needs applies_if: the PICS answer it depends on")
        for expression, words in (("applies_if", "reason"), ("prerequisite", "prerequisite_reason")):
            if case[expression] is not None and not case[words]:
                raise doc.error(where + (expression,), f"{expression} needs a {words} saying it in words")
        if rules and section_key(case["section"]) < section_key(rules[-1].section):
            raise doc.error(where + ("section",), f"section {case['section']} comes before {rules[-1].section} "
                                                  f"({rules[-1].id}); keep the document order")

        def compiled(key: str) -> Condition | None:
            if case[key] is None:
                return None
            return compile_condition(case[key], PICS_FIELDS, lambda m: doc.error(where + (key,), m))

        rules.append(CaseRule(case["id"], case["section"], case["title"], case["group"], case["certification"],
                              compiled("applies_if"), case["reason"], compiled("prerequisite"),
                              case["prerequisite_reason"]))
    return tuple(rules)
