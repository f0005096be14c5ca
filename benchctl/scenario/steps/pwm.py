"""`pwm`: the current the charger offers on the Control Pilot (duty -> A, IEC 61851-1), measured by the EV
emulator, against a value in A or the limit the case's charging profiles put in force (benchctl.smart)."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from drivers.evse_tester.iec61851 import MIN_PWM_CURRENT_A

from benchctl.record.case import Check

from ..errors import StepFailed
from ..model import Step
from ..values import substitute
from .registry import step_kind

if TYPE_CHECKING:
    from ..engine import CaseRunner


@step_kind("pwm")
async def pwm(runner: CaseRunner, step: Step) -> None:
    """Measured again until it matches or `within_s` is over: the charger may take a moment to apply a new limit."""
    d = step.data
    connector = int(substitute(d["connector_id"], runner.vars))
    tolerance = float(substitute(d["tolerance_a"], runner.vars))
    deadline = time.monotonic() + float(substitute(d["within_s"], runner.vars))
    target = substitute(d["pwm"], runner.vars)
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
        await asyncio.sleep(0.2)
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
