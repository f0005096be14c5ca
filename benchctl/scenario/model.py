"""The scenario language: what a test case file may contain, validated on load.

A scenario is metadata plus an ordered list of steps. Each step is exactly one of:
  action   a bench action (plug_in, present_id, power_cycle, ...)
  expect   a charger message that must arrive, with field matchers, timing and the tool's answer
  send     a tool request the Central System sends, with checks on the charger's response
  any_order  a group of `expect` steps whose order the test case document lets the charger choose
  absent   a charger message that must NOT arrive for a while (the document's "does NOT send")
  state    a reusable state of section 2.25 (a shared file under scenarios/states/)
  wait     a pause, in seconds
Every step may carry `when:` (run only if a saved value equals something, or with `not_equals` differs from it)
and `step:` (the number the test case document gives it, so a failure names it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchctl.config import ConfigError, MarkedDoc, load_marked
from benchctl.config.schema import Field, Schema, validate

STEP_KINDS = ("action", "expect", "absent", "send", "any_order", "state", "wait")
CERTIFICATION = ("M", "O", "C")

_COMMON = {
    "step": Field(int, minimum=0, help="step number in the test case document"),
    "when": Schema({"var": Field(str), "equals": Field(str),
                    "not_equals": Field(str, help="run only if the saved value differs (a branch's other side)"),
                    "order": Field(list, items=Field(int), help="instead of var: run only if the frames of these "
                                                                "steps came in this order (\"if step 3 is sent "
                                                                "before step 7\")")}),
    "note": Field(str, default=""),
}
_AFTER = Schema({
    "step": Field(int, required=True, help="the step whose frame the interval is measured from"),
    "seconds": Field(float, required=True, refs=True),
    "tolerance_s": Field(float, refs=True, default="${timing_tolerance_s}"),
})
_EXPECT = Schema({
    **_COMMON,
    "expect": Field(str, required=True, help="the OCPP action the charger must send"),
    "match": Field(dict, default={}, help="field (dotted path) -> expected value"),
    "timeout_s": Field(float, refs=True),
    "after": _AFTER,
    "answer": Field(dict, default=None, help="how the tool answers this request"),
    "answer_step": Field(int, help="step number of the tool's answer"),
    "each_connector": Field(bool, default=False,
                            help="one message per connector and for connectorId 0, in any order"),
    "configured_connector_match": Field(dict, default={}, help="with each_connector: what the message of the "
                                                           "configured connector (${connector_id}) must match "
                                                           "instead of `match`"),
    "optional": Field(bool, default=False, help="the document allows the charger not to send it"),
    "save": Field(dict, default={}, help="variable -> path in the request (with each_connector: in the "
                                         "configured connector's)"),
    "save_answer": Field(dict, default={}, help="variable -> path in the tool's answer"),
    "since_step": Field(int, help="look from the frame of this step on, not only after the previous match: "
                                  "the document lets the message come before the steps in between"),
    "until_step": Field(int, help="only a message that came before the frame of this earlier step counts "
                                  "(\"sent before step 7\"), so nothing is waited for; no bound when that "
                                  "(optional) step has no frame"),
})
STEP_SCHEMAS: dict[str, Schema] = {
    "action": Schema({**_COMMON, "action": Field(str, required=True), "with": Field(dict, default={}),
                      "save_time": Field(str, help="variable that gets the UTC time (ISO 8601) the action was "
                                                   "done, to compare the charger's timestamps with")}),
    "expect": _EXPECT,
    "send": Schema({
        **_COMMON,
        "send": Field(str, required=True, help="the OCPP action the tool sends"),
        "payload": Field(dict, default={}),
        "response": Field(dict, default={}, help="field (dotted path) -> expected value in the response"),
        "response_step": Field(int),
        "save": Field(dict, default={}, help="variable -> path in the response"),
        "limit": Field(dict, default={}, help="payload field (a list) -> keep at most this many items (the "
                                              "document's \"N or the length of the list, whichever is less\")"),
        "save_request": Field(dict, default={}, help="variable -> path in the request as it was sent"),
        "or_call_error": Field(list, default=None, items=Field(str),
                               help="the document also accepts a CALLERROR instead of the response: with one of "
                                    "these error codes ([]: any code); `response` is not judged then"),
    }),
    "absent": Schema({
        **_COMMON,
        "absent": Field(str, required=True, help="the OCPP action the charger must not send"),
        "also": Field(list, default=[], items=Field(str),
                      help="more actions watched in the same window (\"does NOT send A and does NOT send B\")"),
        "since_step": Field(int, help="the window opens at this step's frame, not when the absent step starts "
                                      "(a message sent right after that frame, before this step ran, counts)"),
        "match": Field(dict, default={}, help="only messages matching these fields count"),
        "for_s": Field(float, required=True, refs=True, minimum=0, help="how long to watch"),
    }),
    "any_order": Schema({**_COMMON, "any_order": Field(list, required=True),
                         "since_step": Field(int, help="as for expect: the members may have come since this "
                                                       "step's frame")}),
    "state": Schema({**_COMMON, "state": Field(str, required=True), "with": Field(dict, default={})}),
    "wait": Schema({**_COMMON, "wait": Field(float, required=True, refs=True, minimum=0)}),
}

SCENARIO_SCHEMA = Schema({
    "id": Field(str, required=True),
    "title": Field(str, required=True),
    "section": Field(str, required=True, help="section of the test case document"),
    "group": Field(str, default=""),
    "certification": Field(str, choices=CERTIFICATION, help="Appendix C status for a Charging Station"),
    "condition": Field(str, default="", help="the Appendix C condition, in words"),
    "roles": Field(list, default=[], items=Field(str)),
    "configuration": Field(dict, default={}, help="Configuration State(s): key -> value set before the case "
                                                  "(restored after it, like every key the case changes)"),
    "steps": Field(list, required=True),
})
STATE_SCHEMA = Schema({
    "state": Field(str, required=True),
    "section": Field(str, required=True),
    "roles": Field(list, default=[], items=Field(str)),
    "params": Field(dict, default={}, help="parameter -> default value; the including step's `with:` overrides"),
    "configuration": Field(dict, default={}, help="the state's Configuration State(s), set when it starts "
                                                  "(restored after the case like the case's own)"),
    "steps": Field(list, required=True),
})


@dataclass
class Step:
    kind: str
    data: dict[str, Any]
    file: str
    line: int | None
    children: list["Step"] = field(default_factory=list)  # any_order members, or a state's steps

    @property
    def number(self) -> int | None:
        return self.data.get("step")

    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class Scenario:
    id: str
    title: str
    section: str
    group: str
    certification: str | None
    condition: str
    roles: list[str]
    steps: list[Step]
    file: str
    configuration: dict[str, Any] = field(default_factory=dict)


def _parse_steps(doc: MarkedDoc, raw: list[Any], path: tuple[Any, ...], states_dir: Path,
                 roles: set[str], seen_states: tuple[str, ...]) -> list[Step]:
    steps = []
    for i, item in enumerate(raw):
        p = path + (i,)
        if not isinstance(item, dict):
            raise doc.error(p, f"a step must be a mapping with one of: {', '.join(STEP_KINDS)}")
        kinds = [k for k in STEP_KINDS if k in item]
        if len(kinds) != 1:
            raise doc.error(p, f"a step needs exactly one of {', '.join(STEP_KINDS)}; found "
                               f"{', '.join(kinds) or 'none'} (keys: {', '.join(item)})")
        kind = kinds[0]
        data = validate(doc, STEP_SCHEMAS[kind], item, p)
        if "when" not in item:
            data["when"] = None  # the schema fills an absent section with its (all-empty) defaults
        when = data.get("when")
        if when is not None and when.get("order") is not None:
            if when.get("var") is not None or len(when["order"]) < 2:
                raise doc.error(p + ("when",), "`when: {order: [a, b, ...]}` takes two or more step numbers and no var")
        elif when is not None and (when.get("var") is None
                                   or (when["equals"] is None) == (when["not_equals"] is None)):
            raise doc.error(p + ("when",), "`when` needs var and exactly one of equals, not_equals (or order)")
        step = Step(kind, data, doc.file, doc.line(p))
        if kind == "any_order":
            step.children = _parse_steps(doc, data["any_order"], p + ("any_order",), states_dir, roles, seen_states)
            for j, child in enumerate(step.children):
                if child.kind != "expect":
                    raise doc.error(p + ("any_order", j), f"only expect steps may be reordered, not {child.kind}")
        elif kind == "state":
            params: dict[str, Any] = {}
            before: dict[str, Any] = {}
            step.children = load_state(states_dir, data["state"], roles, seen_states, doc, p, params, before)
            data["configuration"] = before
            unknown = sorted(set(data["with"]) - set(params))
            if unknown:
                raise doc.error(p + ("with",), f"state {data['state']} has no parameter {', '.join(unknown)}; "
                                               f"its parameters: {', '.join(sorted(params)) or 'none'}")
            data["with"] = {**params, **data["with"]}
        elif kind == "action":
            from benchctl.bench.actions import ACTIONS  # the action vocabulary lives with the bench

            if data["action"] not in ACTIONS:
                raise doc.error(p + ("action",), f"unknown bench action {data['action']!r}; known: "
                                                 f"{', '.join(sorted(ACTIONS))}")
            roles.update(ACTIONS[data["action"]].roles)
        steps.append(step)
    return steps


def load_state(states_dir: Path, name: str, roles: set[str], seen: tuple[str, ...] = (),
               parent: MarkedDoc | None = None, path: tuple[Any, ...] = (),
               params: dict[str, Any] | None = None,
               configuration: dict[str, Any] | None = None) -> list[Step]:
    file = states_dir / f"{name}.yaml"
    if not file.exists():
        known = ", ".join(sorted(p.stem for p in states_dir.glob("*.yaml"))) or "none"
        message = f"unknown reusable state {name!r} (no {file}); known states: {known}"
        if parent is not None:
            raise parent.error(path + ("state",), message)
        raise ConfigError(str(file), None, "state", message)
    if name in seen:
        raise ConfigError(str(file), None, "state", f"state {name} includes itself ({' -> '.join(seen + (name,))})")
    doc = load_marked(file)
    data = validate(doc, STATE_SCHEMA)
    roles.update(data["roles"])
    if params is not None:
        params.update(data["params"])
    if configuration is not None:
        configuration.update(data["configuration"])
    return _parse_steps(doc, data["steps"], ("steps",), states_dir, roles, seen + (name,))


def load_scenario(file: str | Path, states_dir: Path | None = None) -> Scenario:
    file = Path(file)
    states_dir = states_dir or file.parent / "states"
    doc = load_marked(file)
    data = validate(doc, SCENARIO_SCHEMA)
    roles = set(data["roles"])
    steps = _parse_steps(doc, data["steps"], ("steps",), states_dir, roles, ())
    if file.stem != data["id"]:
        raise doc.error(("id",), f"id {data['id']} does not match the file name {file.name}")
    return Scenario(data["id"], data["title"], data["section"], data["group"], data["certification"],
                    data["condition"], sorted(roles), steps, str(file), data["configuration"])


def load_scenarios(directory: Path) -> list[Scenario]:
    """Every scenario file in `directory` (not the states), in test case document order."""
    scenarios = [load_scenario(f) for f in sorted(directory.glob("TC_*.yaml"))]
    return sorted(scenarios, key=lambda s: [int(x) if x.isdigit() else x for x in s.section.split(".")])
