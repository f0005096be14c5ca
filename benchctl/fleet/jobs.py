"""What travels over the broker: job specs, a bench's record of its part in a job, a bench's status.

Everything is JSON. A spec is validated where it is made (`benchctl submit`) and again where it is read (an
agent must not trust the broker's contents); a spec that fails is shown as invalid and never claimed.
"""

from __future__ import annotations

import getpass
import secrets
import socket
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from benchctl.config.schema import Field, check_value

from .topics import check_name

FORMAT = 1
ON_DEATH = ("requeue", "report")

# a bench's record of a job, in the order they happen
CLAIMED, YIELDED, RUNNING, DONE, LOST = "claimed", "yielded", "running", "done", "lost"
RECORD_STATUSES = (CLAIMED, YIELDED, RUNNING, DONE, LOST)
IDLE, BUSY, OFFLINE = "idle", "busy", "offline"


class JobError(ValueError):
    """A job spec that is not usable; the message names the job and the field."""

    def __init__(self, job: str, field_name: str, message: str) -> None:
        self.job, self.field, self.message = job, field_name, message
        super().__init__(f"job {job}: {field_name}: {message}")


def _tag_list(value: list[Any]) -> str | None:
    for tag in value:
        try:
            check_name("tag", tag)
        except ValueError as exc:
            return str(exc)
    return None


def _pics(value: dict[str, Any]) -> str | None:
    if set(value) != {"name", "text"} or not all(isinstance(value[k], str) for k in value):
        return "expected {name: <file name>, text: <the PICS file's text>}"
    return None


SPEC_FIELDS: dict[str, Field] = {
    "format": Field(int, required=True, choices=(FORMAT,)),
    "id": Field(str, required=True, check=lambda v: _message(check_name, "job id", v)),
    "cases": Field(list, default=[], items=Field(str, required=True)),
    "keyword": Field(str),
    "group": Field(str),
    "pics": Field(dict, check=_pics),
    "requires": Field(list, default=[], items=Field(str, required=True), check=_tag_list),
    "retries": Field(int, default=0, minimum=0, maximum=10),
    "sim_faults": Field(list, default=[], items=Field(str, required=True)),
    "submitted_at": Field(float, required=True, minimum=0),
    "submitted_by": Field(str, default=""),
}


def _message(check: Any, kind: str, value: Any) -> str | None:
    try:
        check(kind, value)
    except ValueError as exc:
        return str(exc)
    return None


@dataclass(frozen=True)
class JobSpec:
    id: str
    submitted_at: float
    cases: list[str] = field(default_factory=list)
    keyword: str | None = None
    group: str | None = None
    pics: dict[str, str] | None = None
    requires: list[str] = field(default_factory=list)
    retries: int = 0
    sim_faults: list[str] = field(default_factory=list)
    submitted_by: str = ""

    def as_payload(self) -> dict[str, Any]:
        return {"format": FORMAT, **asdict(self)}

    @classmethod
    def from_payload(cls, data: Any, job_id: str | None = None) -> "JobSpec":
        """Validate a spec as read from the broker (or about to be sent); JobError names the field."""
        raw_id = data.get("id") if isinstance(data, dict) else None
        label = job_id or (raw_id if isinstance(raw_id, str) else "?")
        if not isinstance(data, dict):
            raise JobError(label, "(top level)", "expected a JSON object")
        unknown = sorted(set(data) - set(SPEC_FIELDS))
        if unknown:
            raise JobError(label, unknown[0], "unknown field (a newer benchctl submitted it?)")
        values: dict[str, Any] = {}
        for name, spec in SPEC_FIELDS.items():
            def fail(message: str, name: str = name) -> JobError:
                return JobError(label, name, message)

            def item(item_spec: Field, value: Any, i: int, name: str = name) -> Any:
                return check_value(item_spec, value, lambda m: JobError(label, f"{name}[{i}]", m))

            if name not in data:
                if spec.required:
                    raise JobError(label, name, "missing")
                values[name] = list(spec.default) if isinstance(spec.default, list) else spec.default
                continue
            values[name] = check_value(spec, data[name], fail, item)
        if job_id is not None and values["id"] != job_id:
            raise JobError(label, "id", f"{values['id']!r} does not match the topic's job id {job_id!r}")
        values.pop("format")
        return cls(**values)

    def selection(self) -> str:
        """The selection in words, for tables."""
        parts = []
        if self.cases:
            parts.append(" ".join(self.cases))
        if self.keyword:
            parts.append(f"-k {self.keyword!r}")
        if self.group:
            parts.append(f"--group {self.group!r}")
        if not parts:
            parts.append(f"plan of {self.pics['name']}" if self.pics else "plan of the bench's PICS")
        elif self.pics:
            parts.append(f"(PICS {self.pics['name']})")
        if self.sim_faults:
            parts.append(f"sim faults {', '.join(self.sim_faults)}")
        return " ".join(parts)


def new_job_id(now: float | None = None) -> str:
    """Sortable by submission time, unique without coordination."""
    stamp = datetime.fromtimestamp(time.time() if now is None else now).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{secrets.token_hex(3)}"


def who() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "benchctl"
    return f"{user}@{socket.gethostname()}"


@dataclass(frozen=True)
class Record:
    """Bench `bench`'s part in job `job`: its latest word on it, kept retained on its own topic."""

    bench: str
    job: str
    status: str
    attempt: int
    session: str
    at: float = 0.0
    on_death: str = "requeue"
    data: dict[str, Any] = field(default_factory=dict)  # run_dir, host, summary, reason, ...

    @classmethod
    def parse(cls, bench: str, job: str, payload: Any) -> "Record | None":
        if not isinstance(payload, dict):
            return None
        status, attempt, session = payload.get("status"), payload.get("attempt"), payload.get("session")
        if status not in RECORD_STATUSES or not isinstance(session, str):
            return None
        if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 1:
            return None
        on_death = payload.get("on_death", "requeue")
        extra = {k: v for k, v in payload.items() if k not in ("status", "attempt", "session", "at", "on_death")}
        at = payload.get("at")
        return cls(bench, job, status, attempt, session, float(at) if isinstance(at, (int, float)) else 0.0,
                   on_death if on_death in ON_DEATH else "requeue", extra)

    def as_payload(self) -> dict[str, Any]:
        return {**self.data, "status": self.status, "attempt": self.attempt, "session": self.session,
                "at": self.at, "on_death": self.on_death}


@dataclass(frozen=True)
class BenchStatus:
    name: str
    state: str
    session: str
    tags: tuple[str, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)  # host, pid, job, attempt, since, on_death, reason

    @classmethod
    def parse(cls, name: str, payload: Any) -> "BenchStatus | None":
        if not isinstance(payload, dict):
            return None
        state, session, tags = payload.get("state"), payload.get("session"), payload.get("tags", [])
        if state not in (IDLE, BUSY, OFFLINE) or not isinstance(session, str):
            return None
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            tags = []
        extra = {k: v for k, v in payload.items() if k not in ("state", "session", "tags")}
        return cls(name, state, session, tuple(tags), extra)

    @property
    def online(self) -> bool:
        return self.state != OFFLINE
