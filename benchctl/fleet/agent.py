"""`benchctl agent`: one per bench. Publishes the bench's status, takes jobs from the queue one at a time and
runs them (benchctl.fleet.execute), publishing progress, each case result and the final summary.

The protocol is in the package docstring (benchctl.fleet). Points particular to the agent:

- Its MQTT client id is fixed per bench name (`benchctl-agent-<name>`). Reconnecting with it makes the broker
  drop any half-open connection of ours at once (publishing its will then), instead of a keepalive later,
  so the agent learns whether the fleet took it for dead before it goes on.
- Everything it publishes goes through one ordered outbox that outlives connections: while the broker is
  away the run goes on, the latest retained message per topic is kept and sent when the broker is back,
  and progress events are dropped (the retained progress catches up).
- It takes the bench lock before claiming, so a bench in use by a `benchctl run` on the same machine is not
  claimed for, and a job it claims never waits for the bench.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import socket
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from benchctl.bench.config import load_bench
from benchctl.config import ConfigError
from benchctl.run.command import EXIT_BENCH, EXIT_BUSY, EXIT_OK, EXIT_USAGE
from benchctl.run.lock import BenchBusy, BenchLock

from .broker import EXIT_BROKER, BrokerError, BrokerRefused, BrokerSettings, FleetConnection, new_client_id
from .execute import JobRefused, Outcome, execute, prepare
from .jobs import BUSY, CLAIMED, DONE, IDLE, LOST, OFFLINE, RUNNING, YIELDED, JobSpec, Record
from .ledger import Ledger
from .topics import check_name

log = logging.getLogger("benchctl.fleet.agent")

CLAIM_ECHO_TIMEOUT_S = 10.0
LOCK_RETRY_S = 5.0


class SessionDead(Exception):
    """The fleet took this session for dead (its will was published) or another agent took the bench name."""

    def __init__(self, message: str, name_taken: bool = False) -> None:
        super().__init__(message)
        self.name_taken = name_taken


@dataclass
class AgentOptions:
    bench_file: Path
    runs: Path
    scenarios: Path
    name: str | None = None
    tags: list[str] = field(default_factory=list)
    on_death: str = "requeue"
    heartbeat_s: float = 30.0
    takeover: bool = False


@dataclass
class CurrentJob:
    spec: JobSpec
    attempt: int
    session: str
    task: "asyncio.Task[Outcome]"
    record: Record


class Outbox:
    """Ordered publishing that survives the broker going away (see the module docstring)."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[str, Any, bool]] = asyncio.Queue()
        self.pending: OrderedDict[str, Any] = OrderedDict()
        self.conn: FleetConnection | None = None

    def put(self, topic: str, payload: Any, retain: bool = True) -> None:
        self.pending.pop(topic, None)  # superseded
        self.queue.put_nowait((topic, payload, retain))

    def attach(self, conn: FleetConnection) -> None:
        self.conn = conn
        held, self.pending = self.pending, OrderedDict()
        for topic, payload in held.items():
            self.put(topic, payload)

    def detach(self) -> None:
        self.conn = None

    async def run(self) -> None:
        while True:
            topic, payload, retain = await self.queue.get()
            try:
                conn = self.conn
                if conn is not None and conn.connected:
                    try:
                        await conn.publish(topic, payload, retain=retain)
                        continue
                    except BrokerError:
                        pass
                if retain:
                    self.pending[topic] = payload
            finally:
                self.queue.task_done()

    async def drain(self, timeout: float = 10.0) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self.queue.join()


