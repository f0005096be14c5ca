"""`${name}` substitution in scenario fields, and dotted paths into OCPP payloads."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

_REF = re.compile(r"\$\{([A-Za-z_][\w.]*)(?::-([^}]*))?\}")  # ${name} or ${name:-used when unset or empty}
_SEGMENT = re.compile(r"^(?P<name>[A-Za-z_]\w*)(?:\[(?P<index>\d+)\]|\[(?P<key>\w+)=(?P<value>[^\]]*)\]|\[(?P<all>\*)\])?$")


class UnknownVariable(KeyError):
    """A scenario refers to ${name} that neither the bench config nor an earlier step defines."""


def substitute(value: Any, variables: dict[str, Any]) -> Any:
    """Replace `${x}`; a string that is exactly one reference keeps the variable's type."""
    if isinstance(value, str):
        whole = _REF.fullmatch(value)
        if whole:
            return _lookup(whole.group(1), variables, whole.group(2))
        return _REF.sub(lambda m: str(_lookup(m.group(1), variables, m.group(2))), value)
    if isinstance(value, list):
        return [substitute(v, variables) for v in value]
    if isinstance(value, dict):
        if len(value) == 1 and "now_plus_s" in value:
            return now_plus(substitute(value["now_plus_s"], variables))
        if len(value) == 1 and "sum" in value:
            total = number(substitute(value["sum"], variables))
            return int(total) if total == int(total) else total
        return {k: substitute(v, variables) for k, v in value.items()}
    return value


def reference(value: Any) -> str | None:
    """The variable a value stands for when it is exactly one `${name}` reference, else None."""
    whole = _REF.fullmatch(value) if isinstance(value, str) else None
    return whole.group(1) if whole else None


def now_plus(seconds: Any) -> str:
    """`{now_plus_s: N}` in a scenario value: the UTC time N seconds from when the value is used, as an OCPP
    dateTime (e.g. the expiryDate of a ReserveNow the tool sends: "the current time plus <offset>")."""
    at = datetime.now(timezone.utc) + timedelta(seconds=number(seconds))
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


_TERM = re.compile(r"\s*([+-]?)\s*(\d+(?:\.\d*)?|\.\d+)\s*")


def number(value: Any) -> float:
    """A number, or a sum written out once references are in: `{sum: "${transaction_id} + 1"}` (the running
    transaction's id plus one), `{now_plus_s: "401 - ${max_time_deviation_s}"}` (the document's offsets)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text, total, pos = str(value), 0.0, 0
    while pos < len(text):
        m = _TERM.match(text, pos)
        if m is None or m.end() == pos or (pos and not m.group(1)):
            raise ValueError(f"not a number or a sum of numbers: {value!r}")
        total += -float(m.group(2)) if m.group(1) == "-" else float(m.group(2))
        pos = m.end()
    if pos == 0:
        raise ValueError(f"not a number or a sum of numbers: {value!r}")
    return total


def _lookup(name: str, variables: dict[str, Any], default: str | None = None) -> Any:
    if default is not None and variables.get(name) in (None, ""):
        return default  # e.g. "when MeterValuesSampledData is empty, Energy.Active.Import.Register is assumed"
    if name not in variables:
        raise UnknownVariable(f"unknown variable ${{{name}}}; known: {', '.join(sorted(variables))}")
    return variables[name]


_MISSING = object()


def get_path(payload: Any, path: str) -> Any:
    """Follow `a.b[0].c` or `configurationKey[key=HeartbeatInterval].value`; return MISSING when absent.
    `configurationKey[*].key` is the list of the rest of the path over every element (None where it is absent)."""
    current = payload
    segments = path.split(".")
    for n, segment in enumerate(segments):
        m = _SEGMENT.match(segment)
        if m is None:
            raise ValueError(f"bad path segment {segment!r} in {path!r}")
        if not isinstance(current, dict) or m.group("name") not in current:
            return _MISSING
        current = current[m.group("name")]
        if m.group("all") is not None:
            if not isinstance(current, list):
                return _MISSING
            rest = ".".join(segments[n + 1:])
            values = [get_path(x, rest) if rest else x for x in current]
            return [None if v is _MISSING else v for v in values]  # None: that element does not have it
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
    if isinstance(observed, str) and isinstance(expected, (int, float)):
        # a configuration value is text on the wire; the bench value it is compared with is a number
        try:
            return float(observed) == float(expected)
        except ValueError:
            return False
    return observed == expected


OPERATORS = ("any", "one_of", "present", "not", "differs_from", "all_of", "earlier_than", "seconds_after", "contains_all",
             "every", "clock_aligned", "between", "any_of", "near")


def _instant(value: Any) -> datetime | None:
    """An OCPP dateTime (ISO 8601 with an offset or Z) as an aware datetime; None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _timing(observed: Any, name: str, arg: Any) -> bool:
    """`{earlier_than: T}`: a timestamp before T. `{seconds_after: {than: T, seconds: S, tolerance_s: D}}`: a
    timestamp S ± D seconds after T (the charger's own clock, e.g. queued meter values one interval apart)."""
    at = _instant(observed)
    if name == "earlier_than":
        ref = _instant(arg)
        return at is not None and ref is not None and at < ref
    ref = _instant(arg.get("than"))
    if at is None or ref is None:
        return False
    return abs((at - ref).total_seconds() - float(arg["seconds"])) <= float(arg.get("tolerance_s", 0))


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
    if name == "any":  # `{any: true}`: not checked (a reusable state's parameter the including case leaves open)
        return True
    if name == "present":
        return (not is_missing(observed)) is bool(arg)
    if name == "all_of":
        return all(satisfies(observed, a) for a in arg)
    if name == "any_of":  # the document's "(A and B) or (C and D)"
        return any(satisfies(observed, a) for a in arg)
    if is_missing(observed):
        # `{one_of: [Local, null]}`: the document's "is Local or is omitted"
        return name in ("not", "differs_from") or (name == "one_of" and None in arg)
    if name == "one_of":
        return any(same(observed, a) for a in arg)
    if name == "contains_all":  # a list holding every one of these, in any order, maybe with more
        wanted = [a.strip() for a in arg.split(",") if a.strip()] if isinstance(arg, str) else arg  # an OCPP CSL
        return isinstance(observed, list) and all(any(same(o, a) for o in observed) for a in wanted)
    if name == "every":  # a non-empty list whose every item satisfies the matcher
        return isinstance(observed, list) and bool(observed) and all(satisfies(o, arg) for o in observed)
    if name in ("earlier_than", "seconds_after"):
        return _timing(observed, name, arg)
    if name == "clock_aligned":  # a timestamp whose whole seconds since midnight are a multiple of arg
        at = _instant(observed)
        if at is None:
            return False
        at = at.astimezone(timezone.utc)
        return (at.hour * 3600 + at.minute * 60 + at.second) % int(arg) == 0
    if name == "between":  # `{between: [20, 40]}`: a number from .. to, inclusive; null leaves that end open
        low, high = arg
        if isinstance(observed, bool) or not isinstance(observed, (int, float)):
            return False
        return (low is None or observed >= low) and (high is None or observed <= high)
    if name == "near":  # `{near: {value: 300, tolerance: 5}}`: a number that a running clock may put a little off
        if isinstance(observed, bool) or not isinstance(observed, (int, float)):
            return False
        return abs(observed - number(arg["value"])) <= number(arg.get("tolerance", 0))
    if name == "not" and operator(arg) is not None:  # `{not: {contains_all: [...]}}`: "does not include"
        return not satisfies(observed, arg)
    return not same(observed, arg)  # not / differs_from


