"""The scenario language: what a test case file may contain, validated on load.

A scenario is metadata plus an ordered list of steps. Each step is exactly one of:
  action   a bench action (plug_in, present_id, power_cycle, ...)
  expect   a charger message that must arrive, with field matchers, timing and the tool's answer
  send     a tool request the Central System sends, with checks on the charger's response
  any_order  a group of `expect` steps whose order the test case document lets the charger choose
  absent   a charger message that must NOT arrive for a while (the document's "does NOT send")
  state    a reusable state of section 2.25 (a shared file under scenarios/states/)
  wait     a pause, in seconds
  file     a transfer over the run's file server that must have happened (an upload that really arrived, a
           firmware image really downloaded), judged on its record; needs `file_server: true`
  pwm      the current the charger offers on the Control Pilot, measured by the EV emulator (role ev), against
           a value in A or the limit the charging profiles sent in the case put in force (benchctl.smart)
  connection  a WebSocket connection attempt of the charger as the Central System saw it (security profile,
           Authorization header, TLS version and ciphers, client certificate; accepted or refused)
  tool     something the tool computes between messages (a certificate it signs as Certificate Authority, the
           hash data of a certificate), saved in a variable
Every step may carry `when:` (run only if a saved value equals something, or with `not_equals` differs from it)
and `step:` (the number the test case document gives it, so a failure names it).
Values (values.py): `${name}` references; `{now_plus_s: N}` is the UTC time N seconds on (a ReserveNow expiryDate);
`{sum: "${transaction_id} + 1"}` a number (N above may be such a sum too);
the response matcher `{composite_schedule: {...}}` compares a GetCompositeSchedule.conf with benchctl's own
composite of the profiles the case sent;
the matcher `{any: true}` checks nothing (a reusable state's parameter an including case leaves open);
`warn_if: {match, reason}` on an expect or send step is a WARN finding (never a FAIL) when the message matches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchctl.config import ConfigError, MarkedDoc, load_marked
from benchctl.config.errors import Collector
from benchctl.config.names import unsafe_name
from benchctl.config.suggest import did_you_mean
from benchctl.config.schema import NOT_FINITE, REF, Field, Schema, validate

from .ocpp_actions import action_problem

STEP_KINDS = ("action", "expect", "absent", "send", "any_order", "state", "wait", "file", "pwm", "connection",
              "tool")
FILE_DIRECTIONS = ("received", "served")  # uploaded by the charger / downloaded by it
CERTIFICATION = ("M", "O", "C")


def _pwm_target(value: object) -> str | None:
    if value == "in_force":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            return NOT_FINITE
        if value >= 0:
            return None
    return f"expected a current in A or in_force, got {value!r}"


def _each_connector(value: object) -> str | None:
    return None if value in (True, False, "evse") else f"expected true, false or evse, got {value!r}"


def _seconds(value: object) -> str | None:
    """A number of seconds: a number, one `${name}`, or `{sum: "${a} + ${b}"}` (e.g. a configured timeout plus
    the timing tolerance)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            return NOT_FINITE
        return None if value >= 0 else f"{value} is below the minimum 0"
    if isinstance(value, str) and REF.match(value):
        return None
    if isinstance(value, dict) and list(value) == ["sum"] and isinstance(value["sum"], str):
        return None
    return f"expected seconds (a number, ${{name}} or {{sum: \"${{a}} + ${{b}}\"}}), got {value!r}"


