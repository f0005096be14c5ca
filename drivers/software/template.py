"""Templates of software gear: `{name}` placeholders in URLs, topics, payloads and JSON bodies.

A template is checked once, when the bench config is loaded (`unknown_names`), so a misspelt placeholder is a
config error naming the file and line, never a request with a literal `{stat}` in it. In a JSON body a string
that is exactly one placeholder takes the value with its type (`"{duty}"` becomes the number 53.3, `"{fault}"`
the boolean true); any other string gets the values written in. `{{` and `}}` stand for literal braces.

A JSON path picks a value out of an answer: dot-separated keys, a number indexes a list (`connectors.0.cp.duty`);
the empty path is the whole answer.
"""

from __future__ import annotations

import json
import string
from typing import Any, Iterable, Mapping

_FORMATTER = string.Formatter()


class TemplateError(ValueError):
    """A template that cannot be read (an unclosed brace, a format spec), or a JSON path that finds nothing."""


def names_in(template: str) -> list[str]:
    """The placeholder names of a string template, in order; TemplateError when it is malformed."""
    try:
        parts = list(_FORMATTER.parse(template))
    except ValueError as exc:
        raise TemplateError(f"template {template!r}: {exc}") from None
    names = []
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise TemplateError(f"template {template!r}: write a placeholder as {{name}}, not {{{name}"
                                f"{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}}")
        names.append(name)
    return names


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def unknown_names(template: Any, known: Iterable[str]) -> str | None:
    """An error message when a template (a string, or a JSON body holding strings) names a value not in `known`."""
    allowed = set(known)
    try:
        used = [name for text in _strings(template) for name in names_in(text)]
    except TemplateError as exc:
        return str(exc)
    unknown = sorted({name for name in used if name not in allowed})
    if unknown:
        return (f"unknown value{'s' if len(unknown) > 1 else ''} {', '.join('{' + n + '}' for n in unknown)} "
                f"in template; this action knows: {', '.join('{' + n + '}' for n in sorted(allowed)) or 'none'}")
    return None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render(template: str, values: Mapping[str, Any]) -> str:
    """The string with its placeholders replaced (booleans as true/false, as JSON writes them)."""
    return template.format_map({k: _text(v) for k, v in values.items()})


def render_body(template: Any, values: Mapping[str, Any]) -> Any:
    """A JSON body template with values put in; a string that is one placeholder keeps the value's type."""
    if isinstance(template, str):
        names = names_in(template)
        if len(names) == 1 and template == "{" + names[0] + "}":
            return values[names[0]]
        return render(template, values)
    if isinstance(template, Mapping):
        return {str(k): render_body(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [render_body(v, values) for v in template]
    return template


def render_payload(template: Any, values: Mapping[str, Any]) -> bytes:
    """An MQTT payload: a string template as text, a mapping or list as JSON, None as an empty payload."""
    if template is None:
        return b""
    if isinstance(template, str):
        return render(template, values).encode()
    return json.dumps(render_body(template, values)).encode()


def pick(document: Any, path: str) -> Any:
    """The value at a dot-separated path of a decoded JSON answer; TemplateError naming the path when absent."""
    value = document
    for key in [k for k in path.split(".") if k] if path else []:
        if isinstance(value, Mapping) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.lstrip("-").isdigit() and -len(value) <= int(key) < len(value):
            value = value[int(key)]
        else:
            raise TemplateError(f"the answer has nothing at {path!r} (stopped at {key!r}): {_short(document)}")
    return value


def _short(document: Any) -> str:
    text = json.dumps(document) if not isinstance(document, (bytes, str)) else str(document)
    return text if len(text) <= 200 else text[:200] + "..."
