"""The fleet's MQTT topics, all under one configurable prefix (default `benchctl/`).

Every topic has exactly one writer, so a broker ACL can give each bench write access to its own subtree and
nothing else:

    <prefix>jobs/<job>                  job spec, retained               written by submitters
    <prefix>bench/<name>/status         retained, last will: offline     written by that bench's agent
    <prefix>bench/<name>/seen           retained heartbeat (time)        "
    <prefix>bench/<name>/jobs/<job>     retained record of that bench's
                                        part in a job: claimed, yielded,
                                        running, done, lost              "
    <prefix>bench/<name>/progress       retained live progress           "
    <prefix>bench/<name>/results        one message per finished case    "
    <prefix>sync/<client id>            a client's own echo (see broker.FleetConnection.sync)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_PREFIX = "benchctl/"

# bench names and job ids become topic levels: no wildcards, no separators, nothing a shell would mangle
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_name(kind: str, value: str) -> str:
    """`value` if it can be one topic level, else ValueError saying what is allowed."""
    if not isinstance(value, str) or not NAME.match(value):
        raise ValueError(f"{kind} {value!r} is not usable: letters, digits, '_', '.', '-' (at most 64, "
                         f"starting with a letter or digit)")
    return value


def check_prefix(prefix: str) -> str:
    """The prefix with its trailing '/'; ValueError for wildcards, a leading '/' or '$'."""
    if not isinstance(prefix, str) or not prefix.strip("/"):
        raise ValueError(f"prefix {prefix!r} must not be empty")
    if any(c in prefix for c in "+#\0") or prefix.startswith(("/", "$")) or "//" in prefix:
        raise ValueError(f"prefix {prefix!r} is not usable: no '+', '#', '//', and no leading '/' or '$'")
    return prefix if prefix.endswith("/") else prefix + "/"


@dataclass(frozen=True)
class Topics:
    prefix: str = DEFAULT_PREFIX

    def __post_init__(self) -> None:
        object.__setattr__(self, "prefix", check_prefix(self.prefix))

    # -- written by submitters ----------------------------------------------------------------------------
    def job(self, job_id: str) -> str:
        return f"{self.prefix}jobs/{job_id}"

    # -- written by the agent of bench `name` ---------------------------------------------------------------
    def status(self, name: str) -> str:
        return f"{self.prefix}bench/{name}/status"

    def seen(self, name: str) -> str:
        return f"{self.prefix}bench/{name}/seen"

    def record(self, name: str, job_id: str) -> str:
        return f"{self.prefix}bench/{name}/jobs/{job_id}"

    def progress(self, name: str) -> str:
        return f"{self.prefix}bench/{name}/progress"

    def results(self, name: str) -> str:
        return f"{self.prefix}bench/{name}/results"

    def sync(self, client_id: str) -> str:
        return f"{self.prefix}sync/{client_id}"

    # -- what every fleet client reads ----------------------------------------------------------------------
    def subscriptions(self) -> list[str]:
        return [f"{self.prefix}jobs/+", f"{self.prefix}bench/#"]

    def parse(self, topic: str) -> tuple[str, ...] | None:
        """('job', id), ('status' | 'seen' | 'progress' | 'results', name), ('record', name, id),
        ('sync', client id), or None for a topic that is not the fleet's."""
        if not topic.startswith(self.prefix):
            return None
        parts = topic[len(self.prefix):].split("/")
        if len(parts) == 2 and parts[0] == "jobs":
            return ("job", parts[1])
        if len(parts) == 2 and parts[0] == "sync":
            return ("sync", parts[1])
        if len(parts) == 3 and parts[0] == "bench" and parts[2] in ("status", "seen", "progress", "results"):
            return (parts[2], parts[1])
        if len(parts) == 4 and parts[0] == "bench" and parts[2] == "jobs":
            return ("record", parts[1], parts[3])
        return None
