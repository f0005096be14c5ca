"""A loaded step, and what every step kind's model shares: the keys any step may carry (`StepModel`), `when:`,
`warn_if:` and the checks of values several kinds take. Each kind's own model lives with its executor in
steps/<kind>.py (benchctl.config.typed derives the schema the loader validates with from it)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, TypeVar

from benchctl.config.schema import NOT_FINITE, REF
from benchctl.config.typed import setting

M = TypeVar("M", bound="StepModel")


def seconds_value(value: object) -> str | None:
    """seconds: a number, `${name}` or `{sum: "${a} + ${b}"}`

    A number of seconds: a number, one `${name}`, or a sum (e.g. a configured timeout plus the timing tolerance).
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            return NOT_FINITE
        return None if value >= 0 else f"{value} is below the minimum 0"
    if isinstance(value, str) and REF.match(value):
        return None
    if isinstance(value, dict) and list(value) == ["sum"] and isinstance(value["sum"], str):
        return None
    return f"expected seconds (a number, ${{name}} or {{sum: \"${{a}} + ${{b}}\"}}), got {value!r}"


@dataclass(kw_only=True)
class When:
    """Run the step only if a saved value equals (or differs from) something, or if frames came in an order."""

    var: str | None = setting(help="the saved value (a variable, or a PICS answer: pics.<field>)")
    equals: str | None = setting(help="run only if the saved value equals this (compared as text, any case)")
    not_equals: str | None = setting(help="run only if the saved value differs (a branch's other side)")
    order: list[int] | None = setting(help="instead of var: run only if the frames of these steps came in this "
                                           "order (\"if step 3 is sent before step 7\")")


@dataclass(kw_only=True)
class WarnIf:
    """The document's "the vendor should be warned": a WARN finding when every field matches, never a FAIL."""

    match: dict[str, Any] = setting(required=True, help="field (dotted path) -> matcher; all must hold to warn")
    reason: str = setting(required=True, help="what the warning tells the vendor (in the scenario's own words)")


@dataclass(kw_only=True)
class StepModel:
    """The keys every step may carry; a kind's model adds its own (its kind's key first)."""

    step: int | None = setting(minimum=0, help="step number in the test case document")
    when: When | None = setting(help="run only if a saved value equals something (equals), or differs from it "
                                     "(not_equals), or if frames came in an order (order); var names the value")
    note: str = setting(default="", help="a remark for the reader (e.g. which manual action a step stands for)")


@dataclass
class Step:
    """A step as loaded: `data` is the validated mapping, `model` the same as its kind's typed model."""

    kind: str
    data: dict[str, Any]
    file: str
    line: int | None
    model: StepModel = field(default_factory=StepModel)  # the loader always gives the kind's own
    children: list["Step"] = field(default_factory=list)  # any_order members, or a state's steps

    @property
    def number(self) -> int | None:
        return self.model.step

    def typed(self, model: type[M]) -> M:
        """The step's model as its kind's class (the executor of a kind knows which one it gets)."""
        if not isinstance(self.model, model):
            raise TypeError(f"{self.where()}: a {self.kind} step has a {type(self.model).__name__}, "
                            f"not a {model.__name__}")
        return self.model

    def where(self) -> str:
        return f"{self.file}:{self.line}"
