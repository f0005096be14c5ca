"""The quick schema check (fastjsonschema) never passes a payload jsonschema rejects, over every OCPP 1.6 schema:
a valid payload built from each schema, and that payload broken one field at a time in every way we can think
of (missing, each wrong type, too long, outside its enum, an extra property)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Iterator

import ocpp
import pytest
from ocpp.messages import get_validator

from benchctl.csms.frames import CALL, CALLRESULT, DECIMAL_MESSAGES, _passes_quick_check, parse

SCHEMAS = sorted((Path(ocpp.__file__).parent / "v16" / "schemas").glob("*.json"))
WRONG_VALUES: list[Any] = [None, "text", "", 1, 0, -1, 1.0, 1.5, True, False, [], [1], {}, {"x": 1}, "x" * 600]


def message(path: Path) -> tuple[int, str]:
    name = path.stem
    return (CALLRESULT, name.removesuffix("Response")) if name.endswith("Response") else (CALL, name)


def resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return resolve(root["definitions"][ref.rsplit("/", 1)[1]], root) if ref else schema


def example(schema: dict[str, Any], root: dict[str, Any]) -> Any:
    """A valid value of `schema`, with every optional property present."""
    schema = resolve(schema, root)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {name: example(sub, root) for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return [example(schema["items"], root)] if "items" in schema else []
    if kind == "string":
        return "2024-05-01T12:00:00Z" if schema.get("format") == "date-time" else "x"
    return {"integer": 2, "number": 2.5, "boolean": True}.get(kind, 1)


def fields(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, sub in value.items():
            yield path + (key,)
            yield from fields(sub, path + (key,))
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            yield path + (i,)
            yield from fields(sub, path + (i,))


def broken(valid: Any) -> Iterator[Any]:
    """The valid payload broken (or not) one field at a time."""
    yield {**valid, "unexpected": 1} if isinstance(valid, dict) else valid
    for path in fields(valid):
        *parents, last = path
        for value in [*WRONG_VALUES, "missing"]:
            payload = copy.deepcopy(valid)
            holder = payload
            for key in parents:
                holder = holder[key]
            if value == "missing":
                del holder[last]
            else:
                holder[last] = value
            yield payload
    yield []
    yield None


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda p: p.stem)
def test_the_quick_check_agrees_with_jsonschema(path: Path) -> None:
    message_type, action = message(path)
    if (message_type, action) in DECIMAL_MESSAGES:
        pytest.skip("checked by jsonschema alone, in decimals")
    validator = get_validator(message_type, action, "1.6")
    valid = example(validator.schema, validator.schema)
    assert validator.is_valid(valid), (path.stem, valid)
    assert _passes_quick_check(message_type, action, validator.schema, valid)
    checked = 0
    for payload in broken(valid):
        quick = _passes_quick_check(message_type, action, validator.schema, payload)
        assert quick == validator.is_valid(payload), (path.stem, payload)
        checked += 1
    assert checked > 2


def test_a_rejected_frame_keeps_jsonschemas_wording() -> None:
    frame = parse('[2,"1","MeterValues",{"connectorId":1,"meterValue":[{"timestamp":"2024-05-01T12:00:00Z",'
                  '"sampledValue":[{"value":"1","unit":"Parsec"}]}]}]', {})
    assert frame.error is not None
    assert frame.error.startswith("MeterValues CALL violates the schema at meterValue/0/sampledValue/0/unit: "
                                  "'Parsec' is not one of")
