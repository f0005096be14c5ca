"""`pwm`: the current the charger offers on the Control Pilot (duty -> A, IEC 61851-1), measured by the EV
emulator, against a value in A or the limit the case's charging profiles put in force (benchctl.smart)."""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from benchctl.config.schema import NOT_FINITE
from benchctl.config.typed import setting
from benchctl.record.case import Check
from drivers.evse_tester.iec61851 import MIN_PWM_CURRENT_A

from ..errors import StepFailed
from ..step import Step, StepModel
from ..values import substitute
from .registry import step_kind

if TYPE_CHECKING:
    from ..engine import CaseRunner

# the EV emulator drivers offer no wait for a change of the Control Pilot, only a measurement: measured again this
# often while the charger may still be applying a limit (a Modbus read on the sim bench takes about a millisecond)
REMEASURE_S = 0.05


def _pwm_target(value: object) -> str | None:
    """a current in A or in_force"""
    if value == "in_force":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            return NOT_FINITE
        if value >= 0:
            return None
    return f"expected a current in A or in_force, got {value!r}"


@dataclass(kw_only=True)
class PwmStep(StepModel):
    """The current the charger offers on the Control Pilot, measured by the EV emulator (role ev), against a value
    in A or the limit the charging profiles sent in the case put in force (benchctl.smart)."""

    pwm: float | str = setting(required=True, refs=True, type=object, check=_pwm_target,
                               help="the current (A) the PWM must offer, or in_force: the limit the charging "
                                    "profiles the case sent put in force on the connector now (below 6 A: no "
                                    "current offered)")
    connector_id: int | str = setting(refs=True, default="${connector_id}", help="the connector whose Control "
                                                                                "Pilot is measured")
    tolerance_a: float | str = setting(refs=True, default="${pwm_current_tolerance_a}", minimum=0,
                                       help="how far the offered current may be off, in A")
    within_s: float | str = setting(refs=True, default="${pwm_settle_s}", minimum=0,
                                    help="how long the charger may take to apply it (measured again until then)")


@step_kind("pwm", model=PwmStep)
async def pwm(runner: CaseRunner, step: Step) -> None:
    """Measured again until it matches or `within_s` is over: the charger may take a moment to apply a new limit."""
    d = step.typed(PwmStep)
    connector = int(substitute(d.connector_id, runner.vars))
    tolerance = float(substitute(d.tolerance_a, runner.vars))
    deadline = time.monotonic() + float(substitute(d.within_s, runner.vars))
    target = substitute(d.pwm, runner.vars)
    while True:
        measured = await runner.bench.ev.measure()
        expected: float | None
        if target == "in_force":
            expected = runner.smart_tracker().limit_in_force_a(connector, datetime.now(timezone.utc))
        else:
            expected = float(target)
        offered = measured.current_limit_a
        if expected is None:  # no profile in force and no local limit: any current the station can give
            ok = offered is not None
        elif expected < MIN_PWM_CURRENT_A:  # too little to signal: no current may be offered at all
            ok = offered is None
        else:
            ok = offered is not None and abs(offered - expected) <= tolerance
        if ok or time.monotonic() >= deadline:
            break
        await asyncio.sleep(REMEASURE_S)
    said = "a current (no limit in force but the station's own)" if expected is None \
        else "no current" if expected < MIN_PWM_CURRENT_A else f"{expected:g} A ± {tolerance:g} A"
    what = f"the PWM on connector {connector} offers {said}" + (
        " (the limit in force)" if target == "in_force" else "")
    observed = {"duty_pct": measured.duty_pct, "current_a": offered, "state": measured.state}
    runner.checks.append(Check(step.number, what, ok, observed))
    if not ok:
        got = "no current" if offered is None else f"{offered:g} A"
        raise StepFailed(step, step.number, f"{what}, but the EV emulator measures a duty of "
                                            f"{measured.duty_pct:g} % ({got})")
