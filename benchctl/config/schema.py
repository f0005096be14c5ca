"""A small declarative schema for YAML documents: fields with types, defaults and choices.

Validation walks the document with its paths, so every error names the file, the line and the field, and
fills in defaults so the code that consumes the result never guesses.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from .errors import Collector
from .marked import MarkedDoc, Path_
from .suggest import did_you_mean

REF = re.compile(r"^\$\{[A-Za-z_][\w.]*\}$")
NOT_FINITE = "expected a finite number, got .nan or .inf"
_TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false",
               list: "a list", dict: "a mapping"}


@dataclass
class Field:
    """A scalar or list value. `refs=True` also accepts a `${...}` reference resolved later."""

    type: type
    required: bool = False
    default: Any = None
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    items: "Field | Schema | None" = None
    refs: bool = False
    help: str = ""
    check: Callable[[Any], str | None] | None = None  # returns an error message or None


@dataclass
class Schema:
    """A mapping with known keys; `values` is the schema of every entry of a free-form mapping."""

    fields: dict[str, "Field | Schema"] = field(default_factory=dict)
    required: bool = False
    values: "Field | Schema | None" = None
    help: str = ""


def validate(doc: MarkedDoc, schema: Schema, data: Any = None, path: Path_ = ()) -> dict[str, Any]:
    """Validate `data` (the whole document by default) and return it with defaults filled in."""
    return _mapping(doc, schema, doc.data if data is None and not path else data, path)


def _describe(value: Any) -> str:
    return "null" if value is None else f"{type(value).__name__} {value!r}"


def _mapping(doc: MarkedDoc, schema: Schema, data: Any, path: Path_) -> dict[str, Any]:
    """The mapping with its defaults; every problem in it is reported together (ConfigErrors)."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise doc.error(path, f"expected a mapping, got {_describe(data)}")
    out: dict[str, Any] = {}
    errors = Collector()
    if schema.values is not None:
        for key, value in data.items():
            with errors:
                out[key] = _node(doc, schema.values, value, path + (key,))
        errors.raise_any()
        return out
    for key in data:
        if key not in schema.fields:
            known = ", ".join(sorted(schema.fields)) or "none"
            errors.add(doc.error(path + (key,), f"unknown key{did_you_mean(key, schema.fields)} "
                                                f"(known keys here: {known})"))
    for key, sub in schema.fields.items():
        with errors:
            if key not in data:
                if sub.required:
                    raise doc.error(path, f"missing required key '{key}'")
                out[key] = _absent(doc, sub, path + (key,))
                continue
            out[key] = _node(doc, sub, data[key], path + (key,))
    errors.raise_any()
    return out


def _absent(doc: MarkedDoc, spec: Field | Schema, path: Path_) -> Any:
    """An optional section that is left out: its defaults, or None when it only makes sense when written."""
    if isinstance(spec, Field):
        return copy.deepcopy(spec.default)  # each document its own: a list one run changes is not another's
    if spec.values is None and any(getattr(f, "required", False) for f in spec.fields.values()):
        return None
    return _mapping(doc, spec, {}, path)


def _node(doc: MarkedDoc, spec: Field | Schema, value: Any, path: Path_) -> Any:
    if isinstance(spec, Schema):
        return _mapping(doc, spec, value, path)
    return check_value(spec, value, lambda message: doc.error(path, message),
                       lambda item_spec, item, i: _node(doc, item_spec, item, path + (i,)))


def check_value(spec: Field, value: Any, fail: Callable[[str], Exception],
                item: Callable[[Any, Any, int], Any] | None = None) -> Any:
    """Check one value against a Field; `fail(message)` builds the exception to raise."""
    if value is None:
        if spec.required:
            raise fail("a value is required")
        return copy.deepcopy(spec.default)
    if spec.refs and isinstance(value, str) and "${" in value:
        if not REF.match(value):
            raise fail(f"malformed reference {value!r}; write ${{name}}, e.g. ${{sim.modbus.port}}")
        return value
    expected = spec.type
    ok = isinstance(value, expected) and not (expected in (int, float) and isinstance(value, bool))
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value, ok = float(value), True
    if not ok:
        raise fail(f"expected {_TYPE_NAMES.get(expected, expected.__name__)}, got {_describe(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise fail(NOT_FINITE)
    if spec.choices is not None and value not in spec.choices:
        hint = did_you_mean(value, [str(c) for c in spec.choices]) if isinstance(value, str) else ""
        raise fail(f"{value!r} is not one of: {', '.join(map(str, spec.choices))}{hint}")
    if spec.minimum is not None and value < spec.minimum:
        raise fail(f"{value} is below the minimum {spec.minimum}")
    if spec.maximum is not None and value > spec.maximum:
        raise fail(f"{value} is above the maximum {spec.maximum}")
    if expected is list and spec.items is not None and item is not None:
        value = _items(spec.items, value, item)
    if spec.check is not None:
        message = spec.check(value)
        if message:
            raise fail(message)
    return value


def _items(spec: Any, values: list[Any], item: Callable[[Any, Any, int], Any]) -> list[Any]:
    """Every item checked; the problems of all of them reported together."""
    out = []
    errors = Collector()
    for i, v in enumerate(values):
        with errors:
            out.append(item(spec, v, i))
    errors.raise_any()
    return out
