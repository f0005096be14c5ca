"""The jinja2 environment the HTML reports (report.html, perf.html) are rendered with.

The markup lives in templates/ beside this module, so the pages can be read and changed without reading
Python. A lab that wants its own layout (a logo, its name, other colours) puts edited copies of the templates
it changes into a directory named by BENCHCTL_REPORT_TEMPLATES; a template not found there comes from the
package. Autoescape is on and undefined names are errors, so a value from the run (a charger's payload above
all: the charger writes it) is always text, never markup, and a misspelt field fails loudly instead of leaving
a blank.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from functools import lru_cache
from html import escape
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, StrictUndefined
from markupsafe import Markup

OVERRIDE_VARIABLE = "BENCHCTL_REPORT_TEMPLATES"


def render(name: str, **context: Any) -> str:
    return environment(os.environ.get(OVERRIDE_VARIABLE) or None).get_template(name).render(**context)


@lru_cache(maxsize=4)
def environment(override: str | None = None) -> Environment:
    package = PackageLoader("benchctl.report", "templates")
    loader = ChoiceLoader([FileSystemLoader(override), package]) if override else package
    env = Environment(loader=loader, autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                      finalize=_as_text)
    env.filters.update(value=value_text, when=when, clock=clock, label=label, frame_list=frame_list)
    return env


def _as_text(value: Any) -> Any:
    """Every value written into a page as escaped text, in the entity forms of the standard library (&#x27;,
    &quot;) that the reports have always used; markup made on purpose (Markup) passes as it is."""
    if hasattr(value, "__html__"):
        return value
    return Markup(escape(value if isinstance(value, str) else str(value), quote=True))


def value_text(value: Any) -> str:
    """A payload value as a person reads it: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def when(epoch: float | None) -> str:
    if epoch is None:
        return "not recorded"
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def clock(epoch: float | None) -> str:
    return "" if epoch is None else datetime.fromtimestamp(epoch, timezone.utc).strftime("%H:%M:%S.%f")[:-3]


def label(outcome: str) -> str:
    return outcome.replace("_", " ")


def indices(frames: Any) -> list[int]:
    """The capture indices of a record's `frames` field, whatever else a damaged record put there."""
    return [i for i in frames if isinstance(i, int)] if isinstance(frames, list) else []


def frame_list(frames: Any) -> str:
    return ", ".join(f"#{i}" for i in indices(frames))
