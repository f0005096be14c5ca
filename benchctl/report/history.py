"""The runs kept under a --runs folder: listed newest first, found by name, summed up.

A folder of runs collects whatever nights leave behind: runs killed before run.json was written, a directory
someone copied in by hand, a results.jsonl cut mid-line. Listing never gives up on one of them: a run that
cannot be read is listed with what is known and a note, never skipped and never a traceback.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchctl.record.case import ERROR, FAIL, NOT_APPLICABLE, NOT_RUNNABLE, PASS
from benchctl.record.run import RESULTS, RUN_META, RunRecord, load_run

VERDICTS = (PASS, FAIL, ERROR, NOT_RUNNABLE, NOT_APPLICABLE)
INCOMPLETE, EMPTY = "INCOMPLETE", "EMPTY"  # a run stopped before every selected case had a result; none at all


class RunNotFound(LookupError):
    """A run named on the command line that is not there, or that names several."""


@dataclass
class RunSummary:
    name: str
    path: Path
    started: float | None
    bench: str
    firmware: str  # the DUT's firmwareVersion from its BootNotification (run.json dut), "" when unknown
    dut: str  # vendor and model
    counts: dict[str, int]  # verdict -> cases
    selected: int
    verdict: str  # PASS, FAIL, ERROR, INCOMPLETE, EMPTY
    faults: list[str] | None = None  # the simulator's faults; None for real hardware
    notes: list[str] = field(default_factory=list)

    @property
    def date(self) -> str:
        if self.started is None:
            return "unknown"
        return datetime.fromtimestamp(self.started, timezone.utc).strftime("%Y-%m-%d %H:%M")

    def as_record(self) -> dict[str, Any]:
        return {"name": self.name, "path": str(self.path), "started": self.started, "date": self.date,
                "bench": self.bench, "firmware": self.firmware, "dut": self.dut, "counts": self.counts,
                "selected": self.selected, "verdict": self.verdict, "faults": self.faults, "notes": self.notes}


def summarize(run: RunRecord) -> RunSummary:
    counts = Counter(r.verdict for r in run.results)
    dut = run.dut or {}
    return RunSummary(run.path.name, run.path, run.started if run.started is not None else run.last_activity,
                      run.bench, str(dut.get("firmwareVersion") or ""),
                      " ".join(str(dut[k]) for k in ("chargePointVendor", "chargePointModel") if dut.get(k)),
                      {v: counts[v] for v in VERDICTS if counts[v]} | {v: n for v, n in counts.items()
                                                                       if v not in VERDICTS},
                      len(run.selected), overall_verdict(run), run.faults, list(run.notes))


def overall_verdict(run: RunRecord) -> str:
    """FAIL when a case failed, ERROR when one could not be judged, INCOMPLETE when a selected case has no result
    (a run stopped or killed), PASS when every selected case passed; NOT_RUNNABLE and NOT_APPLICABLE cases say
    nothing against the firmware."""
    verdicts = {r.verdict for r in run.results}
    if not verdicts:
        return EMPTY
    if FAIL in verdicts:
        return FAIL
    if verdicts - {PASS, NOT_RUNNABLE, NOT_APPLICABLE}:
        return ERROR
    if set(run.selected) - {r.id for r in run.results}:
        return INCOMPLETE
    return PASS


def is_run_dir(path: Path) -> bool:
    return path.is_dir() and ((path / RUN_META).exists() or (path / RESULTS).exists())


def list_runs(runs: Path) -> list[RunSummary]:
    """Every run directory under `runs`, newest first (by start, then name); [] for a missing folder."""
    if not runs.is_dir():
        return []
    summaries = []
    for path in sorted(p for p in runs.iterdir() if is_run_dir(p)):
        try:
            summaries.append(summarize(load_run(path)))
        except OSError as exc:  # unreadable (permissions, a vanished file): listed, not skipped
            summaries.append(RunSummary(path.name, path, None, "", "", "", {}, 0, ERROR,
                                        notes=[f"cannot be read: {exc.strerror or exc}"]))
    return sorted(summaries, key=lambda s: (s.started or 0.0, s.name), reverse=True)


def find_run(ref: str, runs: Path) -> Path:
    """A run directory from a path, or a name or unique name prefix under `runs`."""
    given = Path(ref)
    if is_run_dir(given):
        return given
    names = sorted(p.name for p in runs.iterdir() if is_run_dir(p)) if runs.is_dir() else []
    if ref in names:
        return runs / ref
    matches = [n for n in names if n.startswith(ref)]
    if len(matches) == 1:
        return runs / matches[0]
    if matches:
        raise RunNotFound(f"'{ref}' names {len(matches)} runs under {runs}: {', '.join(matches[:5])}"
                          + (", ..." if len(matches) > 5 else "") + "; give more of the name")
    raise RunNotFound(f"no run '{ref}': not a run directory, nor a run name under {runs}"
                      + (f" (the latest is {names[-1]})" if names else " (it holds no runs)"))


def show_record(run: RunRecord) -> dict[str, Any]:
    """What `benchctl show` prints: the summary, then every case with its verdict and the reason."""
    summary = summarize(run)
    cases = [{"id": r.id, "title": r.title, "verdict": r.verdict, "step": r.step, "reason": r.reason,
              "duration_s": r.duration_s, "flaky": r.flaky, "warnings": [w.message for w in r.warnings]}
             for r in run.results]
    done = {r.id for r in run.results}
    return {**summary.as_record(), "charge_point_id": run.charge_point_id, "pics_file": run.pics_file,
            "finished": run.finished, "cases": cases, "not_run": [c for c in run.selected if c not in done]}
