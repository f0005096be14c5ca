"""`benchctl submit`: put a run job on the queue; with --wait, follow it to its end and exit with its status."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from benchctl.paths import SCENARIOS
from benchctl.run.command import EXIT_OK, EXIT_USAGE
from benchctl.run.progress import VERDICT_STYLE
from benchctl.run.selection import select
from benchctl.terminal import print_table

from .broker import EXIT_BROKER, BrokerError, BrokerRefused, BrokerSettings, FleetConnection, new_client_id
from .jobs import JobError, JobSpec, new_job_id, who
from .ledger import CLAIMING, DONE, INVALID, LOST, QUEUED, RUNNING, JobState

EXIT_LOST = 5  # the job's bench died during the run and on-death was `report`
EXIT_TIMEOUT = 124  # as timeout(1): --timeout passed before the job ended


def make_spec(cases: list[str], keyword: str | None, group: str | None, pics: Path | None, requires: list[str],
              retries: int, sim_faults: list[str], scenarios: Path | None = SCENARIOS) -> JobSpec:
    """A validated job. The PICS file travels inside the job (the bench need not have it); it and the selection
    are checked here against this checkout's scenarios, so a typo fails at submit time, not at night."""
    pics_payload = None
    if pics is not None:
        from benchctl.config.pics import load_pics

        load_pics(pics)  # ConfigError with file, line and field
        pics_payload = {"name": pics.name, "text": pics.read_text(encoding="utf-8")}
    now = time.time()
    spec = JobSpec.from_payload(JobSpec(new_job_id(now), now, list(cases), keyword, group, pics_payload,
                                        sorted(set(requires)), retries, list(sim_faults), who()).as_payload())
    if sim_faults:
        from hil_sim.faults import unknown_faults

        bad = unknown_faults(sim_faults)
        if bad:
            raise JobError(spec.id, "sim_faults", f"unknown fault(s) {', '.join(bad)}; see `benchctl faults`")
    if scenarios is not None and scenarios.is_dir() and (cases or keyword or group):
        from benchctl.scenario.model import load_scenarios

        if not select(load_scenarios(scenarios), cases, keyword, group):
            raise JobError(spec.id, "cases", f"no case of {scenarios} matches the selection ({spec.selection()})")
    return spec


async def submit(settings: BrokerSettings, spec: JobSpec, console: Console, wait: bool,
                 timeout_s: float | None = None) -> int:
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    follower = Follower(spec, console)
    published = False
    try:
        async with FleetConnection(settings, new_client_id("submit")) as conn:
            await conn.publish(settings.topics.job(spec.id), spec.as_payload(), retain=True)
            published = True
            console.print(escape(f"queued job {spec.id}: {spec.selection()}"
                                 + (f", needs {', '.join(spec.requires)}" if spec.requires else "")), highlight=False)
            if not conn.ledger.benches_meeting(spec.requires):
                needs = f" with {', '.join(spec.requires)}" if spec.requires else ""
                console.print(f"[yellow]no bench{escape(needs)} is online: the job stays queued until one is[/]")
            if not wait:
                return EXIT_OK
            return await follower.follow(conn, deadline)
    except BrokerRefused as exc:
        console.print(f"[red]{escape(str(exc))}[/]")
        return EXIT_BROKER
    except BrokerError as exc:
        if not (wait and published):
            console.print(f"[red]{escape(str(exc))}[/]")
            return EXIT_BROKER
        console.print(f"[yellow]{escape(str(exc))}; following job {escape(spec.id)} again once the broker is back[/]")
    return await _follow_again(settings, follower, deadline)


async def _follow_again(settings: BrokerSettings, follower: "Follower", deadline: float | None) -> int:
    """--wait outlives the broker going away: reconnect, and put the spec back if the broker lost it."""
    spec, console = follower.spec, follower.console
    backoff = 1.0
    while deadline is None or time.monotonic() < deadline:
        await asyncio.sleep(backoff)
        try:
            async with FleetConnection(settings, new_client_id("submit")) as conn:
                backoff = 1.0
                if spec.id not in conn.ledger.specs and spec.id not in conn.ledger.invalid:
                    await conn.publish(settings.topics.job(spec.id), spec.as_payload(), retain=True)
                    console.print(escape(f"the broker had lost job {spec.id}; queued it again"), highlight=False)
                return await follower.follow(conn, deadline)
        except BrokerRefused as exc:
            console.print(f"[red]{escape(str(exc))}[/]")
            return EXIT_BROKER
        except BrokerError as exc:
            console.print(f"[yellow]{escape(str(exc))}[/]")
            backoff = min(backoff * 2, 30.0)
    console.print(f"[yellow]job {escape(spec.id)} has not ended within --timeout[/]")
    return EXIT_TIMEOUT


