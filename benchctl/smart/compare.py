"""A charger's composite schedule (GetCompositeSchedule.conf) judged against the one benchctl computed.

Both are step functions of time from the same start. They are compared over the requested duration, instant by
instant rather than period by period: a charger counts in whole seconds and its clock is not benchctl's, so a
boundary may sit a little off the computed one, and a sliver period at a boundary may come or go. A difference
is only forgiven within `tolerance_s` of a boundary of the computed schedule; anywhere else it is a wrong limit.
Where the computed schedule has no limit (no profile applies and the charger has no local limit) the charger
may report nothing or its connector's maximum, which the bench does not know: that stretch is not judged.
"""

from __future__ import annotations

from typing import Any

from .profiles import Period, Schedule

LIMIT_TOLERANCE = 0.05  # the schema's resolution is 0.1: rounding to it may move a limit by half of that


def _step(periods: list[Period], t: float) -> float | None:
    current = [p for p in periods if p.start_s <= t]
    return current[-1].limit if current else None


def wire_periods(schedule: dict[str, Any]) -> list[Period]:
    """The chargingSchedulePeriod list of a chargingSchedule as the charger sent it, sorted by start."""
    raw = schedule.get("chargingSchedulePeriod") or []
    return sorted((Period(float(p["startPeriod"]), float(p["limit"]), p.get("numberPhases")) for p in raw),
                  key=lambda p: p.start_s)


def _s(seconds: float) -> str:
    return f"{round(seconds, 1):g} s"


def describe(periods: list[Period] | tuple[Period, ...]) -> str:
    return ", ".join(f"{_s(p.start_s)}: " + ("no limit" if p.limit is None else f"{p.limit:g}")
                     for p in periods) or "no periods"


def same_limit(a: float, b: float) -> bool:
    return abs(a - b) <= max(LIMIT_TOLERANCE, 1e-4 * abs(b))


def compare(returned: dict[str, Any], expected: Schedule, tolerance_s: float) -> list[str]:
    """What is wrong with the returned chargingSchedule (empty: it is the computed one within tolerance)."""
    problems = []
    unit = returned.get("chargingRateUnit")
    if unit != expected.unit:
        problems.append(f"chargingRateUnit is {unit!r}, expected {expected.unit!r}")
    got = wire_periods(returned)
    want = list(expected.periods)
    unlimited = [p for p in want if p.limit is None]
    duration = float(expected.duration_s or 0.0)
    boundaries = [p.start_s for p in want[1:]]
    cuts = sorted({0.0, duration, *[p.start_s for p in got + want if 0.0 < p.start_s < duration]})
    wrong: list[tuple[float, float, float | None, float | None]] = []
    for a, b in zip(cuts, cuts[1:]):
        mid = (a + b) / 2
        mine, theirs = _step(want, mid), _step(got, mid)
        if unlimited and mine is None:
            continue  # no limit known there: whatever the charger says (nothing, its maximum) is its own
        if mine is not None and theirs is not None and same_limit(theirs, mine):
            continue
        if any(e - tolerance_s <= a and b <= e + tolerance_s for e in boundaries + [duration]):
            continue  # a boundary a little off, or a sliver period at it
        if wrong and wrong[-1][1] == a and (wrong[-1][2], wrong[-1][3]) == (theirs, mine):
            wrong[-1] = (wrong[-1][0], b, theirs, mine)
        else:
            wrong.append((a, b, theirs, mine))
    for a, b, theirs, mine in wrong[:3]:
        said = "no limit" if theirs is None else f"{theirs:g}"
        problems.append(f"from {_s(a)} to {_s(b)} the charger's schedule gives {said}, expected {mine:g}")
    if len(wrong) > 3:
        problems.append(f"... and {len(wrong) - 3} more stretch(es) differ")
    if problems:
        problems.append(f"charger: [{describe(got)}]; benchctl: [{describe(want)}] (tolerance {tolerance_s:g} s)")
    return problems
