"""Who an agent is on the fleet and what it says about itself: its options, its session, the job it runs, and
the status and job records it publishes (all through its outbox, benchctl.fleet.outbox)."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .execute import Outcome
from .jobs import BUSY, IDLE, OFFLINE, JobSpec, Record
from .outbox import Outbox
from .topics import Topics


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


class Presence:
    """The agent's state as the fleet sees it. A new session starts when the fleet took the old one for dead."""

    def __init__(self, name: str, tags: list[str], options: AgentOptions, topics: Topics) -> None:
        self.name = name
        self.tags = tags
        self.options = options
        self.topics = topics
        self.session = new_session()
        self.session_seen = False  # our status of this session came back from the broker
        self.outbox = Outbox()
        self.current: CurrentJob | None = None
        self.lock_note = ""  # why the bench is not taking jobs (its lock is held by someone else)

    def renew_session(self) -> None:
        self.session = new_session()
        self.session_seen = False

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

    def record(self, job: str, status: str, attempt: int, **data: Any) -> Record:
        return Record(self.name, job, status, attempt, self.session, time.time(), self.options.on_death, data)


def new_session() -> str:
    return secrets.token_hex(6)
