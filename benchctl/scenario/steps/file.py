"""`file`: a transfer over the run's file server that must have happened, judged on the server's record."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from benchctl.config.typed import setting
from benchctl.record.case import Check

from ..errors import StepFailed
from ..step import Step, StepModel
from ..values import describe, get_path, mismatches, substitute
from .registry import step_kind

if TYPE_CHECKING:
    from ..engine import CaseRunner


FILE_DIRECTIONS = ("received", "served")  # uploaded by the charger / downloaded by it


@dataclass(kw_only=True)
class FileStep(StepModel):
    """A transfer over the run's file server that must have happened (an upload that really arrived, a firmware
    image really downloaded), judged on its record; the scenario needs `file_server: true`."""

    file: str = setting(required=True, choices=FILE_DIRECTIONS,
                        help="received: a file the charger uploaded; served: a file it downloaded")
    match: dict[str, Any] = setting(default={}, help="record field -> expected value (name, path, size, sha256, "
                                                     "complete, protocol, mode, error); the first record since the "
                                                     "case started that matches them all is taken")
    timeout_s: float | str | None = setting(refs=True, help="how long the transfer may still take (default "
                                                            "message_timeout_s)")
    save: dict[str, Any] = setting(default={}, help="variable -> field of the matched record")


@step_kind("file", model=FileStep)
async def file(runner: CaseRunner, step: Step) -> None:
    """The first transfer since the case started that matches; none within the timeout fails the step, naming what
    the server did see."""
    if runner.files is None:
        raise ValueError("a `file` step needs the run's file server (file_server: true)")
    m = step.typed(FileStep)
    direction = m.file
    match = substitute(m.match, runner.vars)
    timeout = float(substitute(m.timeout_s, runner.vars)) if m.timeout_s is not None \
        else float(runner.vars["message_timeout_s"])
    deadline = time.monotonic() + timeout
    while True:
        records = [r.as_record() for r in runner.files.log.since(runner.files_seen) if r.direction == direction]
        found = next((r for r in records if not mismatches(r, match)), None)
        if found is not None or time.monotonic() >= deadline:
            break
        await asyncio.sleep(0.05)
    what = f"file {direction} by the file server"
    if found is None:
        seen = "; ".join(f"{r['path']} ({r['size']} bytes, complete={r['complete']}"
                         + (f", {r['error']}" if r["error"] else "") + ")" for r in records) or "nothing"
        runner.checks.append(Check(step.number, f"{what} matching {match}", False, seen))
        raise StepFailed(step, step.number, f"no {what} matching {match} within {timeout:.1f} s; it {direction} "
                                            f"{seen}")
    for path, expected in match.items():
        runner.checks.append(Check(step.number, f"{what}: {path} is {describe(expected)}", True,
                                   get_path(found, path)))
    runner.save(m.save, found)