class Follower:
    """Prints a job's way through the fleet, from the mirror and the benches' result messages."""

    def __init__(self, spec: JobSpec, console: Console) -> None:
        self.spec = spec
        self.console = console
        self.said: set[tuple[Any, ...]] = set()

    def say(self, key: tuple[Any, ...], text: str) -> None:
        if key not in self.said:
            self.said.add(key)
            self.console.print(f"{escape(time.strftime('%H:%M:%S'))} {text}", highlight=False)

    def on_message(self, topic: str, payload: Any, retained: bool) -> None:
        if retained or not isinstance(payload, dict) or payload.get("job") != self.spec.id:
            return
        if not topic.endswith("/results"):
            return
        verdict = str(payload.get("verdict"))
        style = VERDICT_STYLE.get(verdict, "")
        step = f" step {payload['step']}" if payload.get("step") is not None else ""
        reason = f" {payload['reason']}" if payload.get("reason") else ""
        position = f"[{payload.get('n')}/{payload.get('total')}]"
        self.say(("result", payload.get("attempt"), payload.get("id")),
                 f"{escape(position)} {escape(str(payload.get('id')))} "
                 f"[{style}]{escape(verdict)}[/]{escape(step)} ({float(payload.get('duration_s') or 0):.1f} s)"
                 f"{escape(reason)}")

    async def follow(self, conn: FleetConnection, deadline: float | None) -> int:
        conn.hooks.append(self.on_message)
        while True:
            state = conn.ledger.state(self.spec.id)
            ended = self.show(state, conn)
            if ended is not None:
                return ended
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                self.console.print(f"[yellow]job {escape(self.spec.id)} is still {escape(state.state)} after "
                                   f"--timeout; it stays on the queue[/]")
                return EXIT_TIMEOUT
            await conn.wait_change(conn.version, 1.0 if left is None else min(1.0, left))

    def show(self, state: JobState, conn: FleetConnection) -> int | None:
        """Print what is new about the job; its exit status once it has ended."""
        job = self.spec.id
        if state.state in (CLAIMING, RUNNING, DONE) and state.attempt > 1 and ("queued", state.attempt) not in self.said:
            # the queued state of this attempt came and went while this watcher was cut off: said after the fact
            note = conn.ledger.requeue_note(job, state.attempt)
            self.say(("queued", state.attempt), escape(f"job {job}: queued, attempt {state.attempt}"
                                                       + (f" ({note})" if note else "")))
        if state.state == QUEUED:
            note = f" ({state.note})" if state.note else ""
            self.say(("queued", state.attempt), escape(f"job {job}: queued, attempt {state.attempt}{note}"))
        elif state.state == CLAIMING:
            self.say(("claiming", state.attempt), escape(f"job {job}: being claimed"))
        elif state.state == RUNNING and state.holder is not None:
            where = state.holder.data.get("run_dir")
            self.say(("running", state.attempt, where),
                     escape(f"job {job}: running on {state.holder.bench} (attempt {state.attempt})"
                            + (f", run directory {where} on {state.holder.data.get('host')}" if where else "")))
            progress = conn.ledger.progress.get(state.holder.bench) or {}
            if progress.get("job") == job and progress.get("attempt") == state.attempt and progress.get("case"):
                self.say(("case", state.attempt, progress.get("n")),
                         escape(f"[{progress.get('n')}/{progress.get('total')}] {progress.get('case')} ..."))
        elif state.state == DONE and state.holder is not None:
            return self.summary(state)
        elif state.state == LOST:
            self.console.print(f"[red]job {escape(job)} lost: {escape(state.note or 'its bench died')}[/]")
            if state.holder is not None and state.holder.data.get("run_dir"):
                self.console.print(escape(f"partial run directory: {state.holder.data['run_dir']} on "
                                          f"{state.holder.data.get('host')}"), highlight=False)
            return EXIT_LOST
        elif state.state == INVALID:
            self.console.print(f"[red]{escape(state.note)}[/]")
            return EXIT_USAGE
        return None

    def summary(self, state: JobState) -> int:
        assert state.holder is not None
        data = state.holder.data
        results = data.get("results") or []
        table = Table(title=escape(f"job {self.spec.id} on {state.holder.bench}"))
        for column in ("case", "verdict", "step", "duration", "reason"):
            table.add_column(column)
        for r in results:
            style = VERDICT_STYLE.get(str(r.get("verdict")), "")
            table.add_row(escape(str(r.get("id"))), f"[{style}]{escape(str(r.get('verdict')))}[/]"
                          + (" (flaky)" if r.get("flaky") else ""),
                          "" if r.get("step") is None else str(r["step"]),
                          f"{float(r.get('duration_s') or 0):.1f} s", escape(str(r.get("reason") or "")))
        if results:
            print_table(self.console, table)
        counts = data.get("counts") or {}
        passed = int(counts.get("PASS", 0))
        self.console.print(f"{passed} passed, {len(results) - passed} not passed, of {len(results)}")
        if data.get("reason"):
            self.console.print(f"[red]{escape(str(data['reason']))}[/]")
        reports = data.get("reports") or {}
        if reports:
            self.console.print(escape(f"reports on {data.get('host')}: " + ", ".join(reports.values())),
                               highlight=False)
        if data.get("run_dir"):
            self.console.print(escape(f"run directory: {data['run_dir']}"), highlight=False)
        status = data.get("exit_status")
        return int(status) if isinstance(status, int) and not isinstance(status, bool) else 1
