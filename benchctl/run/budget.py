"""How long a case may take before the run gives up on it: derived from its own steps.

Every step has an upper bound the engine itself respects (an expectation's timeout, a wait, how long an
absence is watched, a request's response timeout); bench actions get an allowance for the gear. A case that
overruns the sum of its bounds, doubled and with a minute of slack, is stuck (a hung driver, a charger that
keeps a request open) and must not eat the night.
"""

from __future__ import annotations

from typing import Any

from benchctl.scenario.model import Scenario, Step
from benchctl.scenario.values import UnknownVariable, substitute

# the gear's worst case per bench action: a power cycle includes the charger's boot
ACTION_ALLOWANCE_S = {"power_cycle": 90.0, "power_on": 90.0, "power_off": 15.0}
DEFAULT_ACTION_S = 15.0
FACTOR, SLACK_S = 2.0, 60.0


def _seconds(value: Any, values: dict[str, Any], fallback: float) -> float:
    """A step's number, `${bench_value}` resolved; a value saved at run time is not known yet: fallback."""
    try:
        resolved = substitute(value, values)
        return float(resolved) if resolved is not None else fallback
    except (UnknownVariable, TypeError, ValueError):
        return fallback


def step_bound(step: Step, values: dict[str, Any]) -> float:
    timeout = float(values.get("message_timeout_s", 30))
    data = step.data
    if step.kind in ("any_order", "state"):
        return sum(step_bound(child, values) for child in step.children) + (
            len(data.get("configuration") or {}) * timeout)
    if step.kind == "wait":
        return _seconds(data["wait"], values, timeout)
    if step.kind == "absent":
        return _seconds(data["for_s"], values, timeout)
    if step.kind == "expect":
        bound = _seconds(data.get("timeout_s"), values, timeout) if data.get("timeout_s") is not None else timeout
        after = data.get("after")
        if after:  # a timed expectation may wait the interval and its tolerance on top of the timeout
            bound += _seconds(after.get("seconds"), values, timeout) + _seconds(after.get("tolerance_s", 0),
                                                                                 values, 0.0)
        return bound
    if step.kind == "send":
        return timeout
    if step.kind == "action":
        return ACTION_ALLOWANCE_S.get(data["action"], DEFAULT_ACTION_S)
    return timeout


def case_budget(scenario: Scenario, values: dict[str, Any]) -> float:
    """Seconds the case may run: its configuration state and steps at their bounds, times FACTOR, plus SLACK_S."""
    timeout = float(values.get("message_timeout_s", 30))
    total = len(scenario.configuration) * timeout + sum(step_bound(s, values) for s in scenario.steps)
    return FACTOR * total + SLACK_S
