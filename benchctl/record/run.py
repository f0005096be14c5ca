"""A run directory read back as one record: run metadata, the case results, the capture and the action log.

Reading never gives up on a damaged directory. A run killed mid-write leaves a half line at the end of a
.jsonl file, and a run killed before its first case has no results at all; the report of such a run is
exactly what an engineer needs, so what cannot be read is skipped and named in `notes` instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from benchctl.csms.config_key import ConfigKey

from .case import CaseResult, number
from .plan_entry import PlanEntry

RUN_META, RESULTS, CAPTURE, ACTIONS = "run.json", "results.jsonl", "capture.jsonl", "actions.jsonl"


@dataclass
class RunRecord:
    path: Path
    meta: dict[str, Any]
    results: list[CaseResult]
    frames: list[dict[str, Any]]  # capture.jsonl records, in capture order
    actions: list[dict[str, Any]]  # actions.jsonl records, in the order they were logged
    notes: list[str] = field(default_factory=list)  # what could not be read, for the report to show
    _by_index: dict[int, dict[str, Any]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_index = {f["i"]: f for f in self.frames if isinstance(f.get("i"), int)}

    def frame(self, index: int) -> dict[str, Any] | None:
        return self._by_index.get(index)

    def frames_of(self, case_id: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f.get("case") == case_id]

    @property
    def bench(self) -> str:
        return str(self.meta.get("bench") or "")

    @property
    def charge_point_id(self) -> str:
        return str(self.meta.get("charge_point_id") or "")

    @property
    def started(self) -> float | None:
        return number(self.meta.get("started"))

    @property
    def finished(self) -> float | None:
        return number(self.meta.get("finished"))

    @property
    def selected(self) -> list[str]:
        cases = self.meta.get("cases")
        return [str(c) for c in cases] if isinstance(cases, list) else []

    @property
    def faults(self) -> list[str] | None:
        """None for real hardware; the simulator's switched-on faults (maybe none) for a simulated bench."""
        sim = self.meta.get("simulator")
        if not isinstance(sim, dict):
            return None
        faults = sim.get("faults")
        return [str(f) for f in faults] if isinstance(faults, list) else []

    @property
    def pics(self) -> dict[str, Any] | None:
        pics = self.meta.get("pics")
        return pics if isinstance(pics, dict) else None

    @property
    def pics_file(self) -> str | None:
        return _text_or_none(self.meta.get("pics_file"))

    @property
    def dut(self) -> dict[str, Any] | None:
        dut = self.meta.get("dut")
        return dut if isinstance(dut, dict) else None

    @property
    def configuration(self) -> list[ConfigKey] | None:
        keys = self.meta.get("configuration")
        if not isinstance(keys, list):
            return None
        return [ConfigKey.from_record(k) for k in keys if isinstance(k, dict)]

    @property
    def plan(self) -> list[PlanEntry] | None:
        plan = self.meta.get("plan")
        if not isinstance(plan, list):
            return None
        return [PlanEntry.from_record(p) for p in plan if isinstance(p, dict)]

    @property
    def last_activity(self) -> float | None:
        """The latest moment anything was recorded: stands in for the finish time a killed run never wrote."""
        moments = [r.ended for r in self.results if r.ended is not None]
        moments += [t for t in (iso_to_epoch(f.get("ts")) for f in self.frames[-1:]) if t is not None]
        moments += [t for t in (number(a.get("ts")) for a in self.actions) if t is not None]
        return max(moments, default=None)


def load_run(path: Path) -> RunRecord:
    notes: list[str] = []
    meta: dict[str, Any] = {}
    meta_path = path / RUN_META
    if not meta_path.exists():
        notes.append(f"{RUN_META} is missing")
    else:
        try:
            loaded = json.loads(meta_path.read_text(encoding="utf-8", errors="replace"))
        except json.JSONDecodeError as exc:
            notes.append(f"{RUN_META} is not valid JSON ({exc.msg} at line {exc.lineno}); run metadata unknown")
        else:
            if isinstance(loaded, dict):
                meta = loaded
            else:
                notes.append(f"{RUN_META} is not a JSON object; run metadata unknown")
    results = [CaseResult.from_record(r) for r in read_jsonl(path / RESULTS, notes)]
    return RunRecord(path, meta, results, read_jsonl(path / CAPTURE, notes), read_jsonl(path / ACTIONS, notes),
                     notes)


def read_jsonl(path: Path, notes: list[str]) -> list[dict[str, Any]]:
    """Every object line of a .jsonl file; a missing file is an empty one, an unreadable line is noted."""
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    records: list[dict[str, Any]] = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            last = all(not rest.strip() for rest in lines[n:])
            notes.append(f"{path.name} line {n}: "
                         + ("truncated (the run was cut off while writing it); ignored" if last
                            else "not valid JSON; ignored"))
            continue
        if isinstance(record, dict):
            records.append(record)
        else:
            notes.append(f"{path.name} line {n}: not a JSON object; ignored")
    return records


def iso_to_epoch(ts: Any) -> float | None:
    """Capture timestamps are ISO 8601 while action timestamps are epoch seconds; both go on one clock."""
    if not isinstance(ts, str):
        return None
    try:
        moment = datetime.fromisoformat(ts)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None  # a naive time could be any zone; placing it would be a guess
    return moment.timestamp()



def _text_or_none(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)
