"""One job on this bench, with the machinery of `benchctl run`: the selection (or the PICS plan), a run
directory, run_cases under the bench lock, the reports. The agent wraps it with the broker side.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from rich.console import Console

from benchctl.bench.config import BenchConfig, load_bench
from benchctl.config import ConfigError
from benchctl.record.case import PASS, CaseResult
from benchctl.run.command import EXIT_BENCH, EXIT_BUSY, EXIT_FAILED, EXIT_OK, EXIT_PROFILE, EXIT_USAGE
from benchctl.run.lock import BenchBusy, BenchLock, hold_bench
from benchctl.run.pipeline import RunOutput
from benchctl.run.profile_check import ProfileContradiction
from benchctl.run.progress import RunProgress, describe_step
from benchctl.run.rundir import RunDir, read_results
from benchctl.run.selection import SelectionError, choose_cases, run_log
from benchctl.scenario.model import Scenario, Step
from drivers.errors import DriverError, MissingExtraError

from .jobs import JobSpec

log = logging.getLogger("benchctl.fleet")


class JobRefused(Exception):
    """The job cannot run on this bench as specified (no case matches, faults without a simulator, ...)."""


@dataclass
class Prepared:
    config: BenchConfig
    scenarios: list[Scenario]
    meta: dict[str, Any]
    pics_text: str | None = None


@dataclass
class Outcome:
    """What the fleet is told at the end of a job: `exit_status` as `benchctl run` would exit."""

    exit_status: int
    reason: str = ""
    run_dir: str | None = None
    reports: dict[str, str] = field(default_factory=dict)
    results: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for r in self.results:
            counts[str(r.get("verdict"))] = counts.get(str(r.get("verdict")), 0) + 1
        return {"exit_status": self.exit_status, "reason": self.reason, "run_dir": self.run_dir,
                "reports": self.reports, "counts": counts, "total": len(self.results), "host": socket.gethostname(),
                "results": [brief(r) for r in self.results]}


def brief(result: dict[str, Any]) -> dict[str, Any]:
    return {"id": result.get("id"), "verdict": result.get("verdict"), "step": result.get("step"),
            "reason": result.get("reason") or "", "duration_s": result.get("duration_s"),
            "flaky": bool(result.get("flaky"))}


def prepare(spec: JobSpec, bench_file: Path, scenarios_dir: Path, fleet_meta: dict[str, Any]) -> Prepared:
    """The bench and cases of a job, as `benchctl run` chooses them; JobRefused or ConfigError when it cannot
    run here."""
    with tempfile.TemporaryDirectory(prefix="benchctl-job-") as tmp:
        pics_file: Path | None = None
        if spec.pics is not None:
            # the submitter's file name, so the PICS loader's errors and run.json read naturally
            pics_file = Path(tmp) / Path(spec.pics["name"]).name
            pics_file.write_text(spec.pics["text"], encoding="utf-8")
        try:
            selection = choose_cases(load_bench(bench_file), scenarios_dir, spec.cases, spec.keyword, spec.group,
                                     pics_file, spec.sim_faults, spec.retries)
        except SelectionError as exc:
            raise JobRefused(f"{exc} ({spec.selection()}) in {scenarios_dir}") from None
    selection.meta["fleet"] = fleet_meta
    return Prepared(selection.config, selection.scenarios, selection.meta, spec.pics["text"] if spec.pics else None)


class CaseEvents(RunOutput):
    """The run's case and step callbacks: the console (as `benchctl run` shows them) and the agent's publisher."""

    def __init__(self, console: Console, total: int, publish: Callable[[dict[str, Any], dict[str, Any] | None], None]
                 ) -> None:
        self.progress = RunProgress(console, total)
        self.publish = publish
        self.total = total
        self.started = time.time()
        self.n = 0
        self.case = ""
        self.step = ""
        self.finished: list[dict[str, Any]] = []

    def snapshot(self) -> dict[str, Any]:
        return {"n": self.n, "total": self.total, "case": self.case, "step": self.step, "started": self.started,
                "elapsed_s": round(time.time() - self.started, 1),
                "finished": [{"id": r["id"], "verdict": r["verdict"]} for r in self.finished]}

    def on_case(self, n: int, scenario: Scenario, result: CaseResult | None) -> None:
        self.progress.on_case(n, scenario, result)
        self.n, self.case = n, scenario.id
        if result is None:
            self.step = "000_RESET"
            self.publish(self.snapshot(), None)
            return
        record = brief(result.as_record())
        self.finished.append(record)
        self.step = ""
        self.publish(self.snapshot(), {"n": n, "total": self.total, **record})

    def on_step(self, step: Step, case: str) -> None:
        self.progress.on_step(step, case)
        self.step = describe_step(step)
        self.publish(self.snapshot(), None)


async def execute(prepared: Prepared, runs: Path, lock: BenchLock, console: Console,
                  publish: Callable[[dict[str, Any], dict[str, Any] | None], None],
                  on_run_dir: Callable[[Path], None]) -> Outcome:
    """Run the prepared job into a new run directory while holding `lock` (taken by the caller, released here),
    then write the reports. Cancelled: the bench goes to its safe state and the reports cover what ran."""
    from benchctl.run.standalone import run_cases

    run_dir: RunDir | None = None
    try:
        run_dir = RunDir.create(runs, prepared.config.name)
        if prepared.pics_text is not None:
            # the submitter's PICS stays with the run, so the run directory is complete without the submitter
            kept = run_dir.path / "pics.yaml"
            kept.write_text(prepared.pics_text, encoding="utf-8")
            prepared.meta["pics_file"] = str(kept)
            prepared.config.pics = str(kept)  # the job's temporary copy is gone by now; cases read `pics.<field>`
        on_run_dir(run_dir.path)
        events = CaseEvents(console, len(prepared.scenarios), publish)
        with run_log(run_dir.path):
            async with hold_bench(lock):
                with events.progress:
                    await run_cases(prepared.config, prepared.scenarios, run_dir, [events],
                                    extra_meta=prepared.meta, retries=int(prepared.meta["retries"]))
        results = read_results(run_dir.path)
        status = EXIT_OK if results and all(r.get("verdict") == PASS for r in results) else EXIT_FAILED
        return Outcome(status, "", str(run_dir.path.resolve()), _reports(run_dir.path), results)
    except asyncio.CancelledError:
        if run_dir is not None:
            _reports(run_dir.path)
        raise
    except (DriverError, MissingExtraError) as exc:
        return _failed(EXIT_BENCH, f"bench error: {exc}", run_dir)
    except BenchBusy as exc:
        return _failed(EXIT_BUSY, str(exc), run_dir)
    except ProfileContradiction as exc:
        return _failed(EXIT_PROFILE, str(exc), run_dir)
    except ConfigError as exc:
        return _failed(EXIT_USAGE, f"config error: {exc}", run_dir)
    except Exception as exc:  # the agent must outlive a broken run and report it, not die with the job held
        log.exception("the run failed")
        return _failed(EXIT_BENCH, f"the run failed: {type(exc).__name__}: {exc}", run_dir)
    finally:
        lock.release()


def _failed(status: int, reason: str, run_dir: RunDir | None) -> Outcome:
    if run_dir is None:
        return Outcome(status, reason)
    return Outcome(status, reason, str(run_dir.path.resolve()), _reports(run_dir.path), read_results(run_dir.path))


def _reports(path: Path) -> dict[str, str]:
    from benchctl.report import write_reports

    try:
        return {kind: str(p.resolve()) for kind, p in write_reports(path).items()}
    except Exception:  # a run cut off before run.json was written has nothing to report on
        log.exception("no reports for %s", path)
        return {}
