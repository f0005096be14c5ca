"""What went over the file server: one record per file served or received, attempts that failed included.

A scenario checks an upload against these records ("the log really arrived, whole"), so a record is only
`complete` when the protocol said so: the whole Content-Length for HTTP, the end of the data connection without
an error for FTP. The records are also appended to `transfers.jsonl` next to the files, for the report.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

SERVED, RECEIVED = "served", "received"


def utc_stamp() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class TransferRecord:
    direction: str  # served (the charger downloaded) or received (the charger uploaded)
    protocol: str  # http or ftp
    path: str  # the path the charger asked for, failure-mode prefix included
    name: str  # the file name (last path segment)
    size: int  # bytes that went over the wire (received: stored)
    sha256: str  # of those bytes
    time: str  # UTC, when the transfer ended
    complete: bool  # the whole file went over and the protocol ended it cleanly
    mode: str | None = None  # the failure mode the path asked for (refused, closed, interrupted), None: normal
    error: str | None = None  # why nothing (or not everything) went over, e.g. "not found"

    def as_record(self) -> dict[str, Any]:
        return asdict(self)


class TransferLog:
    """Thread-safe: the HTTP and FTP servers append from their own threads, the case reads from the loop."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._records: list[TransferRecord] = []
        self._lock = threading.Lock()

    def add(self, record: TransferRecord) -> None:
        with self._lock:
            self._records.append(record)
            if self.path is not None:
                with self.path.open("a", encoding="utf-8") as f:
                    f.write(json.dumps(record.as_record()) + "\n")

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    def since(self, index: int = 0) -> list[TransferRecord]:
        with self._lock:
            return list(self._records[index:])
