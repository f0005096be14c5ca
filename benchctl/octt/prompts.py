"""The tool's prompts as data: prompts.yaml loaded and validated (errors name file:line), and the lookup of the
handling for one prompt text in one case, per-case quirks first."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from benchctl.bench.actions import ACTIONS
from benchctl.bench.config import VALUES_SCHEMA
from benchctl.config import ConfigError, MarkedDoc, load_marked
from benchctl.config.marked import Path_
from benchctl.config.schema import Field, Schema, validate

PROMPTS_FILE = Path(__file__).with_name("prompts.yaml")

ANSWER_THEN_ACT, ACT_THEN_ANSWER, ANSWER_ONLY = "answer_then_act", "act_then_answer", "answer_only"
ORDERS = (ANSWER_THEN_ACT, ACT_THEN_ANSWER, ANSWER_ONLY)
# the answers evidence.py computes, and the parameters each takes
EVIDENCE = {"station_idle": (), "connector_available": ("connector_id",), "interval": ("message",),
            "expected_statuses": (), "unexpected_statuses": ()}
CASE_CHECKS = ("no_charging_current",)  # checks of benchctl's own a quirk adds to a case (companion.py)
# what `with:` may refer to besides the bench's values: facts of the run so far (evidence.py)
RUN_VARIABLES = ("transaction_id_tag", "transaction_id")
STATUS_ENTRY_GROUPS = ("timestamp", "connector_id", "status", "error_code", "info", "received")
_REF = re.compile(r"\$\{([A-Za-z_]\w*)\}")

_ACTION_STEP = Schema({"action": Field(str, required=True), "with": Field(dict, default={})})
SCHEMA = Schema({
    "tool": Schema({
        "reset_case": Field(str, required=True),
        "case_prefix": Field(str, required=True),
        "document_prefix": Field(str, required=True),
        "document_suffix": Field(str, required=True),
    }, required=True),
    "prompts": Field(list, required=True),
    "status_list": Schema({"entry": Field(str, required=True), "no_info": Field(str, default="")}, required=True),
    "quirks": Field(list, default=[]),
    "allow_charging_during_transaction": Field(bool, default=True),
    "callbacks": Schema(values=Field(list, items=_ACTION_STEP)),
})
PROMPT_SCHEMA = Schema({
    "name": Field(str, required=True),
    "text": Field(str),
    "pattern": Field(str),
    "order": Field(str, required=True, choices=ORDERS),
    "action": Field(str),
    "with": Field(dict, default={}),
    "answer": Field(object, default="yes"),
})
QUIRK_SCHEMA = Schema({
    "case": Field(str, required=True),
    "prompt": Field(object, help="the name of the prompt entry it changes, or a list of names"),
    "occurrence": Field(int, minimum=1, help="only the Nth showing in the case of any of the prompts named"),
    "order": Field(str, choices=ORDERS),
    "action": Field(str),
    "with": Field(dict),
    "answer": Field(object),
    "check": Field(str, choices=CASE_CHECKS),
    "why": Field(str, required=True),
})


@dataclass(frozen=True)
class PromptRule:
    """How one prompt is handled: the answer (yes / no / evidence) and the bench action, in which order."""

    name: str
    order: str
    text: str | None = None
    pattern: re.Pattern[str] | None = None
    action: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    answer: bool | None = True  # None: computed from evidence
    evidence: str | None = None
    evidence_args: dict[str, Any] = field(default_factory=dict)
    where: str = ""  # file:line of the entry
    quirk: str | None = None  # why a case-specific entry changed it
    occurrence: int | None = None  # a quirk for the Nth showing only, counted over the prompts in `counted`
    counted: tuple[str, ...] = ()

    def matches(self, prompt: str) -> re.Match[str] | bool:
        if self.text is not None:
            return normalise(self.text) == prompt
        assert self.pattern is not None
        return self.pattern.match(prompt) or False


@dataclass(frozen=True)
class CaseCheck:
    case: str
    check: str
    why: str
    where: str


@dataclass(frozen=True)
class CallbackStep:
    action: str
    args: dict[str, Any]


@dataclass
class PromptBook:
    file: str
    reset_case: str
    case_prefix: str
    document_prefix: str
    document_suffix: str
    rules: list[PromptRule]
    quirks: dict[str, list[PromptRule]]  # tool case -> rules that replace the general ones of the same name
    checks: list[CaseCheck]
    status_entry: re.Pattern[str]  # one entry of the StatusNotification lists
    no_info: str  # what the lists print for an empty info
    allow_charging_during_transaction: bool
    callbacks: dict[str, list[CallbackStep]]

    def find(self, case: str, prompt: str, shown: list[str] | None = None
             ) -> tuple[PromptRule, re.Match[str] | None] | None:
        """The rule for a prompt in a case and its match, or None: an unknown prompt. `shown` names the prompts
        the case showed before (a quirk may apply to one showing only); the case's quirks come first."""
        prompt = normalise(prompt)
        for rule in self.rules:
            hit = rule.matches(prompt)
            if not hit:
                continue
            match = hit if isinstance(hit, re.Match) else None
            for quirk in self.quirks.get(case, []):
                if quirk.name != rule.name:
                    continue
                earlier = sum(1 for name in shown or [] if name in quirk.counted)
                if quirk.occurrence is None or quirk.occurrence == earlier + 1:
                    return quirk, match
            return rule, match
        return None

    def checks_for(self, case: str) -> list[CaseCheck]:
        return [c for c in self.checks if c.case == case]

    def tool_case(self, document_case: str) -> str:
        """TC_005_1_CS -> TC_CP_V16_005_1 (a tool name is returned as it is)."""
        if document_case.startswith(self.case_prefix):
            return document_case
        core = document_case.removeprefix(self.document_prefix).removesuffix(self.document_suffix)
        return self.case_prefix + core

    def document_case(self, tool_case: str) -> str | None:
        """TC_CP_V16_005_1 -> TC_005_1_CS; None for a name outside the tool's convention."""
        if not tool_case.startswith(self.case_prefix):
            return None
        return self.document_prefix + tool_case.removeprefix(self.case_prefix) + self.document_suffix


