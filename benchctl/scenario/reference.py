"""The scenario-language reference (docs/scenario-language.md), generated from the schemas the loader validates
with: a scenario's and a reusable state's keys, the keys every step may carry, and each step kind's own keys from
its model (steps/<kind>.py), with their types, defaults and help. One source: a key documented here is a key the
loader takes, with the type and default it applies.

Regenerate after changing a model: `python -m benchctl.scenario.reference > docs/scenario-language.md`
(tests/scenario/test_reference.py fails while the committed file is stale).
"""

from __future__ import annotations

import inspect
import json
import sys
from typing import Any

from benchctl.config.schema import Field, Schema
from benchctl.config.typed import keys_of, schema_of

from .model import SCENARIO_SCHEMA, STATE_SCHEMA, STEP_KINDS
from .step import StepModel
from .steps import MODELS

COMMAND = "python -m benchctl.scenario.reference > docs/scenario-language.md"
_TYPES = {int: "integer", float: "number", str: "string", bool: "true or false", list: "list", dict: "mapping"}


def reference() -> str:
    """The whole reference, as Markdown."""
    common = schema_of(StepModel)
    lines = [
        "# The scenario language: reference",
        "",
        "Generated from the step kinds' models (`benchctl/scenario/steps/`); do not edit it by hand, regenerate it:",
        "",
        f"    {COMMAND}",
        "",
        "The README's \"Scenarios\" section explains the language; this lists every key the loader takes.",
        "A value written `${name}` is a reference to a bench value or a saved variable, resolved when the step",
        "runs; where the type says so, such a reference is accepted in place of the value.",
        "",
        "## A scenario file",
        "",
        *_table(SCENARIO_SCHEMA),
        "",
        "## A reusable state (scenarios/states/)",
        "",
        *_table(STATE_SCHEMA),
        "",
        "## Steps",
        "",
        f"Each step is a mapping with exactly one of the kinds' keys: {', '.join(f'`{k}`' for k in STEP_KINDS)}.",
        "Any step may also carry:",
        "",
        *_table(common),
    ]
    own_keys = {key for key, _, _ in keys_of(StepModel)}
    for kind in STEP_KINDS:
        model = MODELS[kind]
        schema = schema_of(model)
        lines += ["", f"### {kind}", "", _doc(model), "",
                  *_table(Schema({k: v for k, v in schema.fields.items() if k not in own_keys}))]
    return "\n".join(lines) + "\n"


def _doc(model: type) -> str:
    return " ".join((inspect.getdoc(model) or "").split())


def _table(schema: Schema) -> list[str]:
    rows = ["| key | type | required / default | meaning |", "| --- | --- | --- | --- |"]
    for key, spec in schema.fields.items():
        rows += _rows(key, spec)
    return rows


def _rows(key: str, spec: Field | Schema) -> list[str]:
    if isinstance(spec, Schema):
        need = "required" if spec.required else "optional"
        out = [_row(key, "mapping", need, spec.help)]
        for sub, sub_spec in spec.fields.items():
            out += _rows(f"{key}.{sub}", sub_spec)
        return out
    need = "required" if spec.required else "optional" if spec.default is None else f"default `{_yaml(spec.default)}`"
    return [_row(key, _type(spec), need, spec.help)]


def _row(key: str, type_text: str, need: str, help_text: str) -> str:
    cells = [f"`{key}`", type_text, need, " ".join(help_text.split())]
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def _type(spec: Field) -> str:
    if spec.type is object:
        text = (spec.check.__doc__ or "").strip().splitlines()[0] if spec.check is not None else ""
        text = text or "any value"
    else:
        text = _TYPES.get(spec.type, spec.type.__name__)
    if spec.type is list and isinstance(spec.items, Field):
        text = f"list of {_TYPES.get(spec.items.type, spec.items.type.__name__)}"
    if spec.choices is not None:
        text = "one of " + ", ".join(f"`{c}`" for c in spec.choices)
    bounds = [f">= {spec.minimum:g}" if spec.minimum is not None else "",
              f"<= {spec.maximum:g}" if spec.maximum is not None else ""]
    text += "".join(f" {b}" for b in bounds if b)
    if spec.refs:
        text += " or `${name}`"
    return text


def _yaml(value: Any) -> str:
    return json.dumps(value)


if __name__ == "__main__":
    sys.stdout.write(reference())
