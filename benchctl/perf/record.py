"""perf.json: the figures of a capture, the PICS they are compared with, and the link checks, in one record;
written beside perf.html. A run directory's report.html shows the same section once perf.json is there."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchctl.config.pics import PerformancePics

from .figures import acceptance, capture_facts, measure_figures
from .network import LinkReport

PERF_JSON, PERF_HTML = "perf.json", "perf.html"
CAPTURE = "capture.jsonl"
_REQUIRED = ("i", "mono", "dir")


class SourceError(Exception):
    """The capture cannot be read; the message names the file."""


def capture_path(source: Path) -> Path:
    """SOURCE of `benchctl perf`: a run directory (its capture.jsonl) or a capture file."""
    path = source / CAPTURE if source.is_dir() else source
    if not path.is_file():
        raise SourceError(f"{path}: no such capture file" + (" (is it a run directory?)" if source.is_dir() else ""))
    return path


def read_capture(path: Path, notes: list[str]) -> list[dict[str, Any]]:
    """The capture records; a line that is not a capture record is skipped and said in `notes`, never fatal
    (a killed run leaves half a line, a hand-made capture may hold anything)."""
    records = []
    for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            notes.append(f"{path.name} line {n}: not JSON ({exc.msg}); skipped")
            continue
        missing = [k for k in _REQUIRED if not isinstance(record, dict) or k not in record]
        if missing:
            notes.append(f"{path.name} line {n}: not a capture record (no {', '.join(missing)}); skipped")
            continue
        records.append(record)
    return records


def run_pics_file(source: Path) -> Path | None:
    """The PICS file a run was planned with (run.json), if it still exists."""
    meta = source / "run.json"
    if not source.is_dir() or not meta.is_file():
        return None
    try:
        name = json.loads(meta.read_text(encoding="utf-8")).get("pics_file")
    except (json.JSONDecodeError, OSError, AttributeError):
        return None
    return Path(name) if name and Path(name).is_file() else None


def perf_record(source: Path | None, performance: PerformancePics | None, pics_file: Path | None = None,
                link: LinkReport | None = None) -> dict[str, Any]:
    notes: list[str] = []
    records: list[dict[str, Any]] = []
    capture = None
    if source is not None:
        capture = capture_path(source)
        records = read_capture(capture, notes)
    figures = measure_figures(records, performance) if source is not None else []
    return {
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source": str(source) if source is not None else None,
        "capture": str(capture) if capture is not None else None,
        **capture_facts(records),
        "pics_file": str(pics_file) if pics_file is not None else None,
        "performance": performance.values() if performance is not None else None,
        "figures": [f.as_record() for f in figures],
        "acceptance": acceptance(figures, performance) if source is not None else
        {"rule": "8.1.3: every performance parameter of the PICS is measured", "all_measured": False,
         "not_measured": ["no capture given"], "pairs_not_measured": []},
        "link": link.as_record() if link is not None else None,
        "notes": notes,
    }


def load_perf(run_dir: Path) -> dict[str, Any] | None:
    """perf.json of a run directory, None when there is none or it cannot be read."""
    path = run_dir / PERF_JSON
    try:
        perf = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return perf if isinstance(perf, dict) and "figures" in perf and "acceptance" in perf else None
