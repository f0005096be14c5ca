"""`connection`: a WebSocket connection attempt of the charger as the Central System saw it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from benchctl.record.case import Check

from ..errors import StepFailed
from ..model import Step
from ..values import describe, get_path, is_missing, mismatches, satisfies, substitute
from .registry import step_kind

if TYPE_CHECKING:
    from ..engine import CaseRunner


@step_kind("connection")
async def connection(runner: CaseRunner, step: Step) -> None:
    """The charger's next attempt (or, `same`, the one the previous connection step took). An accepted one is
    waited for until its session is the link's, so a request sent next goes over it."""
    d, attempts = step.data, runner.link.security.connections
    if d["connection"] == "same":
        if runner.connection_taken is None:
            raise StepFailed(step, step.number, "no earlier connection step whose connection to judge again")
        record = runner.connection_taken
    else:
        start, timeout = runner.connection_cursor, runner.timeout(step)
        found = await runner.link.wait_until(lambda: (start,) if len(attempts) > start else None, timeout)
        if found is None:
            if d["optional"]:
                runner.checks.append(Check(step.number, "no new connection (optional)", True))
                return
            raise StepFailed(step, step.number, f"the charger opened no new connection within {timeout:.1f} s")
        record = runner.connection_taken = attempts[start]
        runner.connection_cursor = start + 1
        if record["accepted"]:
            await runner.link.wait_until(lambda: record.get("attached") and runner.link.connected.is_set(), 5.0)
    match = substitute(d["match"], runner.vars)
    what = f"connection #{record['index']} ({record['transport']}, {record['reason']})"
    for path, expected in match.items():
        observed = get_path(record, path)
        runner.checks.append(Check(step.number, f"{what}: {path} is {describe(expected)}",
                                   satisfies(observed, expected), None if is_missing(observed) else observed))
    problems = mismatches(record, match)
    if problems:
        raise StepFailed(step, step.number, f"{what}: " + "; ".join(problems))
    runner.save(d["save"], record)
