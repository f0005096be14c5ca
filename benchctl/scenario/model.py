"""The scenario language: what a test case file may contain, validated on load.

A scenario is metadata plus an ordered list of steps. Each step is exactly one of the kinds registered in
steps/ (STEP_KINDS): each kind's module holds its typed model (the keys it takes, their types, defaults and help)
and its executor, and STEP_SCHEMAS is derived from those models (benchctl.config.typed); the reference of every
kind and key, docs/scenario-language.md, is generated from them too (reference.py). This module loads a file: the
metadata, each step against its kind's schema, the checks that span keys or files (`when:`, the OCPP actions a
step names, bench actions, tools, the reusable states a step includes, the `any_order` members).
Values (values.py): `${name}` references; `{now_plus_s: N}` is the UTC time N seconds on (a ReserveNow expiryDate);
`{sum: "${transaction_id} + 1"}` a number (N above may be such a sum too);
the response matcher `{composite_schedule: {...}}` compares a GetCompositeSchedule.conf with benchctl's own
composite of the profiles the case sent;
the matcher `{any: true}` checks nothing (a reusable state's parameter an including case leaves open);
`warn_if: {match, reason}` on an expect or send step is a WARN finding (never a FAIL) when the message matches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchctl.config import ConfigError, MarkedDoc, load_marked
from benchctl.config.errors import Collector
from benchctl.config.schema import Field, Schema, validate
from benchctl.config.suggest import did_you_mean
from benchctl.config.typed import build, schema_of

from .ocpp_actions import action_problem
from .step import Step
from .steps import MODELS, STEP_KINDS
from .steps.state import StateStep

__all__ = ["CERTIFICATION", "SCENARIO_SCHEMA", "STATE_SCHEMA", "STEP_KINDS", "STEP_SCHEMAS", "Scenario", "Step",
           "load_scenario", "load_scenarios", "load_state"]

CERTIFICATION = ("M", "O", "C")
STEP_SCHEMAS: dict[str, Schema] = {kind: schema_of(MODELS[kind]) for kind in STEP_KINDS}

SCENARIO_SCHEMA = Schema({
    "id": Field(str, required=True, help="the test case id, e.g. TC_003_CS; the file is named after it"),
    "title": Field(str, required=True, help="the test case's name (its own words, not the document's prose)"),
    "section": Field(str, required=True, help="section of the test case document"),
    "group": Field(str, default="", help="the document's group of the case (e.g. Reservation)"),
    "certification": Field(str, choices=CERTIFICATION, help="Appendix C status for a Charging Station"),
    "condition": Field(str, default="", help="the Appendix C condition, in words"),
    "roles": Field(list, default=[], items=Field(str), help="bench roles the case needs beyond what its bench "
                                                            "actions (and pwm steps) imply"),
    "configuration": Field(dict, default={}, help="Configuration State(s): key -> value set before the case "
                                                  "(restored after it, like every key the case changes)"),
    "file_server": Field(bool, default=False, help="the case moves files: the run starts its file server (once) "
                                                   "and the case gets its values (${firmware_url}, ... see "
                                                   "benchctl/transfer/run_files.py) and `file` steps"),
    "steps": Field(list, required=True, help="the steps, in order (below)"),
})
STATE_SCHEMA = Schema({
    "state": Field(str, required=True, help="the state's name, as a `state:` step names it"),
    "section": Field(str, required=True, help="section of the test case document (2.25 ...)"),
    "roles": Field(list, default=[], items=Field(str), help="bench roles the state needs beyond its actions'"),
    "params": Field(dict, default={}, help="parameter -> default value; the including step's `with:` overrides"),
    "configuration": Field(dict, default={}, help="the state's Configuration State(s), set when it starts "
                                                  "(restored after the case like the case's own)"),
    "steps": Field(list, required=True, help="the steps, as in a scenario"),
})


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
    children: list[Step] = []
    if kind == "any_order":
        children = _parse_steps(doc, data["any_order"], p + ("any_order",), states_dir, roles, seen_states)
        for j, child in enumerate(children):
            if child.kind != "expect":
                raise doc.error(p + ("any_order", j), f"only expect steps may be reordered, not {child.kind}")
    elif kind == "state":
        children = _include_state(doc, data, p, states_dir, roles, seen_states)
    elif kind in ("expect", "absent", "send"):
        _check_actions(doc, data, kind, p)
    elif kind == "action":
        _check_bench_action(doc, data["action"], p, roles)
    elif kind == "tool":
        from .tools import TOOLS

        if data["tool"] not in TOOLS:
            raise doc.error(p + ("tool",), f"unknown tool {data['tool']!r}{did_you_mean(data['tool'], TOOLS)}; "
                                           f"known: {', '.join(sorted(TOOLS))}")
    elif kind == "pwm":
        roles.add("ev")  # the EV emulator measures the Control Pilot
    model = build(MODELS[kind], data)
    if isinstance(model, StateStep):
        model.configuration = data["configuration"]
    return Step(kind, data, doc.file, doc.line(p), model, children)


def _check_bench_action(doc: MarkedDoc, name: str, p: tuple[Any, ...], roles: set[str]) -> None:
    from benchctl.bench.actions import ACTIONS  # the action vocabulary lives with the bench

    if name not in ACTIONS:
        raise doc.error(p + ("action",), f"unknown bench action {name!r}{did_you_mean(name, ACTIONS)}; known: "
                                         f"{', '.join(sorted(ACTIONS))}")
    roles.update(ACTIONS[name].roles)


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


def _include_state(doc: MarkedDoc, data: dict[str, Any], p: tuple[Any, ...], states_dir: Path, roles: set[str],
                   seen_states: tuple[str, ...]) -> list[Step]:
    """The state's steps; `data` gets its Configuration State(s) and its `with:` completed with the defaults."""
    params: dict[str, Any] = {}
    before: dict[str, Any] = {}
    children = load_state(states_dir, data["state"], roles, seen_states, doc, p, params, before)
    data["configuration"] = before
    unknown = sorted(set(data["with"]) - set(params))
    if unknown:
        hint = "".join(did_you_mean(name, params) for name in unknown)
        raise doc.error(p + ("with",), f"state {data['state']} has no parameter {', '.join(unknown)}{hint}; "
                                       f"its parameters: {', '.join(sorted(params)) or 'none'}")
    data["with"] = {**params, **data["with"]}
    return children


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
