"""`${name}` substitution in scenario fields, and dotted paths into OCPP payloads."""

from __future__ import annotations

import re
from typing import Any

_REF = re.compile(r"\$\{([A-Za-z_][\w.]*)\}")
_SEGMENT = re.compile(r"^(?P<name>[A-Za-z_]\w*)(?:\[(?P<index>\d+)\]|\[(?P<key>\w+)=(?P<value>[^\]]*)\])?$")


class UnknownVariable(KeyError):
    """A scenario refers to ${name} that neither the bench config nor an earlier step defines."""


def substitute(value: Any, variables: dict[str, Any]) -> Any:
    """Replace `${x}`; a string that is exactly one reference keeps the variable's type."""
    if isinstance(value, str):
        whole = _REF.fullmatch(value)
        if whole:
            return _lookup(whole.group(1), variables)
        return _REF.sub(lambda m: str(_lookup(m.group(1), variables)), value)
    if isinstance(value, list):
        return [substitute(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, variables) for k, v in value.items()}
    return value


def _lookup(name: str, variables: dict[str, Any]) -> Any:
    if name not in variables:
        raise UnknownVariable(f"unknown variable ${{{name}}}; known: {', '.join(sorted(variables))}")
    return variables[name]


_MISSING = object()


def get_path(payload: Any, path: str) -> Any:
    """Follow `a.b[0].c` or `configurationKey[key=HeartbeatInterval].value`; return MISSING when absent."""
    current = payload
    for segment in path.split("."):
        m = _SEGMENT.match(segment)
        if m is None:
            raise ValueError(f"bad path segment {segment!r} in {path!r}")
        if not isinstance(current, dict) or m.group("name") not in current:
            return _MISSING
        current = current[m.group("name")]
        if m.group("index") is not None:
            i = int(m.group("index"))
            if not isinstance(current, list) or i >= len(current):
                return _MISSING
            current = current[i]
        elif m.group("key") is not None:
            if not isinstance(current, list):
                return _MISSING
            found = [x for x in current if isinstance(x, dict) and str(x.get(m.group("key"))) == m.group("value")]
            if not found:
                return _MISSING
            current = found[0]
    return current


def is_missing(value: Any) -> bool:
    return value is _MISSING


def same(observed: Any, expected: Any) -> bool:
    """Equality as a tester reads it: numbers by value, everything else exactly."""
    if isinstance(observed, bool) or isinstance(expected, bool):
        return observed is expected if isinstance(observed, bool) and isinstance(expected, bool) else False
    if isinstance(observed, (int, float)) and isinstance(expected, (int, float)):
        return float(observed) == float(expected)
    return observed == expected


OPERATORS = ("one_of", "present", "not", "differs_from")


def operator(expected: Any) -> tuple[str, Any] | None:
    """A matcher like `{one_of: [Unlocked, NotSupported]}`: a mapping with exactly one operator key."""
    if isinstance(expected, dict) and len(expected) == 1:
        (key, value), = expected.items()
        if key in OPERATORS:
            return key, value
    return None


def satisfies(observed: Any, expected: Any) -> bool:
    op = operator(expected)
    if op is None:
        return not is_missing(observed) and same(observed, expected)
    name, arg = op
    if name == "present":
        return (not is_missing(observed)) is bool(arg)
    if is_missing(observed):
        return name in ("not", "differs_from")
    if name == "one_of":
        return any(same(observed, a) for a in arg)
    return not same(observed, arg)  # not / differs_from


def describe(expected: Any) -> str:
    op = operator(expected)
    if op is None:
        return repr(expected)
    name, arg = op
    if name == "present":
        return "present" if arg else "absent"
    if name == "one_of":
        return " or ".join(map(repr, arg))
    return f"not {arg!r}"


def mismatches(payload: Any, match: dict[str, Any]) -> list[str]:
    """Describe each field of `match` the payload does not satisfy."""
    out = []
    for path, expected in match.items():
        observed = get_path(payload, path)
        if satisfies(observed, expected):
            continue
        if is_missing(observed):
            out.append(f"{path} is missing, expected {describe(expected)}")
        else:
            out.append(f"{path} is {observed!r}, expected {describe(expected)}")
    return out