def normalise(prompt: str) -> str:
    """The tool's line ends and surrounding blanks vary between versions; the words do not."""
    return prompt.replace("\r\n", "\n").replace("\r", "\n").strip()


def load_prompts(path: str | Path = PROMPTS_FILE) -> PromptBook:
    doc = load_marked(path)
    top = validate(doc, SCHEMA)
    tool = top["tool"]
    rules: list[PromptRule] = []
    by_name: dict[str, PromptRule] = {}
    for n, item in enumerate(top["prompts"]):
        rule = _prompt(doc, ("prompts", n), item)
        if rule.name in by_name:
            raise doc.error(("prompts", n, "name"), f"duplicate prompt name {rule.name!r} (first at "
                                                    f"{by_name[rule.name].where})")
        if rule.text is not None and any(r.text is not None and normalise(r.text) == normalise(rule.text)
                                         for r in rules):
            raise doc.error(("prompts", n, "text"), "the same prompt text is already handled by another entry")
        by_name[rule.name] = rule
        rules.append(rule)
    quirks: dict[str, list[PromptRule]] = {}
    checks: list[CaseCheck] = []
    for n, item in enumerate(top["quirks"]):
        at: Path_ = ("quirks", n)
        quirk = validate(doc, QUIRK_SCHEMA, item, at)
        if not quirk["case"].startswith(tool["case_prefix"]):
            raise doc.error(at + ("case",), f"not a tool case name like {tool['case_prefix']}005_2")
        where = f"{doc.file}:{doc.line(at)}"
        if quirk["check"] is not None:
            if quirk["prompt"] is not None:
                raise doc.error(at, "a quirk either changes a prompt or adds a check, not both")
            checks.append(CaseCheck(quirk["case"], quirk["check"], quirk["why"], where))
            continue
        names = quirk["prompt"] if isinstance(quirk["prompt"], list) else [quirk["prompt"]]
        if not names or not all(isinstance(n, str) for n in names):
            raise doc.error(at, "a quirk needs `prompt` (the entry or entries it changes) or `check`")
        for name in names:
            base = by_name.get(name)
            if base is None:
                raise doc.error(at + ("prompt",), f"no prompt named {name!r}; known: {', '.join(by_name)}")
            changed = {k: quirk[k] for k in ("order", "action", "with", "answer") if quirk[k] is not None}
            merged = {"name": base.name, "text": base.text,
                      "pattern": base.pattern.pattern if base.pattern else None, "order": base.order,
                      "action": None if changed.get("order") == ANSWER_ONLY else base.action,
                      "with": {} if "action" in changed or changed.get("order") == ANSWER_ONLY else base.args,
                      "answer": _answer_back(base)}
            merged.update(changed)
            rule = replace(_prompt(doc, at, merged), where=where, quirk=quirk["why"],
                           occurrence=quirk["occurrence"], counted=tuple(names))
            quirks.setdefault(quirk["case"], []).append(rule)
    entry = _compile(doc, ("status_list", "entry"), top["status_list"]["entry"])
    missing = [g for g in STATUS_ENTRY_GROUPS if g not in entry.groupindex]
    if missing:
        raise doc.error(("status_list", "entry"), f"the pattern needs the named groups {', '.join(missing)}")
    callbacks: dict[str, list[CallbackStep]] = {}
    for route, steps in (top["callbacks"] or {}).items():
        if not route.startswith("/"):
            raise doc.error(("callbacks", route), "a callback path starts with /")
        for n, step in enumerate(steps):
            _check_action(doc, ("callbacks", route, n), step["action"], step["with"])
        callbacks[route] = [CallbackStep(s["action"], s["with"]) for s in steps]
    return PromptBook(doc.file, tool["reset_case"], tool["case_prefix"], tool["document_prefix"],
                      tool["document_suffix"], rules, quirks, checks, entry, top["status_list"]["no_info"],
                      top["allow_charging_during_transaction"], callbacks)


