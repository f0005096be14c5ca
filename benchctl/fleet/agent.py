"""`benchctl agent`: one per bench. Publishes the bench's status, takes jobs from the queue one at a time and
runs them (benchctl.fleet.job_runner), publishing progress, each case result and the final summary.

The protocol is in the package docstring (benchctl.fleet). This module holds the agent's life on the broker:

- Its MQTT client id is fixed per bench name (`benchctl-agent-<name>`). Reconnecting with it makes the broker
  drop any half-open connection of ours at once (publishing its will then), instead of a keepalive later,
  so the agent learns whether the fleet took it for dead before it goes on.
- Everything it publishes goes through one ordered outbox that outlives connections (benchctl.fleet.outbox),
  so a run goes on while the broker is away, for as long as the fleet would not take the bench for dead.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import time

from rich.console import Console
from rich.markup import escape

from benchctl.bench.config import load_bench
from benchctl.run.command import EXIT_BUSY, EXIT_OK

from .broker import EXIT_BROKER, BrokerError, BrokerRefused, BrokerSettings, FleetConnection, new_client_id
from .job_runner import JobRunner
from .jobs import OFFLINE
from .ledger import Ledger
from .presence import AgentOptions, Presence
from .topics import check_name

LOCK_RETRY_S = 5.0


class SessionDead(Exception):
    """The fleet took this session for dead (its will was published) or another agent took the bench name."""

    def __init__(self, message: str, name_taken: bool = False) -> None:
        super().__init__(message)
        self.name_taken = name_taken


class Agent:
    def __init__(self, options: AgentOptions, settings: BrokerSettings, console: Console) -> None:
        self.options = options
        self.settings = settings
        self.topics = settings.topics
        self.console = console
        config = load_bench(options.bench_file)
        name = check_name("bench name", options.name or config.name)
        tags = sorted({check_name("tag", t) for t in options.tags})
        self.name = name
        self.me = Presence(name, tags, options, self.topics)
        self.wake = asyncio.Event()
        self.stopping = asyncio.Event()
        self.jobs = JobRunner(self.me, config.name, settings.url, console, self.wake)
        self.client_id = f"benchctl-agent-{name}"

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop)
        sender = asyncio.create_task(self.me.outbox.run(), name="fleet outbox")
        try:
            refusal = await self._check_name()
            if refusal is not None:
                self.console.print(f"[red]{escape(refusal)}[/]")
                return EXIT_BUSY
            self.console.print(escape(f"agent {self.name} (bench {self.options.bench_file}, tags "
                                      f"{', '.join(self.me.tags) or 'none'}, on death: {self.options.on_death}) "
                                      f"on {self.settings.url}, topics under {self.topics.prefix}"), highlight=False)
            return await self._connected_life()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
            if self.me.current is not None:
                await self.jobs.abandon("the agent stopped")
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
            if lost_since is not None and self.me.current is not None and time.monotonic() - lost_since > lease:
                # the broker publishes our will 1.5 keepalives after it last heard from us and the job moves on;
                # a run we kept going past that would be the job running twice
                await self.jobs.abandon(f"out of touch with the broker for more than {lease:.0f} s (its "
                                        f"keepalive): the fleet takes this bench for dead")
                self.me.renew_session()
            try:
                async with FleetConnection(self.settings, self.client_id, will=self.me.will(),
                                           on_change=self.wake.set) as conn:
                    backoff = 1.0
                    lost_since = None
                    try:
                        await self._serve(conn)
                    finally:
                        self.me.outbox.detach()
                    return EXIT_OK
            except SessionDead as exc:
                self.console.print(f"[yellow]{escape(str(exc))}[/]")
                if self.me.current is not None:
                    await self.jobs.abandon(str(exc))
                if exc.name_taken:
                    return EXIT_BUSY
                self.me.renew_session()
            except BrokerRefused as exc:
                self.console.print(f"[red]{escape(str(exc))}[/]")
                return EXIT_BROKER
            except BrokerError as exc:
                if lost_since is None:
                    lost_since = time.monotonic()
                wait = backoff
                job = ""
                if self.me.current is not None:
                    left = max(0.0, lease - (time.monotonic() - lost_since))
                    job = f"; job {self.me.current.spec.id} goes on for {left:.0f} s more without the broker"
                    wait = min(backoff, left + 0.1)
                self.console.print(f"[yellow]{escape(str(exc))}{escape(job)}; reconnecting in {wait:.0f} s[/]")
                if await self._sleep(wait):
                    break
                backoff = min(backoff * 2, 30.0)
        return EXIT_OK

    def _check_session(self, ledger: Ledger) -> None:
        """SessionDead when the broker says our session is over."""
        me = self.me
        status = ledger.statuses.get(self.name)
        if status is None:
            return  # the broker lost its retained messages; we publish ours again
        if status.session == me.session:
            if status.state == OFFLINE:
                raise SessionDead(f"the broker published this agent's last will (session {me.session}): the "
                                  f"fleet took it for dead, so its job is not its own any more")
            me.session_seen = True
        elif status.online and me.session_seen:
            # before our own status came back, another session's is the one we are taking over
            raise SessionDead(f"another agent took the bench name {self.name!r} (pid {status.data.get('pid')} on "
                              f"{status.data.get('host')})", name_taken=True)

    async def _serve(self, conn: FleetConnection) -> None:
        me = self.me
        self._check_session(conn.ledger)
        me.outbox.attach(conn)
        me.publish_status()
        if me.current is not None:
            me.publish_record(me.current.record)
        self.jobs.settle_old_sessions(conn.ledger)
        heartbeat = asyncio.create_task(self._heartbeat(), name="fleet heartbeat")
        announced = False
        try:
            while True:
                self.wake.clear()
                if self.stopping.is_set():
                    await self._leave(conn)
                    return
                self._check_session(conn.ledger)
                if me.current is not None and me.current.task.done():
                    self.jobs.finish_current()
                self.jobs.forget_records(conn.ledger)
                if me.current is None:
                    if not announced:
                        self.console.print(escape(f"{time.strftime('%H:%M:%S')} {self.name}: waiting for jobs"),
                                           highlight=False)
                        announced = True
                    if await self.jobs.take_next(conn):
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
            self.me.outbox.put(self.topics.seen(self.name), time.time())
            await asyncio.sleep(self.options.heartbeat_s)

    async def _leave(self, conn: FleetConnection) -> None:
        """A stop asked for (SIGTERM, Ctrl-C): end the run as the fleet would end it for a dead bench."""
        if self.me.current is not None:
            await self.jobs.abandon("the agent was stopped")
        self.me.publish_status(OFFLINE, "stopped")
        await self.me.outbox.drain()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
