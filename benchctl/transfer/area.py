"""The directory both servers work on, and how a path asks for a failure.

Layout under the root (kept in the run directory):
  firmware/<name>          images the charger may download (published by the run)
  upload/<area>/<name>     what the charger uploads (area: diagnostics, log)
A path may start with a failure mode; the rest names the file as usual:
  /refused/...      the server answers with a refusal (HTTP 403, FTP 550) instead of the transfer
  /closed/...       the server drops the connection without answering (HTTP: no response; FTP: the control
                    connection is closed when the transfer command comes)
  /interrupted/...  the transfer starts and is cut halfway (a download gets half the image, an upload is
                    dropped after half of it arrived)
A file that is not there is the fourth failure (not found: HTTP 404, FTP 550), with no prefix needed.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path

from .records import TransferLog, TransferRecord, sha256_of, utc_stamp

BEHAVIOURS = ("refused", "closed", "interrupted")
UPLOAD_AREAS = ("diagnostics", "log")


@dataclass(frozen=True)
class Resolved:
    mode: str | None  # one of BEHAVIOURS, or None
    path: Path | None  # the real file under the root; None when the path tries to leave it
    name: str  # last segment of the path


class FileArea:
    def __init__(self, root: Path, log: TransferLog | None = None) -> None:
        self.root = root
        (root / "firmware").mkdir(parents=True, exist_ok=True)
        for area in UPLOAD_AREAS:
            (root / "upload" / area).mkdir(parents=True, exist_ok=True)
        self.log = log if log is not None else TransferLog(root / "transfers.jsonl")

    def publish(self, relative: str, data: bytes) -> Path:
        """Put a file where the charger can download it (e.g. firmware/<image>)."""
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def resolve(self, url_path: str) -> Resolved:
        parts = [p for p in posixpath.normpath("/" + url_path).split("/") if p]
        if ".." in url_path.split("/"):
            return Resolved(None, None, parts[-1] if parts else "")
        mode = parts[0] if parts and parts[0] in BEHAVIOURS else None
        rest = parts[1:] if mode else parts
        return Resolved(mode, self.root.joinpath(*rest) if rest else self.root, rest[-1] if rest else "")

    def record(self, direction: str, protocol: str, url_path: str, data: bytes, complete: bool,
               mode: str | None = None, error: str | None = None) -> TransferRecord:
        name = posixpath.basename(url_path.rstrip("/"))
        record = TransferRecord(direction, protocol, url_path, name, len(data), sha256_of(data), utc_stamp(),
                                complete, mode, error)
        self.log.add(record)
        return record
