"""The mandated waits of a case: the seconds it cannot be faster than, because the protocol or the scenario
imposes them, on a charger that does everything at once that it may do at once.

Read off the loaded scenario and the bench's values only (no I/O, no clock): a plan is dealt out to benches
longest-first with it, and the plan's pace is judged against it (benchmarks/plan_pace.py). The rules, each a
`Wait.rule` of the breakdown:

  wait                 a `wait:` step
  absent               an `absent:` window (for_s): watched from when the step runs (a since_step only lets a frame
                       from before it count)
  transaction_duration an `absent:` window of ${transaction_duration_s}
  heartbeat, meter_values, clock_aligned, reservation_expiry, connection_timeout, boot_retry, after
                       an `expect` with `after: {step, seconds}`: the message comes that long after the frame of
                       that step (named after the value the interval is, `after` for another one)
  boot                 an `expect: BootNotification` (not a retry with `after`): the station booted (a power cycle,
                       a Reset, a new firmware), which takes the bench's boot time (`boot_s`)
  power_off            a `power_cycle` action keeps mains off this long (with off_s, else ${power_off_s})
  ev_ready             a `plug_in` action waits ${ev_ready_delay_s} between EV state B and C
  operator_pause       an action right after a step that waited for the charger: the tester's ${operator_pause_s}
  minimum_status_duration  with a MinimumStatusDuration the case (or a state) configures, an expected status
                       comes that long after the change (the last action or status), which the waits since
                       may already cover

Intervals measured from an earlier step's frame (`after`) count only what the waits counted since that frame do
not already cover. What may not happen is not mandated: an optional step, a step whose `when:`
cannot be decided from the values (a saved variable, a PICS answer) and a branch whose condition does not hold
count nothing; an `any_order` group costs its longest member. A clock-aligned sample's wait for the next boundary
(0 up to an interval) is not counted: it depends on when the case starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from benchctl.scenario.model import Scenario, Step
from benchctl.scenario.steps.absent import AbsentStep
from benchctl.scenario.steps.action import ActionStep
from benchctl.scenario.steps.expect import ExpectStep
from benchctl.scenario.steps.state import StateStep
from benchctl.scenario.steps.wait import WaitStep
from benchctl.scenario.values import UnknownVariable, number, reference, substitute

__all__ = ["Wait", "mandated_wait_s", "wait_breakdown"]

# the value an `after:` interval is -> the rule that names it in the breakdown
INTERVAL_RULES = {
    "heartbeat_interval_s": "heartbeat",
    "meter_value_interval_s": "meter_values",
    "clock_aligned_interval_s": "clock_aligned",
    "reservation_expiry_s": "reservation_expiry",
    "connection_timeout_s": "connection_timeout",
    "boot_retry_interval_s": "boot_retry",
}


@dataclass(frozen=True)
class Wait:
    """One step's mandated wait: which rule gave how many seconds."""

    rule: str
    seconds: float
    where: str  # file:line of the step
    step: int | None  # the document's step number, if the step has one
    state: str = ""  # the reusable state the step comes from ("" for the case's own)


@dataclass
class _Walk:
    """The walk through a case's steps: the waits so far, the running total, and where each step's frame fell."""

    boot_s: float
    connectors: int
    waits: list[Wait] = field(default_factory=list)
    total: float = 0.0
    at_step: dict[int, float] = field(default_factory=dict)  # step number -> total when its frame came
    after_message: bool = False  # the last step waited for the charger (the engine's operator pause)
    minimum_status_s: float = 0.0  # MinimumStatusDuration the case configured
    changed_at: float = 0.0  # total at the last action or status: a status change is held from there

    def add(self, rule: str, seconds: float, step: Step, state: str) -> None:
        if seconds > 0:
            self.waits.append(Wait(rule, seconds, step.where(), step.number, state))
            self.total += seconds

    def mark(self, step: Step) -> None:
        m = step.model
        numbers = [m.step, getattr(m, "answer_step", None), getattr(m, "response_step", None)]
        for n in numbers:
            if n is not None:
                self.at_step[n] = self.total

    def since(self, number: int | None) -> float:
        """What the waits counted since that step's frame already cover of an interval measured from it."""
        if number is None or number not in self.at_step:
            return 0.0
        return self.total - self.at_step[number]


def wait_breakdown(scenario: Scenario, values: Mapping[str, Any], *, boot_s: float = 0.0,
                   connectors: int = 1) -> list[Wait]:
    """The mandated waits of the case, step by step, in the order the case meets them. `values` is the bench's
    values mapping (config.values), with the PICS answers as benchctl.config.pics.scenario_variables gives them if
    the `when: {var: pics.*}` steps are to count; `boot_s` the station's boot time (a simulated station's
    boot_delay_s; unknown on a real charger: 0); `connectors` the station's (a state run for every other
    connector)."""
    walk = _Walk(boot_s, connectors)
    scope = dict(values)
    walk.minimum_status_s = _minimum_status_s(scenario.configuration, scope, 0.0)
    _walk(walk, scenario.steps, scope, "")
    return walk.waits


