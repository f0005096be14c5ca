"""`connection`: a WebSocket connection attempt of the charger as the Central System saw it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from benchctl.config.typed import setting
from benchctl.record.case import Check

from ..errors import StepFailed
from ..step import Step, StepModel
from ..values import describe, get_path, is_missing, mismatches, satisfies, substitute
from .registry import step_kind

if TYPE_CHECKING:
    from ..engine import CaseRunner


@dataclass(kw_only=True)
class ConnectionStep(StepModel):
    """A WebSocket connection attempt of the charger as the Central System saw it (security profile, Authorization
    header, TLS version and ciphers, client certificate; accepted or refused)."""

    connection: str = setting(required=True, choices=("new", "same"),
                              help="new: the charger's next WebSocket connection attempt (its HTTP upgrade "
                                   "request, accepted or refused); same: the attempt the previous connection step "
                                   "took")
    match: dict[str, Any] = setting(default={}, help="field (dotted path) -> expected value: accepted, "
                                                     "security_profile, transport, authorization.*, tls.*, "
                                                     "client_certificate.* (benchctl/csms/security.py)")
    timeout_s: float | str | None = setting(refs=True, help="how long to wait for a new attempt (default "
                                                            "message_timeout_s)")
    optional: bool = setting(default=False, help="the charger may not open one (e.g. \"if it does not reconnect "
                                                 "itself\")")
    save: dict[str, Any] = setting(default={}, help="variable -> field of the connection")


@step_kind("connection", model=ConnectionStep)
async def connection(runner: CaseRunner, step: Step) -> None:
    """The charger's next attempt (or, `same`, the one the previous connection step took). An accepted one is
    waited for until its session is the link's, so a request sent next goes over it."""
    d, attempts = step.typed(ConnectionStep), runner.link.security.connections
    if d.connection == "same":
        if runner.connection_taken is None:
            raise StepFailed(step, step.number, "no earlier connection step whose connection to judge again")
        record = runner.connection_taken
    else:
        start, timeout = runner.connection_cursor, runner.timeout(step)
        found = await runner.link.wait_until(lambda: (start,) if len(attempts) > start else None, timeout)
        if found is None:
            if d.optional:
                runner.checks.append(Check(step.number, "no new connection (optional)", True))
                return
            raise StepFailed(step, step.number, f"the charger opened no new connection within {timeout:.1f} s")
        record = runner.connection_taken = attempts[start]
        runner.connection_cursor = start + 1
        if record["accepted"]:
            await runner.link.wait_until(lambda: record.get("attached") and runner.link.connected.is_set(), 5.0)
    match = substitute(d.match, runner.vars)
    what = f"connection #{record['index']} ({record['transport']}, {record['reason']})"
    for path, expected in match.items():
        observed = get_path(record, path)
        runner.checks.append(Check(step.number, f"{what}: {path} is {describe(expected)}",
                                   satisfies(observed, expected), None if is_missing(observed) else observed))
    problems = mismatches(record, match)
    if problems:
        raise StepFailed(step, step.number, f"{what}: " + "; ".join(problems))
    runner.save(d.save, record)