def _answer_back(rule: PromptRule) -> Any:
    if rule.evidence is not None:
        return {"evidence": rule.evidence, **rule.evidence_args}
    return "yes" if rule.answer else "no"


def _prompt(doc: MarkedDoc, path: Path_, item: Any) -> PromptRule:
    p = validate(doc, PROMPT_SCHEMA, item, path)
    if (p["text"] is None) == (p["pattern"] is None):
        raise doc.error(path, "give exactly one of `text` (the exact prompt) and `pattern` (a regular expression)")
    pattern = _compile(doc, path + ("pattern",), p["pattern"]) if p["pattern"] is not None else None
    if p["order"] == ANSWER_ONLY and p["action"] is not None:
        raise doc.error(path + ("action",), "order answer_only takes no action; use answer_then_act or "
                                            "act_then_answer")
    if p["order"] != ANSWER_ONLY and p["action"] is None:
        raise doc.error(path + ("order",), f"order {p['order']} needs an action")
    if p["action"] is not None:
        _check_action(doc, path, p["action"], p["with"])
    elif p["with"]:
        raise doc.error(path + ("with",), "`with` gives an action's arguments; there is no action")
    answer, evidence, evidence_args = _answer(doc, path + ("answer",), p["answer"])
    return PromptRule(p["name"], p["order"], p["text"], pattern, p["action"], dict(p["with"]), answer, evidence,
                      evidence_args, where=f"{doc.file}:{doc.line(path)}")


def _answer(doc: MarkedDoc, path: Path_, value: Any) -> tuple[bool | None, str | None, dict[str, Any]]:
    if value in ("yes", "no") or isinstance(value, bool):
        return value in ("yes", True), None, {}
    if isinstance(value, dict) and isinstance(value.get("evidence"), str):
        name = value["evidence"]
        if name not in EVIDENCE:
            raise doc.error(path + ("evidence",), f"unknown evidence {name!r}; known: {', '.join(EVIDENCE)}")
        args = {k: v for k, v in value.items() if k != "evidence"}
        unknown = [k for k in args if k not in EVIDENCE[name]]
        if unknown:
            raise doc.error(path + (unknown[0],), f"evidence {name} takes no {unknown[0]!r}; it takes: "
                                                  f"{', '.join(EVIDENCE[name]) or 'nothing'}")
        return None, name, args
    raise doc.error(path, f"expected yes, no or {{evidence: NAME}}, got {value!r}")


def _check_action(doc: MarkedDoc, path: Path_, action: str, args: dict[str, Any]) -> None:
    if action not in ACTIONS:
        raise doc.error(path + ("action",), f"unknown bench action {action!r}; known: {', '.join(sorted(ACTIONS))}")
    known = set(VALUES_SCHEMA.fields) | set(RUN_VARIABLES)
    for key, value in args.items():
        for name in _REF.findall(str(value)):
            if name not in known:
                raise doc.error(path + ("with", key), f"unknown variable ${{{name}}}; known: the bench's values "
                                                      f"and {', '.join(RUN_VARIABLES)}")


def _compile(doc: MarkedDoc, path: Path_, pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise doc.error(path, f"not a valid regular expression: {exc}") from exc


__all__ = ["ConfigError", "PromptBook", "PromptRule", "load_prompts", "normalise"]
