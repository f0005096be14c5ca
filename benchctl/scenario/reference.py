"""The scenario-language reference (docs/scenario-language.md), generated from the schemas the loader validates
with: a scenario's and a reusable state's keys, the keys every step may carry, and each step kind's own keys from
its model (steps/<kind>.py), with their types, defaults and help. One source: a key documented here is a key the
loader takes, with the type and default it applies.

Regenerate after changing a model: `python -m benchctl.scenario.reference > docs/scenario-language.md`
(tests/scenario/test_reference.py fails while the committed file is stale).
"""

from __future__ import annotations

import inspect
import sys

from benchctl.config.reference import schema_table
from benchctl.config.schema import Schema
from benchctl.config.typed import keys_of, schema_of

from .model import SCENARIO_SCHEMA, STATE_SCHEMA, STEP_KINDS
from .step import StepModel
from .steps import MODELS

COMMAND = "python -m benchctl.scenario.reference > docs/scenario-language.md"


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
        *schema_table(SCENARIO_SCHEMA),
        "",
        "## A reusable state (scenarios/states/)",
        "",
        *schema_table(STATE_SCHEMA),
        "",
        "## Steps",
        "",
        f"Each step is a mapping with exactly one of the kinds' keys: {', '.join(f'`{k}`' for k in STEP_KINDS)}.",
        "Any step may also carry:",
        "",
        *schema_table(common),
    ]
    own_keys = {key for key, _, _ in keys_of(StepModel)}
    for kind in STEP_KINDS:
        model = MODELS[kind]
        schema = schema_of(model)
        lines += ["", f"### {kind}", "", _doc(model), "",
                  *schema_table(Schema({k: v for k, v in schema.fields.items() if k not in own_keys}))]
    return "\n".join(lines) + "\n"


def _doc(model: type) -> str:
    return " ".join((inspect.getdoc(model) or "").split())


if __name__ == "__main__":
    sys.stdout.write(reference())
