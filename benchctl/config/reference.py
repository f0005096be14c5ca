"""Markdown tables of a Schema's keys, for the generated references (docs/scenario-language.md,
docs/backends.md): one row per key with its type, whether it is required or its default, and its help."""

from __future__ import annotations

import json
from typing import Any

from .schema import Field, Schema

_TYPES = {int: "integer", float: "number", str: "string", bool: "true or false", list: "list", dict: "mapping"}


def schema_table(schema: Schema) -> list[str]:
    """A Markdown table of a schema's keys: type, required or default, help (nested mappings flattened)."""
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
