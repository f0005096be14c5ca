"""A station's test plan: which Charge Point test cases its certification needs, and why each is in or out.

Rules, from Appendix C of the certification test procedure and the station's PICS:
  M  in, unless the row belongs to a feature profile the station does not declare or its remark excludes the
     station's product subtype (appendix_c.yaml says which, as `applies_if`);
  C  in exactly when its condition holds for the PICS;
  O  in exactly when the PICS declares what the optional case needs;
  no Appendix C row: out, unless asked for (and then only where its condition holds).
Every entry carries its reason, so a plan explains itself in a report. A case that is in but has no scenario
file stays in: the runner reports it as not runnable rather than the plan hiding it.
"""

from __future__ import annotations

from typing import Any

from benchctl.config import ConfigError
from benchctl.config.pics import Pics
from benchctl.record.plan_entry import PlanEntry
from benchctl.scenario.model import Scenario

from .appendix_c import APPENDIX_C, CaseRule, load_appendix_c, section_key

CERTIFICATION_WORDS = {"M": "mandatory", "C": "conditional", "O": "optional"}
NO_SCENARIO = "no scenario file yet"


def _decide(rule: CaseRule, values: dict[str, Any], include_uncertified: bool) -> tuple[bool, str]:
    holds = rule.applies_if is None or rule.applies_if.holds(values)
    condition = f"{rule.reason} ({'met' if holds else 'not met'})" if rule.applies_if is not None else ""
    if rule.certification is None:
        if not include_uncertified:
            return False, "no Appendix C row: not part of certification"
        if not holds:
            return False, f"no Appendix C row; {condition}"
        return True, "no Appendix C row, included on request" + (f"; {condition}" if condition else "")
    word = CERTIFICATION_WORDS[rule.certification]
    return holds, f"{word}: {condition}" if condition else word


def make_plan(pics: Pics, scenarios: list[Scenario] | None = None,
              include_uncertified: bool = False) -> list[PlanEntry]:
    """Every Charge Point test case, in document order, marked in or out for `pics`.

    `scenarios` are the scenario files available; None leaves them out of account (has_scenario is then
    False throughout and no reason mentions scenarios).
    """
    rules = load_appendix_c()
    known = {rule.id for rule in rules}
    available: set[str] = set()
    for scenario in scenarios or []:
        if scenario.id not in known:
            # a typo in an id would otherwise make the case silently unplanned
            raise ConfigError(scenario.file, None, "id", f"{scenario.id} is not a Charge Point test case of "
                                                         f"{APPENDIX_C.name}")
        available.add(scenario.id)
    values = pics.values()
    entries = []
    for rule in sorted(rules, key=lambda r: section_key(r.section)):
        included, reason = _decide(rule, values, include_uncertified)
        if included and rule.prerequisite is not None and not rule.prerequisite.holds(values):
            reason += f"; prerequisite not met ({rule.prerequisite_reason}), so expect it to fail"
        has_scenario = rule.id in available
        if included and scenarios is not None and not has_scenario:
            reason += f"; {NO_SCENARIO}"
        entries.append(PlanEntry(rule.id, rule.title, rule.section, rule.group, rule.certification, included,
                                 reason, has_scenario))
    return entries


def plan_as_records(entries: list[PlanEntry]) -> list[dict[str, Any]]:
    """The plan as run.json stores it."""
    return [e.as_record() for e in entries]