class Agent:
    def __init__(self, options: AgentOptions, settings: BrokerSettings, console: Console) -> None:
        self.options = options
        self.settings = settings
        self.topics = settings.topics
        self.console = console
        config = load_bench(options.bench_file)
        self.bench_name = config.name  # the lock and the run directories go by the bench file's name
        self.name = check_name("bench name", options.name or config.name)
        self.tags = sorted({check_name("tag", t) for t in options.tags})
        self.session = _new_session()
        self.session_seen = False  # our status of this session came back from the broker
        self.outbox = Outbox()
        self.current: CurrentJob | None = None
        self.wake = asyncio.Event()
        self.stopping = asyncio.Event()
        self.client_id = f"benchctl-agent-{self.name}"
        self.lock_note = ""  # why the bench is not taking jobs (its lock is held by someone else)
        self.clearing: set[str] = set()  # our records being deleted (their jobs were forgotten)

    # -- what it publishes -------------------------------------------------------------------------------

    def status_payload(self, state: str | None = None, reason: str = "") -> dict[str, Any]:
        job = self.current
        payload: dict[str, Any] = {
            "state": state or (BUSY if job else IDLE), "session": self.session, "tags": self.tags,
            "on_death": self.options.on_death, "host": socket.gethostname(), "pid": os.getpid(),
            "bench_file": str(self.options.bench_file), "at": time.time()}
        if job is not None:
            payload.update({"job": job.spec.id, "attempt": job.attempt})
        if reason:
            payload["reason"] = reason
        if self.lock_note and not job:
            payload["note"] = self.lock_note
        return payload

    def will(self) -> tuple[str, dict[str, Any]]:
        payload = self.status_payload(OFFLINE, "connection lost (last will)")
        payload.pop("job", None)
        return self.topics.status(self.name), payload

    def publish_status(self, state: str | None = None, reason: str = "") -> None:
        self.outbox.put(self.topics.status(self.name), self.status_payload(state, reason))

    def publish_record(self, record: Record) -> None:
        self.outbox.put(self.topics.record(self.name, record.job), record.as_payload())

    def _record(self, job: str, status: str, attempt: int, **data: Any) -> Record:
        return Record(self.name, job, status, attempt, self.session, time.time(), self.options.on_death, data)

    # -- life -------------------------------------------------------------------------------------------

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop)
        sender = asyncio.create_task(self.outbox.run(), name="fleet outbox")
        try:
            refusal = await self._check_name()
            if refusal is not None:
                self.console.print(f"[red]{escape(refusal)}[/]")
                return EXIT_BUSY
            self.console.print(escape(f"agent {self.name} (bench {self.options.bench_file}, tags "
                                      f"{', '.join(self.tags) or 'none'}, on death: {self.options.on_death}) on "
                                      f"{self.settings.url}, topics under {self.topics.prefix}"), highlight=False)
            return await self._connected_life()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
            if self.current is not None:
                await self._abandon("the agent stopped")
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender

    def _stop(self) -> None:
        self.stopping.set()
        self.wake.set()

    async def _check_name(self) -> str | None:
        """Refuse to start while another live agent has our bench name (two agents would fight over it)."""
        backoff = 1.0
        while True:
            try:
                async with FleetConnection(self.settings, new_client_id("agent-check")) as conn:
                    status = conn.ledger.statuses.get(self.name)
                    break
            except BrokerRefused:
                raise
            except BrokerError as exc:
                self.console.print(f"[yellow]{escape(str(exc))}; retrying in {backoff:.0f} s[/]")
                if await self._sleep(backoff):
                    return None
                backoff = min(backoff * 2, 30.0)
        if status is None or not status.online or self.options.takeover:
            return None
        host, pid = status.data.get("host"), status.data.get("pid")
        if host == socket.gethostname() and isinstance(pid, int) and not _pid_alive(pid):
            return None  # its process is gone; its will has not been published yet (or never will be)
        return (f"bench name {self.name!r} is already online (pid {pid} on {host}, session {status.session}); "
                f"give this agent another --name, or --takeover if that agent is gone")

    async def _sleep(self, seconds: float) -> bool:
        """Sleep unless asked to stop; True when stopping."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self.stopping.wait()
        return self.stopping.is_set()

    async def _connected_life(self) -> int:
        backoff = 1.0
        lost_since: float | None = None  # when we noticed the broker gone
        lease = float(self.settings.keepalive_s)
        while not self.stopping.is_set():
            if lost_since is not None and self.current is not None and time.monotonic() - lost_since > lease:
                # the broker publishes our will 1.5 keepalives after it last heard from us and the job moves on;
                # a run we kept going past that would be the job running twice
                await self._abandon(f"out of touch with the broker for more than {lease:.0f} s (its keepalive): "
                                    f"the fleet takes this bench for dead")
                self.session = _new_session()
                self.session_seen = False
            try:
                async with FleetConnection(self.settings, self.client_id, will=self.will(),
                                           on_change=self.wake.set) as conn:
                    backoff = 1.0
                    lost_since = None
                    try:
                        await self._serve(conn)
                    finally:
                        self.outbox.detach()
                    return EXIT_OK
            except SessionDead as exc:
                self.console.print(f"[yellow]{escape(str(exc))}[/]")
                if self.current is not None:
                    await self._abandon(str(exc))
                if exc.name_taken:
                    return EXIT_BUSY
                self.session = _new_session()
                self.session_seen = False
            except BrokerRefused as exc:
                self.console.print(f"[red]{escape(str(exc))}[/]")
                return EXIT_BROKER
            except BrokerError as exc:
                if lost_since is None:
                    lost_since = time.monotonic()
                wait = backoff
                job = ""
                if self.current is not None:
                    left = max(0.0, lease - (time.monotonic() - lost_since))
                    job = f"; job {self.current.spec.id} goes on for {left:.0f} s more without the broker"
                    wait = min(backoff, left + 0.1)
                self.console.print(f"[yellow]{escape(str(exc))}{escape(job)}; reconnecting in {wait:.0f} s[/]")
                if await self._sleep(wait):
                    break
                backoff = min(backoff * 2, 30.0)
        return EXIT_OK

    def _check_session(self, ledger: Ledger) -> None:
        """SessionDead when the broker says our session is over."""
        status = ledger.statuses.get(self.name)
        if status is None:
            return  # the broker lost its retained messages; we publish ours again
        if status.session == self.session:
            if status.state == OFFLINE:
                raise SessionDead(f"the broker published this agent's last will (session {self.session}): the "
                                  f"fleet took it for dead, so its job is not its own any more")
            self.session_seen = True
        elif status.online and self.session_seen:
            # before our own status came back, another session's is the one we are taking over
            raise SessionDead(f"another agent took the bench name {self.name!r} (pid {status.data.get('pid')} on "
                              f"{status.data.get('host')})", name_taken=True)

    async def _serve(self, conn: FleetConnection) -> None:
        self._check_session(conn.ledger)
        self.outbox.attach(conn)
        self.publish_status()
        if self.current is not None:
            self.publish_record(self.current.record)
        self._settle_old_sessions(conn.ledger)
        heartbeat = asyncio.create_task(self._heartbeat(), name="fleet heartbeat")
        announced = False
        try:
            while True:
                self.wake.clear()
                if self.stopping.is_set():
                    await self._leave(conn)
                    return
                self._check_session(conn.ledger)
                if self.current is not None and self.current.task.done():
                    self._finish_current()
                self._forget_records(conn.ledger)
                if self.current is None:
                    if not announced:
                        self.console.print(escape(f"{time.strftime('%H:%M:%S')} {self.name}: waiting for jobs"),
                                           highlight=False)
                        announced = True
                    if await self._take_next(conn):
                        announced = False
                        continue
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(LOCK_RETRY_S):
                        await self.wake.wait()
                conn.raise_if_lost()
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def _heartbeat(self) -> None:
        while True:
            self.outbox.put(self.topics.seen(self.name), time.time())
            await asyncio.sleep(self.options.heartbeat_s)

    async def _leave(self, conn: FleetConnection) -> None:
        """A stop asked for (SIGTERM, Ctrl-C): end the run as the fleet would end it for a dead bench."""
        if self.current is not None:
            await self._abandon("the agent was stopped")
        self.publish_status(OFFLINE, "stopped")
        await self.outbox.drain()

    # -- jobs -------------------------------------------------------------------------------------------

    async def _take_next(self, conn: FleetConnection) -> bool:
        """Claim the oldest queued job this bench meets and start it; False when there is none (or the bench
        lock is held by someone else)."""
        candidates = conn.ledger.claimable(set(self.tags))
        if not candidates:
            return False
        lock = BenchLock(self.bench_name, purpose=f"benchctl agent {self.name}")
        try:
            lock.acquire()
        except BenchBusy as exc:
            if self.lock_note != str(exc):
                self.lock_note = str(exc)
                self.console.print(f"[yellow]{escape(str(exc))}; not taking jobs until it is free[/]")
                self.publish_status()
            return False
        if self.lock_note:
            self.lock_note = ""
            self.publish_status()
        try:
            for state in candidates:
                assert state.spec is not None
                if await self._claim(conn, state.spec, state.attempt):
                    self._start(state.spec, state.attempt, lock)
                    return True
        except BaseException:
            lock.release()
            raise
        lock.release()
        return False

    async def _claim(self, conn: FleetConnection, spec: JobSpec, attempt: int) -> bool:
        claim = self._record(spec.id, CLAIMED, attempt)
        # straight to the broker, not through the outbox: the claim is only worth something once it is there
        await conn.publish(self.topics.record(self.name, spec.id), claim.as_payload(), retain=True)
        deadline = time.monotonic() + CLAIM_ECHO_TIMEOUT_S
        while (won := conn.ledger.arbitration(spec.id, attempt, self.name, self.session)) is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrokerError(f"our claim of job {spec.id} did not come back within {CLAIM_ECHO_TIMEOUT_S:.0f} s")
            await conn.wait_change(conn.version, left)
        if not won:
            first = conn.ledger.candidates(spec.id, attempt)
            winner = first[0][0] if first else "an earlier claim"
            self.publish_record(self._record(spec.id, YIELDED, attempt, to=winner))
            log.info("job %s attempt %d: yielded to %s", spec.id, attempt, winner)
        return won

    def _start(self, spec: JobSpec, attempt: int, lock: BenchLock) -> None:
        self.console.print(escape(f"{time.strftime('%H:%M:%S')} {self.name}: job {spec.id} (attempt {attempt}): "
                                  f"{spec.selection()}"), highlight=False)
        record = self._record(spec.id, RUNNING, attempt, host=socket.gethostname(), pid=os.getpid())
        fleet_meta = {"job": spec.id, "attempt": attempt, "agent": self.name, "session": self.session,
                      "broker": self.settings.url, "submitted_by": spec.submitted_by,
                      "submitted_at": spec.submitted_at, "requires": spec.requires}
        task = asyncio.create_task(self._run_job(spec, attempt, lock, fleet_meta), name=f"job {spec.id}")
        task.add_done_callback(lambda _: self.wake.set())
        self.current = CurrentJob(spec, attempt, self.session, task, record)
        self.publish_record(record)
        self.publish_status()

    async def _run_job(self, spec: JobSpec, attempt: int, lock: BenchLock, fleet_meta: dict[str, Any]) -> Outcome:
        try:
            prepared = prepare(spec, self.options.bench_file, self.options.scenarios, fleet_meta)
        except (JobRefused, ConfigError) as exc:
            lock.release()
            return Outcome(EXIT_USAGE, str(exc))
        except BaseException:
            lock.release()
            raise

        def publish(progress: dict[str, Any], result: dict[str, Any] | None) -> None:
            self.outbox.put(self.topics.progress(self.name), {"job": spec.id, "attempt": attempt, **progress})
            if result is not None:
                self.outbox.put(self.topics.results(self.name), {"job": spec.id, "attempt": attempt, **result},
                                retain=False)

        def on_run_dir(path: Path) -> None:
            job = self.current
            if job is not None and job.spec.id == spec.id:
                job.record = Record(job.record.bench, job.record.job, RUNNING, attempt, job.record.session,
                                    job.record.at, job.record.on_death,
                                    {**job.record.data, "run_dir": str(path.resolve())})
                self.publish_record(job.record)

        return await execute(prepared, self.options.runs, lock, self.console, publish, on_run_dir)

    def _finish_current(self) -> None:
        job = self.current
        assert job is not None and job.task.done()
        self.current = None
        try:
            outcome = job.task.result()
        except asyncio.CancelledError:
            outcome = Outcome(EXIT_USAGE, "the run was cancelled")
        except Exception as exc:  # execute() reports its own failures; this is a bug in the agent
            log.exception("job %s", job.spec.id)
            outcome = Outcome(EXIT_BENCH, f"agent error: {type(exc).__name__}: {exc}")
        summary = outcome.summary()
        self.publish_record(Record(self.name, job.spec.id, DONE, job.attempt, job.session, time.time(),
                                   self.options.on_death, {**job.record.data, **summary}))
        self.publish_status()
        counts = ", ".join(f"{n} {v}" for v, n in sorted(summary["counts"].items())) or "no results"
        self.console.print(escape(f"{time.strftime('%H:%M:%S')} {self.name}: job {job.spec.id} done, exit "
                                  f"{outcome.exit_status} ({counts})"
                                  + (f": {outcome.reason}" if outcome.reason else "")
                                  + (f"; reports in {outcome.run_dir}" if outcome.run_dir else "")), highlight=False)

    async def _abandon(self, why: str) -> None:
        """Stop the current run (the bench goes to its safe state, reports cover what ran). The fleet settles the
        job as for a dead bench; with --on-death report we say so ourselves, for the record."""
        job = self.current
        if job is None:
            return
        self.current = None
        job.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await job.task
        self.console.print(escape(f"{time.strftime('%H:%M:%S')} {self.name}: job {job.spec.id} stopped: {why}"),
                           highlight=False)
        if self.options.on_death == "report" and job.session == self.session:
            self.publish_record(Record(self.name, job.spec.id, LOST, job.attempt, job.session, time.time(),
                                       "report", {**job.record.data, "reason": why}))

    def _settle_old_sessions(self, ledger: Ledger) -> None:
        """Jobs an earlier session of this bench was running when it died: with on-death report, record them as
        lost (the ledger already shows them so); requeued ones need nothing, the next claim settles them."""
        for (bench, job_id), record in list(ledger.records.items()):
            if bench != self.name or record.session == self.session or record.status != RUNNING:
                continue
            state = ledger.state(job_id)
            if state.state == LOST and state.holder == record:
                self.publish_record(Record(self.name, job_id, LOST, record.attempt, self.session, time.time(),
                                           record.on_death, {**record.data, "reason": state.note}))
                self.console.print(escape(f"job {job_id}: {state.note}; recorded as lost"), highlight=False)

    def _forget_records(self, ledger: Ledger) -> None:
        """Our records of jobs whose spec was deleted (`benchctl fleet --forget`) go too."""
        orphans = set(ledger.orphan_records(self.name))
        if self.current is not None:
            orphans.discard(self.current.spec.id)
        for job_id in orphans - self.clearing:
            self.outbox.put(self.topics.record(self.name, job_id), None)
        self.clearing = orphans


def _new_session() -> str:
    return secrets.token_hex(6)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
