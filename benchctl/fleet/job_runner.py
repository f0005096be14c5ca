"""The agent's jobs, one at a time: claiming the oldest queued job the bench meets, running it
(benchctl.fleet.execute) while publishing its progress and results, and settling it when it ends, is stopped,
or belonged to an earlier session of this bench.

It takes the bench lock before claiming, so a bench in use by a `benchctl run` on the same machine is not
claimed for, and a job it claims never waits for the bench.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from benchctl.config import ConfigError
from benchctl.run.command import EXIT_BENCH, EXIT_USAGE
from benchctl.run.lock import BenchBusy, BenchLock

from .broker import BrokerError, FleetConnection
from .execute import JobRefused, Outcome, execute, prepare
from .jobs import CLAIMED, DONE, LOST, RUNNING, YIELDED, JobSpec, Record
from .ledger import Ledger
from .presence import CurrentJob, Presence

log = logging.getLogger("benchctl.fleet.agent")

CLAIM_ECHO_TIMEOUT_S = 10.0


class JobRunner:
    def __init__(self, presence: Presence, bench_name: str, broker_url: str, console: Console,
                 wake: asyncio.Event) -> None:
        self.me = presence
        self.bench_name = bench_name  # the lock and the run directories go by the bench file's name
        self.options = presence.options
        self.topics = presence.topics
        self.broker_url = broker_url
        self.console = console
        self.wake = wake  # set when the running job ends
        self.clearing: set[str] = set()  # our records being deleted (their jobs were forgotten)

    async def take_next(self, conn: FleetConnection) -> bool:
        """Claim the oldest queued job this bench meets and start it; False when there is none (or the bench
        lock is held by someone else)."""
        me = self.me
        candidates = conn.ledger.claimable(set(me.tags))
        if not candidates:
            return False
        lock = BenchLock(self.bench_name, purpose=f"benchctl agent {me.name}")
        try:
            lock.acquire()
        except BenchBusy as exc:
            if me.lock_note != str(exc):
                me.lock_note = str(exc)
                self.console.print(f"[yellow]{escape(str(exc))}; not taking jobs until it is free[/]")
                me.publish_status()
            return False
        if me.lock_note:
            me.lock_note = ""
            me.publish_status()
        try:
            for state in candidates:
                assert state.spec is not None
                if await self._claim(conn, state.spec, state.attempt, state.note):
                    self._start(state.spec, state.attempt, lock, state.note)
                    return True
        except BaseException:
            lock.release()
            raise
        lock.release()
        return False

    async def _claim(self, conn: FleetConnection, spec: JobSpec, attempt: int, requeued: str = "") -> bool:
        """`requeued`: why the attempt was opened; the claim and the running record carry it (each bench's record
        of a job is one retained message, so the previous attempt's is gone by then) for a watcher that missed
        the queued state."""
        me = self.me
        claim = me.record(spec.id, CLAIMED, attempt, **({"requeued": requeued} if requeued else {}))
        # straight to the broker, not through the outbox: the claim is only worth something once it is there
        await conn.publish(self.topics.record(me.name, spec.id), claim.as_payload(), retain=True)
        deadline = time.monotonic() + CLAIM_ECHO_TIMEOUT_S
        while (won := conn.ledger.arbitration(spec.id, attempt, me.name, me.session)) is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrokerError(f"our claim of job {spec.id} did not come back within {CLAIM_ECHO_TIMEOUT_S:.0f} s")
            await conn.wait_change(conn.version, left)
        if not won:
            first = conn.ledger.candidates(spec.id, attempt)
            winner = first[0][0] if first else "an earlier claim"
            me.publish_record(me.record(spec.id, YIELDED, attempt, to=winner))
            log.info("job %s attempt %d: yielded to %s", spec.id, attempt, winner)
        return won

    def _start(self, spec: JobSpec, attempt: int, lock: BenchLock, requeued: str = "") -> None:
        me = self.me
        self.console.print(escape(f"{time.strftime('%H:%M:%S')} {me.name}: job {spec.id} (attempt {attempt}): "
                                  f"{spec.selection()}"), highlight=False)
        record = me.record(spec.id, RUNNING, attempt, host=socket.gethostname(), pid=os.getpid(),
                           **({"requeued": requeued} if requeued else {}))
        fleet_meta = {"job": spec.id, "attempt": attempt, "agent": me.name, "session": me.session,
                      "broker": self.broker_url, "submitted_by": spec.submitted_by,
                      "submitted_at": spec.submitted_at, "requires": spec.requires}
        task = asyncio.create_task(self._run_job(spec, attempt, lock, fleet_meta), name=f"job {spec.id}")
        task.add_done_callback(lambda _: self.wake.set())
        me.current = CurrentJob(spec, attempt, me.session, task, record)
        me.publish_record(record)
        me.publish_status()

    async def _run_job(self, spec: JobSpec, attempt: int, lock: BenchLock, fleet_meta: dict[str, Any]) -> Outcome:
        me = self.me
        try:
            prepared = prepare(spec, self.options.bench_file, self.options.scenarios, fleet_meta)
        except (JobRefused, ConfigError) as exc:
            lock.release()
            return Outcome(EXIT_USAGE, str(exc))
        except BaseException:
            lock.release()
            raise

        def publish(progress: dict[str, Any], result: dict[str, Any] | None) -> None:
            me.outbox.put(self.topics.progress(me.name), {"job": spec.id, "attempt": attempt, **progress})
            if result is not None:
                me.outbox.put(self.topics.results(me.name), {"job": spec.id, "attempt": attempt, **result},
                              retain=False)

        def on_run_dir(path: Path) -> None:
            job = me.current
            if job is not None and job.spec.id == spec.id:
                job.record = Record(job.record.bench, job.record.job, RUNNING, attempt, job.record.session,
                                    job.record.at, job.record.on_death,
                                    {**job.record.data, "run_dir": str(path.resolve())})
                me.publish_record(job.record)

        return await execute(prepared, self.options.runs, lock, self.console, publish, on_run_dir)

    def finish_current(self) -> None:
        me = self.me
        job = me.current
        assert job is not None and job.task.done()
        me.current = None
        try:
            outcome = job.task.result()
        except asyncio.CancelledError:
            outcome = Outcome(EXIT_USAGE, "the run was cancelled")
        except Exception as exc:  # execute() reports its own failures; this is a bug in the agent
            log.exception("job %s", job.spec.id)
            outcome = Outcome(EXIT_BENCH, f"agent error: {type(exc).__name__}: {exc}")
        summary = outcome.summary()
        me.publish_record(Record(me.name, job.spec.id, DONE, job.attempt, job.session, time.time(),
                                 self.options.on_death, {**job.record.data, **summary}))
        me.publish_status()
        counts = ", ".join(f"{n} {v}" for v, n in sorted(summary["counts"].items())) or "no results"
        self.console.print(escape(f"{time.strftime('%H:%M:%S')} {me.name}: job {job.spec.id} done, exit "
                                  f"{outcome.exit_status} ({counts})"
                                  + (f": {outcome.reason}" if outcome.reason else "")
                                  + (f"; reports in {outcome.run_dir}" if outcome.run_dir else "")), highlight=False)

    async def abandon(self, why: str) -> None:
        """Stop the current run (the bench goes to its safe state, reports cover what ran). The fleet settles the
        job as for a dead bench; with --on-death report we say so ourselves, for the record."""
        me = self.me
        job = me.current
        if job is None:
            return
        me.current = None
        job.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await job.task
        self.console.print(escape(f"{time.strftime('%H:%M:%S')} {me.name}: job {job.spec.id} stopped: {why}"),
                           highlight=False)
        if self.options.on_death == "report" and job.session == me.session:
            me.publish_record(Record(me.name, job.spec.id, LOST, job.attempt, job.session, time.time(),
                                     "report", {**job.record.data, "reason": why}))

    def settle_old_sessions(self, ledger: Ledger) -> None:
        """Jobs an earlier session of this bench was running when it died: with on-death report, record them as
        lost (the ledger already shows them so); requeued ones need nothing, the next claim settles them."""
        me = self.me
        for (bench, job_id), record in list(ledger.records.items()):
            if bench != me.name or record.session == me.session or record.status != RUNNING:
                continue
            state = ledger.state(job_id)
            if state.state == LOST and state.holder == record:
                me.publish_record(Record(me.name, job_id, LOST, record.attempt, me.session, time.time(),
                                         record.on_death, {**record.data, "reason": state.note}))
                self.console.print(escape(f"job {job_id}: {state.note}; recorded as lost"), highlight=False)

    def forget_records(self, ledger: Ledger) -> None:
        """Our records of jobs whose spec was deleted (`benchctl fleet --forget`) go too."""
        orphans = set(ledger.orphan_records(self.me.name))
        if self.me.current is not None:
            orphans.discard(self.me.current.spec.id)
        for job_id in orphans - self.clearing:
            self.me.outbox.put(self.topics.record(self.me.name, job_id), None)
        self.clearing = orphans
