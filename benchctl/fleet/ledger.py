"""A client's mirror of the fleet (specs, statuses, records) and what follows from it: each job's state, and
who won a claim. No I/O here; benchctl.fleet (the package docstring) explains the protocol this implements.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from .jobs import CLAIMED, DONE, LOST, OFFLINE, RUNNING, BenchStatus, JobError, JobSpec, Record
from .topics import Topics

log = logging.getLogger("benchctl.fleet")

# derived job states
QUEUED, CLAIMING, INVALID = "queued", "claiming", "invalid"


@dataclass(frozen=True)
class Arrival:
    """A claim as this client saw it arrive: `retained` ones were on the broker before we subscribed, so their
    order among themselves is unknown; live ones arrive in the broker's order."""

    bench: str
    session: str
    retained: bool


@dataclass
class JobState:
    job: str
    spec: JobSpec | None
    state: str  # queued, claiming, running, done, lost, invalid
    attempt: int  # the attempt a claim must name (queued), or the attempt under way / that ended the job
    holder: Record | None = None  # running / done / lost: the record that says so
    note: str = ""  # why: requeued after a death, invalid spec, ...
    candidates: list[tuple[str, str]] = field(default_factory=list)  # claiming: possible winners (bench, session)


class Ledger:
    def __init__(self, topics: Topics) -> None:
        self.topics = topics
        self.specs: dict[str, JobSpec] = {}
        self.invalid: dict[str, str] = {}  # job id -> why its spec is unusable
        self.statuses: dict[str, BenchStatus] = {}
        self.seen: dict[str, float] = {}  # bench -> last heartbeat time
        self.progress: dict[str, dict[str, Any]] = {}
        self.records: dict[tuple[str, str], Record] = {}  # (bench, job)
        self.arrivals: dict[tuple[str, int], list[Arrival]] = {}  # (job, attempt) -> claims in arrival order

    # -- mirroring ------------------------------------------------------------------------------------------

    def feed(self, topic: str, raw: bytes, retained: bool) -> Any:
        """Take one message in; returns its decoded payload (None for a deleted retained message)."""
        where = self.topics.parse(topic)
        if where is None:
            return None
        payload: Any = None
        if raw:
            try:
                payload = json.loads(raw)
            except ValueError:
                log.warning("ignoring %s: not JSON", topic)
                return None
        kind = where[0]
        if kind == "job":
            self._feed_spec(where[1], payload)
        elif kind == "status":
            status = BenchStatus.parse(where[1], payload)
            if status is None:
                self.statuses.pop(where[1], None)
            else:
                self.statuses[where[1]] = status
        elif kind == "seen":
            if isinstance(payload, (int, float)) and not isinstance(payload, bool):
                self.seen[where[1]] = float(payload)
            elif payload is None:
                self.seen.pop(where[1], None)
        elif kind == "progress":
            if isinstance(payload, dict):
                self.progress[where[1]] = payload
            else:
                self.progress.pop(where[1], None)
        elif kind == "record":
            self._feed_record(where[1], where[2], payload, retained)
        return payload

    def _feed_spec(self, job: str, payload: Any) -> None:
        self.specs.pop(job, None)
        self.invalid.pop(job, None)
        if payload is None:
            return
        try:
            self.specs[job] = JobSpec.from_payload(payload, job)
        except JobError as exc:
            self.invalid[job] = str(exc)

    def _feed_record(self, bench: str, job: str, payload: Any, retained: bool) -> None:
        record = Record.parse(bench, job, payload) if payload is not None else None
        if record is None:
            self.records.pop((bench, job), None)
            return
        self.records[(bench, job)] = record
        if record.status == CLAIMED:
            order = self.arrivals.setdefault((job, record.attempt), [])
            if not any(a.bench == bench and a.session == record.session for a in order):
                order.append(Arrival(bench, record.session, retained))

    # -- what follows ---------------------------------------------------------------------------------------

    def alive(self, bench: str, session: str) -> bool:
        """A session is alive while its bench's status names it and is not offline. Once dead it stays dead:
        a session never comes back (a restarted agent is a new session)."""
        status = self.statuses.get(bench)
        return status is not None and status.session == session and status.state != OFFLINE

    def job_records(self, job: str) -> list[Record]:
        return [r for (_, j), r in self.records.items() if j == job]

    def job_ids(self) -> list[str]:
        """Every job on the queue (valid spec or not), oldest submission first. Records of a job whose spec was
        deleted (`benchctl fleet --forget`) are leftovers their benches delete when they see it."""
        ids = set(self.specs) | set(self.invalid)

        def key(job: str) -> tuple[float, str]:
            spec = self.specs.get(job)
            return (spec.submitted_at if spec else float("inf"), job)

        return sorted(ids, key=key)

    def state(self, job: str) -> JobState:
        spec = self.specs.get(job)
        if job in self.invalid:
            return JobState(job, None, INVALID, 0, note=self.invalid[job])
        records = self.job_records(job)
        done = sorted((r for r in records if r.status == DONE), key=lambda r: r.at)
        if done:
            return JobState(job, spec, DONE, done[0].attempt, done[0])
        lost = sorted((r for r in records if r.status == LOST), key=lambda r: r.attempt)
        if lost:
            return JobState(job, spec, LOST, lost[-1].attempt, lost[-1], note=str(lost[-1].data.get("reason", "")))
        if not records:
            return JobState(job, spec, QUEUED, 1)
        attempt = max(r.attempt for r in records)
        current = [r for r in records if r.attempt == attempt]
        running = [r for r in current if r.status == RUNNING]
        if running:
            holder = next((r for r in running if self.alive(r.bench, r.session)), running[0])
            if self.alive(holder.bench, holder.session):
                return JobState(job, spec, RUNNING, attempt, holder)
            death = self._death(holder)
            if holder.on_death == "report":
                return JobState(job, spec, LOST, attempt, holder, note=f"bench {holder.bench} {death} during the run")
            return JobState(job, spec, QUEUED, attempt + 1,
                            note=f"requeued: bench {holder.bench} {death} during attempt {attempt}")
        candidates = self.candidates(job, attempt)
        if any(self.alive(b, s) for b, s in candidates):
            return JobState(job, spec, CLAIMING, attempt, candidates=candidates)
        note = "requeued: the bench that claimed it went away before starting" if candidates else ""
        return JobState(job, spec, QUEUED, attempt + 1, note=note)

    def requeue_note(self, job: str, attempt: int) -> str:
        """Why attempt `attempt` (> 1) of `job` was opened, as its queued state said: for a watcher that saw the
        job only once the attempt had been claimed (it was cut off from the broker meanwhile). The claimer's
        records carry it; the previous attempt's own record is gone once its bench claims again."""
        for record in self.job_records(job):
            if record.attempt == attempt and record.data.get("requeued"):
                return str(record.data["requeued"])
        return ""

    def _death(self, record: Record) -> str:
        status = self.statuses.get(record.bench)
        if status is None:
            return "disappeared"
        if status.session != record.session:
            return "restarted"
        reason = status.data.get("reason")
        return f"went offline: {reason}," if reason else "went offline"

    def candidates(self, job: str, attempt: int) -> list[tuple[str, str]]:
        """Who may have won attempt `attempt` of `job`: the first claim if we saw every claim arrive, else (some
        were on the broker before we subscribed, in an order we cannot know) every claim still standing."""
        order = self.arrivals.get((job, attempt), [])
        if order and not any(a.retained for a in order):
            return [(order[0].bench, order[0].session)]
        return [(r.bench, r.session) for r in self.job_records(job) if r.attempt == attempt and r.status == CLAIMED]

    def orphan_records(self, bench: str) -> list[str]:
        """Jobs `bench` has a record of but the queue no longer has a spec for."""
        return sorted(j for (b, j) in self.records if b == bench and j not in self.specs and j not in self.invalid)

    def arbitration(self, job: str, attempt: int, bench: str, session: str) -> bool | None:
        """Did our claim (bench, session) win attempt `attempt`? None until our own claim has come back.

        We subscribed before claiming, so every claim the broker handled before ours reached us before our echo:
        retained if it was there before we subscribed, live otherwise. We win only when ours is the first and
        none was waiting on the broker; every other claimant sees the same first claim, so exactly one wins.
        """
        order = self.arrivals.get((job, attempt), [])
        mine = next((i for i, a in enumerate(order) if a.bench == bench and a.session == session), None)
        if mine is None:
            return None
        if any(r.bench != bench and r.attempt >= attempt and r.status in (RUNNING, DONE, LOST)
               for r in self.job_records(job)):
            return False
        return mine == 0 and not order[0].retained

    def claimable(self, tags: set[str]) -> list[JobState]:
        """Queued jobs whose requirements `tags` meet, oldest first."""
        out = []
        for job in self.job_ids():
            state = self.state(job)
            if state.state == QUEUED and state.spec is not None and set(state.spec.requires) <= tags:
                out.append(state)
        return out

    def benches_meeting(self, requires: list[str]) -> list[str]:
        return sorted(name for name, s in self.statuses.items() if s.online and set(requires) <= set(s.tags))