_COMMON: dict[str, Field | Schema] = {
    "step": Field(int, minimum=0, help="step number in the test case document"),
    "when": Schema({"var": Field(str), "equals": Field(str),
                    "not_equals": Field(str, help="run only if the saved value differs (a branch's other side)"),
                    "order": Field(list, items=Field(int), help="instead of var: run only if the frames of these "
                                                                "steps came in this order (\"if step 3 is sent "
                                                                "before step 7\")")}),
    "note": Field(str, default=""),
}
# the document's "the vendor should be warned": a WARN finding when every field matches, never a FAIL
_WARN_IF = Schema({
    "match": Field(dict, required=True, help="field (dotted path) -> matcher; all must hold to warn"),
    "reason": Field(str, required=True, help="what the warning tells the vendor (in the scenario's own words)"),
})
_AFTER = Schema({
    "step": Field(int, required=True, help="the step whose frame the interval is measured from"),
    "seconds": Field(float, required=True, refs=True),
    "tolerance_s": Field(float, refs=True, default="${timing_tolerance_s}"),
})
_EXPECT = Schema({
    **_COMMON,
    "expect": Field(str, required=True, help="the OCPP action the charger must send"),
    "match": Field(dict, default={}, help="field (dotted path) -> expected value"),
    "timeout_s": Field(object, check=_seconds),
    "after": _AFTER,
    "answer": Field(dict, default=None, help="how the tool answers this request"),
    "answer_step": Field(int, help="step number of the tool's answer"),
    "each_connector": Field(object, default=False, check=_each_connector,
                            help="true: one message per connector and for connectorId 0, in any order; evse: the "
                                 "configured connector's, and one per connector sharing its EVSE (PICS evses) if "
                                 "the charger sends it"),
    "configured_connector_match": Field(dict, default={}, help="with each_connector: what the message of the "
                                                           "configured connector (${connector_id}) must match "
                                                           "instead of `match`"),
    "optional": Field(bool, default=False, help="the document allows the charger not to send it"),
    "save": Field(dict, default={}, help="variable -> path in the request (with each_connector: in the "
                                         "configured connector's)"),
    "save_answer": Field(dict, default={}, help="variable -> path in the tool's answer"),
    "since_step": Field(int, help="look from the frame of this step on, not only after the previous match: "
                                  "the document lets the message come before the steps in between"),
    "warn_if": _WARN_IF,
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
        "warn_if": _WARN_IF,
        "save": Field(dict, default={}, help="variable -> path in the response"),
        "limit": Field(dict, default={}, help="payload field (a list) -> keep at most this many items (the "
                                              "document's \"N or the length of the list, whichever is less\")"),
        "save_request": Field(dict, default={}, help="variable -> path in the request as it was sent"),
        "or_call_error": Field(list, default=None, items=Field(str),
                               help="the document also accepts a CALLERROR instead of the response: with one of "
                                    "these error codes ([]: any code); `response` is not judged then"),
        "rate_unit": Field(str, help="the charging schedules in the payload are written in A, as the document "
                                     "gives them; they are sent in this unit (A or W, e.g. "
                                     "${charging_rate_unit}): chargingRateUnit set, limits x 1000 for W (the "
                                     "document's note)"),
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
    "state": Schema({**_COMMON, "state": Field(str, required=True, check=unsafe_name,
                                               help="a file of the states folder, without .yaml"),
                     "with": Field(dict, default={}),
                     "each_other_connector": Field(bool, default=False,
                                                   help="run the state once for every connector of the station "
                                                        "other than the configured one, as its connector_id "
                                                        "(\"for all unused connectors\"); none on a one-connector "
                                                        "station")}),
    "wait": Schema({**_COMMON, "wait": Field(float, required=True, refs=True, minimum=0)}),
    "pwm": Schema({
        **_COMMON,
        "pwm": Field(object, required=True, refs=True, check=_pwm_target,
                     help="the current (A) the PWM must offer, or in_force: the limit the charging profiles the case "
                          "sent put in force on the connector now (below 6 A: no current offered)"),
        "connector_id": Field(int, refs=True, default="${connector_id}"),
        "tolerance_a": Field(float, refs=True, default="${pwm_current_tolerance_a}", minimum=0),
        "within_s": Field(float, refs=True, default="${pwm_settle_s}", minimum=0,
                          help="how long the charger may take to apply it (measured again until then)"),
    }),
    "file": Schema({
        **_COMMON,
        "file": Field(str, required=True, choices=FILE_DIRECTIONS,
                      help="received: a file the charger uploaded; served: a file it downloaded"),
        "match": Field(dict, default={}, help="record field -> expected value (name, path, size, sha256, complete, "
                                              "protocol, mode, error); the first record since the case started that "
                                              "matches them all is taken"),
        "timeout_s": Field(float, refs=True, help="how long the transfer may still take (default message_timeout_s)"),
        "save": Field(dict, default={}, help="variable -> field of the matched record"),
    }),
    "connection": Schema({
        **_COMMON,
        "connection": Field(str, required=True, choices=("new", "same"),
                            help="new: the charger's next WebSocket connection attempt (its HTTP upgrade request, "
                                 "accepted or refused); same: the attempt the previous connection step took"),
        "match": Field(dict, default={}, help="field (dotted path) -> expected value: accepted, security_profile, "
                                              "transport, authorization.*, tls.*, client_certificate.* "
                                              "(benchctl/csms/security.py)"),
        "timeout_s": Field(float, refs=True),
        "optional": Field(bool, default=False, help="the charger may not open one (e.g. \"if it does not "
                                                    "reconnect itself\")"),
        "save": Field(dict, default={}, help="variable -> field of the connection"),
    }),
    "tool": Schema({
        **_COMMON,
        "tool": Field(str, required=True, help="what the tool computes between messages (benchctl/scenario/tools.py), "
                                               "e.g. the document's \"[Certificate Authority Server signs the "
                                               "certificate.]\""),
        "with": Field(dict, default={}),
        "save": Field(str, required=True, help="the variable that gets the result"),
    }),
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
    "file_server": Field(bool, default=False, help="the case moves files: the run starts its file server (once) "
                                                   "and the case gets its values (${firmware_url}, ... see "
                                                   "benchctl/transfer/run_files.py) and `file` steps"),
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
    file_server: bool = False


def _parse_steps(doc: MarkedDoc, raw: list[Any], path: tuple[Any, ...], states_dir: Path,
                 roles: set[str], seen_states: tuple[str, ...]) -> list[Step]:
    """The steps; the problems of every one of them are reported together."""
    steps = []
    errors = Collector()
    for i, item in enumerate(raw):
        with errors:
            steps.append(_parse_step(doc, item, path + (i,), states_dir, roles, seen_states))
    errors.raise_any()
    return steps


def _parse_step(doc: MarkedDoc, item: Any, p: tuple[Any, ...], states_dir: Path, roles: set[str],
                seen_states: tuple[str, ...]) -> Step:
    if not isinstance(item, dict):
        raise doc.error(p, f"a step must be a mapping with one of: {', '.join(STEP_KINDS)}")
    kinds = [k for k in STEP_KINDS if k in item]
    if len(kinds) != 1:
        hint = "" if kinds else next((h for key in item if (h := did_you_mean(key, STEP_KINDS))), "")
        raise doc.error(p, f"a step needs exactly one of {', '.join(STEP_KINDS)}; found "
                           f"{', '.join(kinds) or 'none'} (keys: {', '.join(item)}){hint}")
    kind = kinds[0]
    data = validate(doc, STEP_SCHEMAS[kind], item, p)
    if "when" not in item:
        data["when"] = None  # the schema fills an absent section with its (all-empty) defaults
    _check_when(doc, data["when"], p)
    step = Step(kind, data, doc.file, doc.line(p))
    if kind == "any_order":
        step.children = _parse_steps(doc, data["any_order"], p + ("any_order",), states_dir, roles, seen_states)
        for j, child in enumerate(step.children):
            if child.kind != "expect":
                raise doc.error(p + ("any_order", j), f"only expect steps may be reordered, not {child.kind}")
    elif kind == "state":
        _include_state(doc, step, p, states_dir, roles, seen_states)
    elif kind in ("expect", "absent", "send"):
        _check_actions(doc, data, kind, p)
    elif kind == "action":
        from benchctl.bench.actions import ACTIONS  # the action vocabulary lives with the bench

        if data["action"] not in ACTIONS:
            raise doc.error(p + ("action",), f"unknown bench action {data['action']!r}"
                                             f"{did_you_mean(data['action'], ACTIONS)}; known: "
                                             f"{', '.join(sorted(ACTIONS))}")
        roles.update(ACTIONS[data["action"]].roles)
    elif kind == "tool":
        from .tools import TOOLS

        if data["tool"] not in TOOLS:
            raise doc.error(p + ("tool",), f"unknown tool {data['tool']!r}{did_you_mean(data['tool'], TOOLS)}; "
                                           f"known: {', '.join(sorted(TOOLS))}")
    elif kind == "pwm":
        roles.add("ev")  # the EV emulator measures the Control Pilot
    return step


def _check_when(doc: MarkedDoc, when: dict[str, Any] | None, p: tuple[Any, ...]) -> None:
    if when is not None and when.get("order") is not None:
        if when.get("var") is not None or len(when["order"]) < 2:
            raise doc.error(p + ("when",), "`when: {order: [a, b, ...]}` takes two or more step numbers and no var")
    elif when is not None and (when.get("var") is None
                               or (when["equals"] is None) == (when["not_equals"] is None)):
        raise doc.error(p + ("when",), "`when` needs var and exactly one of equals, not_equals (or order)")


def _check_actions(doc: MarkedDoc, data: dict[str, Any], kind: str, p: tuple[Any, ...]) -> None:
    """The OCPP actions the step names exist in OCPP 1.6 and go the way the step says."""
    named: list[tuple[tuple[Any, ...], str]] = [((kind,), data[kind])]
    named += [(("also", i), action) for i, action in enumerate(data.get("also") or [])]
    errors = Collector()
    for where, action in named:
        problem = action_problem(action, from_charger=kind != "send")
        if problem:
            errors.add(doc.error(p + where, problem))
    errors.raise_any()


def _include_state(doc: MarkedDoc, step: Step, p: tuple[Any, ...], states_dir: Path, roles: set[str],
                   seen_states: tuple[str, ...]) -> None:
    data = step.data
    params: dict[str, Any] = {}
    before: dict[str, Any] = {}
    step.children = load_state(states_dir, data["state"], roles, seen_states, doc, p, params, before)
    data["configuration"] = before
    unknown = sorted(set(data["with"]) - set(params))
    if unknown:
        hint = "".join(did_you_mean(name, params) for name in unknown)
        raise doc.error(p + ("with",), f"state {data['state']} has no parameter {', '.join(unknown)}{hint}; "
                                       f"its parameters: {', '.join(sorted(params)) or 'none'}")
    data["with"] = {**params, **data["with"]}


def load_state(states_dir: Path, name: str, roles: set[str], seen: tuple[str, ...] = (),
               parent: MarkedDoc | None = None, path: tuple[Any, ...] = (),
               params: dict[str, Any] | None = None,
               configuration: dict[str, Any] | None = None) -> list[Step]:
    file = states_dir / f"{name}.yaml"
    if not file.exists():
        names = sorted(p.stem for p in states_dir.glob("*.yaml"))
        message = (f"unknown reusable state {name!r} (no {file}){did_you_mean(name, names)}; known states: "
                   f"{', '.join(names) or 'none'}")
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
    """Load and validate a scenario; every problem of the file (and of the states it includes) is reported, each a
    ConfigError naming file, line and field (several: ConfigErrors)."""
    file = Path(file)
    states_dir = states_dir or file.parent / "states"
    doc = load_marked(file)
    errors = Collector()
    data: dict[str, Any] | None = None
    with errors:
        data = validate(doc, SCENARIO_SCHEMA)
    raw = doc.data.get("steps") if isinstance(doc.data, dict) else None
    roles = set(data["roles"]) if data else set()
    steps: list[Step] = []
    if isinstance(raw, list):  # the steps are checked even when the metadata above them is wrong
        with errors:
            steps = _parse_steps(doc, raw, ("steps",), states_dir, roles, ())
    if data is not None and file.stem != data["id"]:
        errors.add(doc.error(("id",), f"id {data['id']} does not match the file name {file.name}"))
    transfer = _first_file_step(steps)
    if data is not None and transfer is not None and not data["file_server"]:
        errors.add(ConfigError(transfer.file, transfer.line, "file",
                               "a `file` step judges the run's file server: set `file_server: true` in the scenario"))
    errors.raise_any()
    assert data is not None
    return Scenario(data["id"], data["title"], data["section"], data["group"], data["certification"],
                    data["condition"], sorted(roles), steps, str(file), data["configuration"], data["file_server"])


def _first_file_step(steps: list[Step]) -> Step | None:
    for step in steps:
        found = step if step.kind == "file" else _first_file_step(step.children)
        if found is not None:
            return found
    return None


def load_scenarios(directory: Path) -> list[Scenario]:
    """Every scenario file in `directory` (not the states), in test case document order."""
    scenarios = [load_scenario(f) for f in sorted(directory.glob("TC_*.yaml"))]
    return sorted(scenarios, key=lambda s: [int(x) if x.isdigit() else x for x in s.section.split(".")])