def match_text(match: dict[str, Any]) -> str:
    """A step's matchers as a reason names them: `status Preparing, connectorId 1` (open ones left out)."""
    parts = [f"{path} {value if isinstance(value, (str, int)) and operator(value) is None else describe(value)}"
             for path, value in match.items() if (operator(value) or ("",))[0] != "any"]
    return ", ".join(parts)


def with_text(match: dict[str, Any]) -> str:
    """` with status Preparing`, or nothing for a step that matches any message of its action."""
    text = match_text(match)
    return f" with {text}" if text else ""


def describe(expected: Any) -> str:
    op = operator(expected)
    if op is None:
        return repr(expected)
    name, arg = op
    if name == "any":
        return "anything (not checked)"
    if name == "present":
        return "present" if arg else "absent"
    if name == "one_of":
        return " or ".join("omitted" if a is None else repr(a) for a in arg)
    if name == "all_of":
        return " and ".join(describe(a) for a in arg)
    if name == "any_of":
        return " or ".join(f"({describe(a)})" for a in arg)
    if name == "contains_all":
        return f"a list containing all of {arg!r}"
    if name == "every":
        return f"a list of which every item is {describe(arg)}"
    if name == "clock_aligned":
        return f"a time on a multiple of {arg} s since midnight"
    if name == "earlier_than":
        return f"earlier than {arg}"
    if name == "seconds_after":
        return f"{arg.get('seconds')} ± {arg.get('tolerance_s', 0)} s after {arg.get('than')}"
    if name == "between":
        low, high = arg
        return f"at least {low}" if high is None else f"at most {high}" if low is None else f"{low} to {high}"
    if name == "near":
        return f"{arg.get('value')} ± {arg.get('tolerance', 0)}"
    if name == "not" and operator(arg) is not None:
        return f"not {describe(arg)}"
    return f"not {arg!r}"


def missing_part(payload: Any, path: str) -> str | None:
    """What is missing on the way to a field that is absent, when it is more than the last field itself:
    `configurationKey has no entry with key ConnectorPhaseRotation` rather than `...readonly is missing`."""
    current, segments = payload, path.split(".")
    for n, segment in enumerate(segments):
        m = _SEGMENT.match(segment)
        if m is None or m.group("all") is not None or not isinstance(current, dict):
            return None
        where = ".".join(segments[:n] + [m.group("name")])
        if m.group("name") not in current:
            return f"{where} is missing" if n < len(segments) - 1 else None
        current = current[m.group("name")]
        if m.group("index") is not None:
            i = int(m.group("index"))
            if not isinstance(current, list) or i >= len(current):
                return f"{where} has no item {i}"
            current = current[i]
        elif m.group("key") is not None:
            found = [x for x in current if isinstance(x, dict) and str(x.get(m.group("key"))) == m.group("value")] \
                if isinstance(current, list) else []
            if not found:
                return f"{where} has no entry with {m.group('key')} {m.group('value')}"
            current = found[0]
    return None


def mismatches(payload: Any, match: dict[str, Any]) -> list[str]:
    """Describe each field of `match` the payload does not satisfy."""
    out = []
    for path, expected in match.items():
        observed = get_path(payload, path)
        if satisfies(observed, expected):
            continue
        if is_missing(observed):
            cause = missing_part(payload, path)
            out.append(f"{cause} (expected {path} {describe(expected)})" if cause is not None
                       else f"{path} is missing, expected {describe(expected)}")
        else:
            out.append(f"{path} is {observed!r}, expected {describe(expected)}")
    return out
