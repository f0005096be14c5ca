"""Typed models of YAML mappings: one dataclass is the schema, the typed value and the documentation of a mapping.

A model is a plain dataclass (`kw_only=True` lets a subclass add required keys after a base's optional ones)
whose fields are declared with `setting(...)`, which takes what a schema `Field` takes (required, default,
choices, minimum, maximum, items, refs, check, help):

    @dataclass(kw_only=True)
    class Pwm:
        pwm: float | str = setting(required=True, refs=True, type=object, check=_target, help="...")
        connector_id: int | str = setting(refs=True, default="${connector_id}")

`schema_of(Pwm)` derives the `Schema` that `schema.validate` checks a document against (so the errors stay
`FILE:LINE: field: message`, unknown keys with a did-you-mean), and `build(Pwm, validated)` makes the typed
value of the dict `validate` returned. The value type of a key comes from the annotation: `None` is left out
(an optional key), with `refs=True` so is `str` (the `${name}` reference); one builtin type left (int, float,
str, bool, list, dict, also parametrised: `list[int]` checks its items as int) is the key's type, a dataclass
is a nested mapping (its own schema), anything else is `object` (then `check` says what is accepted; its
docstring's first line is what the generated reference shows as the type). `type=` overrides the derivation.
`key=` names the YAML key when it is no Python name (`with_ = setting(key="with")`). A field declared without
`setting` is no key of the document: it keeps its dataclass default, for what the loader fills in afterwards.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Callable, TypeVar, Union

from .schema import Field, Schema

M = TypeVar("M")
_SETTING = "benchctl.setting"
_SCALARS = (int, float, str, bool, list, dict)


@dataclasses.dataclass(frozen=True)
class Setting:
    """What `setting()` stores in a dataclass field's metadata: the schema Field settings of the key."""

    required: bool = False
    default: Any = None
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    items: Field | Schema | None = None
    refs: bool = False
    help: str = ""
    check: Callable[[Any], str | None] | None = None
    key: str | None = None
    type: type | None = None


def setting(*, required: bool = False, default: Any = None, choices: tuple[Any, ...] | None = None,
            minimum: float | None = None, maximum: float | None = None, items: Field | Schema | None = None,
            refs: bool = False, help: str = "", check: Callable[[Any], str | None] | None = None,
            key: str | None = None, type: type | None = None) -> Any:
    """A dataclass field that is a key of the document (see the module docstring). A required key has no
    dataclass default (build() always gives it); an optional one defaults to `default` (a copy when mutable)."""
    spec = Setting(required, default, choices, minimum, maximum, items, refs, help, check, key, type)
    metadata = {_SETTING: spec}
    if required:
        return dataclasses.field(metadata=metadata)
    if isinstance(default, (dict, list, set)):
        return dataclasses.field(default_factory=lambda: _fresh(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def _fresh(value: Any) -> Any:
    """A fresh copy of a mutable default, so no two instances share it."""
    return type(value)(value)


def keys_of(model: type) -> list[tuple[str, dataclasses.Field[Any], Setting]]:
    """The document keys of a model, in declaration order (a base class's first): (YAML key, field, setting)."""
    out = []
    for f in dataclasses.fields(model):
        spec = f.metadata.get(_SETTING)
        if isinstance(spec, Setting):
            out.append((spec.key or f.name, f, spec))
    return out


_SCHEMAS: dict[tuple[type, bool, str], Schema] = {}
_HINTS: dict[type, dict[str, Any]] = {}


def _hints(model: type) -> dict[str, Any]:
    """The model's annotations, evaluated once (get_type_hints is slow, and a file builds one value per step)."""
    hints = _HINTS.get(model)
    if hints is None:
        hints = _HINTS[model] = typing.get_type_hints(model)
    return hints


def schema_of(model: type, required: bool = False, help: str = "") -> Schema:
    """The Schema of a model: one Field per `setting` (a nested Schema for a dataclass-typed one); made once."""
    if not dataclasses.is_dataclass(model):
        raise TypeError(f"{model!r} is not a dataclass")
    cached = _SCHEMAS.get((model, required, help))
    if cached is None:
        cached = _SCHEMAS[(model, required, help)] = _derive(model, required, help)
    return cached


def _derive(model: type, required: bool, help: str) -> Schema:
    hints = _hints(model)
    fields: dict[str, Field | Schema] = {}
    for key, f, spec in keys_of(model):
        value_type, item_type = _value_type(hints[f.name], spec)
        if isinstance(value_type, Schema):
            fields[key] = value_type
            continue
        items = spec.items
        if items is None and item_type is not None:
            items = schema_of(item_type) if dataclasses.is_dataclass(item_type) else Field(item_type)
        fields[key] = Field(value_type, required=spec.required, default=spec.default, choices=spec.choices,
                            minimum=spec.minimum, maximum=spec.maximum, items=items, refs=spec.refs,
                            help=spec.help, check=spec.check)
    return Schema(fields, required=required, help=help)


def _value_type(annotation: Any, spec: Setting) -> tuple[Any, type | None]:
    """(the Field type or a nested Schema, the type of a list's items when the annotation names one)."""
    if spec.type is not None:
        return spec.type, None
    options = [a for a in _union_members(annotation) if a is not type(None) and not (spec.refs and a is str)]
    if len(options) != 1:
        return object, None
    only = options[0]
    if isinstance(only, type) and dataclasses.is_dataclass(only):
        return schema_of(only, spec.required, spec.help), None
    origin = typing.get_origin(only) or only
    if origin not in _SCALARS:
        return object, None
    args = typing.get_args(only)
    item = args[0] if origin is list and args and isinstance(args[0], type) \
        and (args[0] in _SCALARS or dataclasses.is_dataclass(args[0])) else None
    return origin, item


def _union_members(annotation: Any) -> tuple[Any, ...]:
    if typing.get_origin(annotation) in (Union, types.UnionType):
        return typing.get_args(annotation)
    return (annotation,)


def build(model: type[M], data: dict[str, Any]) -> M:
    """The typed value of a mapping `schema.validate(doc, schema_of(model), ...)` returned: nested mappings and
    lists of them become their dataclasses; a field without `setting` keeps its default."""
    hints = _hints(model)
    values = {f.name: _typed(hints[f.name], data[key]) for key, f, _ in keys_of(model) if key in data}
    return model(**values)


def _typed(annotation: Any, value: Any) -> Any:
    for option in _union_members(annotation):
        if isinstance(option, type) and dataclasses.is_dataclass(option) and isinstance(value, dict):
            return build(option, value)
        args = typing.get_args(option)
        if typing.get_origin(option) is list and args and isinstance(args[0], type) \
                and dataclasses.is_dataclass(args[0]) and isinstance(value, list):
            return [_typed(args[0], v) for v in value]
    return value