def mandated_wait_s(scenario: Scenario, values: Mapping[str, Any], *, boot_s: float = 0.0,
                    connectors: int = 1) -> float:
    """The seconds the case cannot be faster than (the sum of wait_breakdown)."""
    return sum(w.seconds for w in wait_breakdown(scenario, values, boot_s=boot_s, connectors=connectors))


def _walk(walk: _Walk, steps: list[Step], scope: dict[str, Any], state: str) -> None:
    for step in steps:
        if not _runs(step, scope):
            continue
        if step.kind == "state":
            _state(walk, step, scope)
            continue
        if step.kind == "any_order":
            _any_order(walk, step, scope, state)
        else:
            if step.kind == "action" and walk.after_message:
                walk.add("operator_pause", _seconds("${operator_pause_s}", scope), step, state)
            _one(walk, step, scope, state)
            walk.mark(step)
        walk.after_message = step.kind in ("expect", "any_order")


def _state(walk: _Walk, step: Step, scope: dict[str, Any]) -> None:
    m = step.typed(StateStep)
    bound = _resolved(m.with_, scope)
    runs = [bound]
    if m.each_other_connector:
        runs = [bound] * max(0, walk.connectors - 1)
    for params in runs:
        walk.minimum_status_s = _minimum_status_s(m.configuration, scope | params, walk.minimum_status_s)
        _walk(walk, step.children, scope | params, m.state)


def _any_order(walk: _Walk, step: Step, scope: dict[str, Any], state: str) -> None:
    """The members wait side by side: the group costs its longest member, each member's frame falls at its own."""
    start, longest = walk.total, 0.0
    kept = len(walk.waits)
    for child in step.children:
        if not _runs(child, scope):
            continue
        walk.total = start
        _one(walk, child, scope, state)
        walk.mark(child)
        longest = max(longest, walk.total - start)
    # the breakdown keeps the longest member's wait only, so that it adds up to the total
    members = walk.waits[kept:]
    del walk.waits[kept:]
    if members:
        walk.waits.append(max(members, key=lambda w: w.seconds))
    walk.total = start + longest


def _one(walk: _Walk, step: Step, scope: dict[str, Any], state: str) -> None:
    m = step.model
    if isinstance(m, WaitStep):
        walk.add("wait", _seconds(m.wait, scope), step, state)
    elif isinstance(m, AbsentStep):
        rule = "transaction_duration" if reference(m.for_s) == "transaction_duration_s" else "absent"
        walk.add(rule, _seconds(m.for_s, scope), step, state)
    elif isinstance(m, ExpectStep) and not m.optional:
        if m.expect == "StatusNotification" and walk.minimum_status_s > 0:
            held = walk.minimum_status_s - (walk.total - walk.changed_at)
            walk.add("minimum_status_duration", max(0.0, held), step, state)
            walk.changed_at = walk.total
        if m.after is not None:
            rule = INTERVAL_RULES.get(reference(m.after.seconds) or "", "after")
            walk.add(rule, max(0.0, _seconds(m.after.seconds, scope) - walk.since(m.after.step)), step, state)
        elif m.expect == "BootNotification":
            walk.add("boot", walk.boot_s, step, state)
    elif isinstance(m, ActionStep):
        _action(walk, step, m, scope, state)


def _action(walk: _Walk, step: Step, m: ActionStep, scope: dict[str, Any], state: str) -> None:
    walk.changed_at = walk.total  # a status the action brings about changes now, before the action's own waits
    args = _resolved(m.with_, scope)
    if m.action == "power_cycle":
        off = args.get("off_s")
        walk.add("power_off", _seconds("${power_off_s}" if off is None else off, scope), step, state)
    elif m.action == "plug_in" and args.get("ready", True) is not False:
        walk.add("ev_ready", _seconds("${ev_ready_delay_s}", scope), step, state)


def _runs(step: Step, scope: dict[str, Any]) -> bool:
    """Whether the step surely runs: its `when:` holds on what the values and the state's parameters say."""
    when = step.model.when
    if when is None:
        return True
    if when.order is not None or when.var is None or when.var not in scope:
        return False  # decided by what the charger does, or by a value saved on the way: not mandated
    value = str(scope[when.var]).lower()
    try:
        if when.equals is not None:
            return value == str(substitute(when.equals, scope)).lower()
        return value != str(substitute(when.not_equals, scope)).lower()
    except UnknownVariable:
        return False


def _minimum_status_s(configuration: dict[str, Any], scope: dict[str, Any], before: float) -> float:
    """The MinimumStatusDuration a Configuration State sets (it stays for the rest of the case), else `before`."""
    if "MinimumStatusDuration" not in configuration:
        return before
    return _seconds(configuration["MinimumStatusDuration"], scope)


def _resolved(value: dict[str, Any], scope: dict[str, Any]) -> dict[str, Any]:
    """A `with:` mapping with what the scope knows put in (an unknown reference stays as written)."""
    out = {}
    for key, raw in value.items():
        try:
            out[key] = substitute(raw, scope)
        except (UnknownVariable, ValueError):
            out[key] = raw
    return out


def _seconds(raw: Any, scope: dict[str, Any]) -> float:
    """A number of seconds as a step gives it; 0 when the values do not say (nothing is mandated then)."""
    try:
        value = number(substitute(raw, scope))
    except (UnknownVariable, ValueError, TypeError):
        return 0.0
    return max(0.0, value)
