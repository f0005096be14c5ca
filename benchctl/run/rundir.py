"""One directory per run: capture, bench action log, one result record per case, run metadata."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchctl.config.names import path_part, unsafe_name
from benchctl.record.case import CaseResult
from drivers.steplog import Step

JSONL_FILES = ("results.jsonl", "capture.jsonl", "actions.jsonl")


class RunDir:
    def __init__(self, path: Path, existing: bool = False) -> None:
        self.path = path
        if not existing:
            path.mkdir(parents=True, exist_ok=False)
        self.capture_path = path / "capture.jsonl"
        self.results_path = path / "results.jsonl"
        self.actions_path = path / "actions.jsonl"
        self.meta_path = path / "run.json"
        self._actions = self.actions_path.open("a", encoding="utf-8")

    @classmethod
    def create(cls, parent: Path, bench_name: str) -> "RunDir":
        if not path_part(bench_name):  # load_bench refuses such a name; a run must never escape --runs
            raise ValueError(unsafe_name(bench_name))
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        path = parent / f"{stamp}-{bench_name}"
        n = 1
        while path.exists():
            n += 1
            path = parent / f"{stamp}-{bench_name}-{n}"
        return cls(path)

    @classmethod
    def reopen(cls, path: Path) -> "RunDir":
        """A run directory to continue (--resume). A process killed mid-write leaves half a line at the end of a
        file; it is moved to `<file>.partial` (kept, never silently dropped) so appending starts on a new line."""
        if not (path / "run.json").is_file():
            raise FileNotFoundError(f"{path}: not a run directory (no run.json)")
        for name in JSONL_FILES:
            _cut_partial_line(path / name)
        return cls(path, existing=True)

    def read_meta(self) -> dict[str, Any]:
        return json.loads(self.meta_path.read_text(encoding="utf-8"))

    def write_meta(self, meta: dict[str, Any]) -> None:
        meta = {"written": datetime.now(timezone.utc).isoformat(), **meta}
        self.meta_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")

    def append_result(self, result: CaseResult) -> None:
        """Append and flush at once, so a killed run keeps every finished case."""
        with self.results_path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(result.as_record()) + "\n")
            f.flush()

    def log_action(self, step: Step, bench: int | None = None) -> None:
        """One driver command in actions.jsonl; `bench`: which simulated bench of a run with several did it."""
        record = step.as_record() | ({"bench": bench} if bench is not None else {})
        self._actions.write(json.dumps(record) + "\n")
        self._actions.flush()

    def close(self) -> None:
        self._actions.close()


def _cut_partial_line(path: Path) -> None:
    if not path.exists():
        return
    data = path.read_bytes()
    if not data or data.endswith(b"\n"):
        return
    keep = data.rfind(b"\n") + 1
    with path.with_name(path.name + ".partial").open("ab") as f:
        f.write(data[keep:] + b"\n")
    with path.open("r+b") as f:
        f.truncate(keep)


def read_results(path: Path) -> list[dict[str, Any]]:
    results_path = path / "results.jsonl" if path.is_dir() else path
    if not results_path.exists():
        return []
    return [json.loads(line) for line in results_path.read_text(encoding="utf-8").splitlines() if line.strip()]


def now() -> float:
    return time.time()
