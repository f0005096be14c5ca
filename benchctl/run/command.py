"""`benchctl run`: choose the cases, take the bench, run them unattended, write the reports.

An overnight run must survive what a night brings: another run wanting the same bench (the lock), a case
that hangs (its time budget, in the runner), a flaky finding Appendix D lets us retest (--retries), and the
process itself being killed (every finished case is on disk; --resume continues with the rest).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from benchctl.bench.config import BenchConfig, load_bench
from benchctl.paths import DEFAULT_BENCH, SCENARIOS
from benchctl.scenario.model import Scenario, load_scenarios

from .lock import BenchBusy, BenchLock, hold_bench
from .progress import VERDICT_STYLE, RunProgress
from .results import PASS, CaseResult
from .rundir import RunDir, read_results

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BENCH = 0, 1, 2, 3
EXIT_BUSY = 4
EXIT_TERMINATED = 128 + 15  # as a shell reports a process ended by SIGTERM

RUN_EPILOG = """\
examples:
  benchctl run                          the plan of the bench's PICS against the simulated bench
  benchctl run --list                   show the cases that would run, and stop
  benchctl run --pics pics/socket.yaml  the plan of another PICS
  benchctl run --group "Cache"          the cases of a group of the test case document
  benchctl run 003 TC_010_CS            two cases by id
  benchctl run -k "charging session"    cases whose id or title contains the words
  benchctl run --bench bench_configs/lab.yaml --retries 1
  benchctl run --resume runs/20261124-220000-lab   continue a run that was killed
  benchctl run --sim-fault skip_preparing 003   a faulty simulated charger: TC_003_CS must FAIL

Without case ids, -k or --group, the cases are the plan: those Appendix C puts in for the PICS (--pics, or
the bench's dut.pics); without a PICS, every scenario. `benchctl plan` shows the plan with its reasons.
Each run writes a directory (runs/<time>-<bench>/) with capture.jsonl (every OCPP frame),
actions.jsonl (every bench action), results.jsonl (one record per case, written as each case ends),
benchctl.log, run.json and the reports: report.xml (JUnit), report.json and report.html.
A run holds the bench's lock (BENCHCTL_LOCK_DIR, default ~/.local/state/benchctl/locks) while it runs.
Exit status: 0 when every selected case passes, 1 otherwise, 2 for a usage or config error,
3 when the bench could not be brought up (a device that does not answer, a missing hardware library),
4 when the bench is in use by another run, 143 when stopped by SIGTERM."""


def add_run_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    run = sub.add_parser("run", help="run test cases against a bench", description="Run test cases against a "
                         "bench and write a run directory.", epilog=RUN_EPILOG,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("cases", nargs="*", metavar="CASE",
                     help="case ids to run (TC_003_CS, 003, 3); default: every scenario")
    run.add_argument("--bench", type=Path, default=DEFAULT_BENCH, help="bench config (default: %(default)s)")
    run.add_argument("--scenarios", type=Path, default=SCENARIOS, help="scenario folder (default: %(default)s)")
    run.add_argument("-k", dest="keyword", help="only cases whose id or title contains this text")
    run.add_argument("--group", help="only cases of this group of the test case document (e.g. Cache)")
    run.add_argument("--pics", type=Path, help="the DUT's PICS file: its plan decides the cases "
                                              "(default: the bench's dut.pics)")
    run.add_argument("--list", action="store_true", help="list the cases that would run and exit")
    run.add_argument("--runs", type=Path, default=Path("runs"), help="where run directories go (default: ./runs)")
    run.add_argument("--retries", type=int, default=0, metavar="N",
                     help="retest a case up to N times when Appendix D allows it (a FAIL found only by the "
                          "StatusNotification rules, or a bench error); default: %(default)s")
    run.add_argument("--resume", type=Path, metavar="RUN_DIR",
                     help="continue a run that was stopped or killed: the cases it had not finished, with its "
                          "bench, plan and settings, into the same directory")
    run.add_argument("--sim-fault", action="append", default=[], metavar="FAULT",
                     help="switch on a named fault of the simulated charger (repeatable; see `benchctl faults`)")
    run.set_defaults(func=cmd_run)


def select(scenarios: list[Scenario], ids: list[str], keyword: str | None,
           group: str | None = None) -> list[Scenario]:
    def wanted(s: Scenario) -> bool:
        if ids:
            short = s.id.removeprefix("TC_").removesuffix("_CS")
            if not any(i in (s.id, short) or (i.isdigit() and short.split("_")[0].lstrip("0") == i.lstrip("0")
                                               and "_" not in short) for i in ids):
                return False
        if keyword and keyword.lower() not in f"{s.id} {s.title}".lower():
            return False
        if group and group.lower() not in s.group.lower():
            return False
        return True

    return [s for s in scenarios if wanted(s)]


def print_cases(console: Console, config: BenchConfig, scenarios: list[Scenario]) -> None:
    table = Table(title=escape(f"{len(scenarios)} case(s) on bench '{config.name}' ({config.file})"))
    for column in ("case", "section", "title", "status", "roles"):
        table.add_column(column)
    for s in scenarios:
        missing = [r for r in s.roles if r not in config.roles]
        roles = ", ".join(s.roles) + (f"  [yellow](bench lacks {', '.join(missing)})[/]" if missing else "")
        table.add_row(s.id, s.section, escape(s.title), s.certification or "-", roles)
    console.print(table)


def _print_summary(console: Console, results: list[dict[str, Any]]) -> None:
    table = Table(title="Results")
    for column in ("case", "verdict", "step", "duration", "reason"):
        table.add_column(column)
    for r in results:
        style = VERDICT_STYLE.get(str(r.get("verdict")), "")
        flaky = " (flaky)" if r.get("flaky") else ""
        table.add_row(str(r.get("id")), f"[{style}]{r.get('verdict')}[/]{flaky}",
                      "" if r.get("step") is None else str(r["step"]),
                      f"{float(r.get('duration_s') or 0):.1f} s", escape(str(r.get("reason") or "")))
    console.print(table)
    passed = sum(r.get("verdict") == PASS for r in results)
    console.print(f"{passed} passed, {len(results) - passed} not passed, of {len(results)}")


def _write_reports(console: Console, run_dir: Path) -> None:
    from benchctl.report import write_reports

    written = write_reports(run_dir)
    console.print("reports: " + escape(", ".join(str(p) for p in written.values())))


class _Selection:
    """What a run runs: the bench, the cases in order, and what run.json must keep so --resume can go on."""

    def __init__(self, config: BenchConfig, scenarios: list[Scenario], meta: dict[str, Any]) -> None:
        self.config, self.scenarios, self.meta = config, scenarios, meta


def _select_new(args: argparse.Namespace, console: Console) -> _Selection | int:
    config = load_bench(args.bench)
    if args.sim_fault:
        if config.simulator is None:
            console.print(f"[red]--sim-fault needs a bench with a simulator; {escape(config.file)} has none[/]")
            return EXIT_USAGE
        from hil_sim.faults import unknown_faults

        bad = unknown_faults(args.sim_fault)
        if bad:
            console.print(f"[red]unknown fault(s): {escape(', '.join(bad))}; see `benchctl faults`[/]")
            return EXIT_USAGE
        config.simulator.faults = sorted(set(config.simulator.faults) | set(args.sim_fault))
    available = load_scenarios(args.scenarios)
    scenarios = select(available, args.cases, args.keyword, args.group)
    meta: dict[str, Any] = {"scenarios_dir": str(Path(args.scenarios).resolve()), "retries": args.retries}
    pics_file = args.pics or (Path(config.pics) if config.pics else None)
    if pics_file is not None:
        from benchctl.plan import load_pics, make_plan, plan_as_records

        pics = load_pics(pics_file)
        plan = make_plan(pics, available)
        meta.update({"pics_file": str(pics_file), "pics": pics.values(), "plan": plan_as_records(plan)})
        if not (args.cases or args.keyword or args.group):
            planned = {e.id for e in plan if e.included and e.has_scenario}
            scenarios = [s for s in scenarios if s.id in planned]
            missing = [e.id for e in plan if e.included and not e.has_scenario]
            if missing:
                console.print(f"[yellow]{len(missing)} case(s) of the plan have no scenario yet: "
                              f"{escape(', '.join(missing))}[/]")
    if not scenarios:
        console.print("[red]no case matches the selection[/]")
        return EXIT_USAGE
    return _Selection(config, scenarios, meta)


def _select_resumed(run_dir: RunDir, console: Console) -> tuple[_Selection, list[dict[str, Any]]] | int:
    meta = run_dir.read_meta()
    config = load_bench(meta["bench_file"])
    if config.simulator is not None and meta.get("simulator"):
        config.simulator.faults = list(meta["simulator"].get("faults") or [])
    by_id = {s.id: s for s in load_scenarios(Path(meta.get("scenarios_dir") or SCENARIOS))}
    unknown = [c for c in meta["cases"] if c not in by_id]
    if unknown:
        console.print(f"[red]{escape(str(run_dir.path))}: the run's case(s) {escape(', '.join(unknown))} have no "
                      f"scenario file any more[/]")
        return EXIT_USAGE
    done = read_results(run_dir.path)
    finished = {r.get("id") for r in done}
    remaining = [by_id[c] for c in meta["cases"] if c not in finished]
    meta = {k: v for k, v in meta.items() if k not in ("written", "finished")}
    meta.setdefault("resumed", []).append({"at": time.time(), "remaining": [s.id for s in remaining]})
    return _Selection(config, remaining, meta), done


def cmd_run(args: argparse.Namespace, console: Console) -> int:
    done: list[dict[str, Any]] = []
    if args.resume is not None:
        if args.cases or args.keyword or args.group or args.pics or args.sim_fault:
            console.print("[red]--resume continues a run as it was started: no case selection, --pics or "
                          "--sim-fault with it[/]")
            return EXIT_USAGE
        try:
            run_dir = RunDir.reopen(args.resume)
        except FileNotFoundError as exc:
            console.print(f"[red]{escape(str(exc))}[/]")
            return EXIT_USAGE
        resumed = _select_resumed(run_dir, console)
        if isinstance(resumed, int):
            return resumed
        selection, done = resumed
        retries = int(selection.meta.get("retries") or 0)
    else:
        chosen = _select_new(args, console)
        if isinstance(chosen, int):
            return chosen
        selection, retries = chosen, args.retries
        if args.list:
            print_cases(console, selection.config, selection.scenarios)
            return EXIT_OK
        run_dir = None
    config, scenarios = selection.config, selection.scenarios
    # the lock first: a refused run leaves no run directory behind
    lock = BenchLock(config.name, purpose=f"benchctl run on {config.file}")
    try:
        lock.acquire()
    except BenchBusy as exc:
        console.print(f"[red]{escape(str(exc))}[/]")
        return EXIT_BUSY
    try:
        if run_dir is None:
            run_dir = RunDir.create(args.runs, config.name)
        return _run_logged(console, selection, run_dir, retries, done, lock)
    finally:
        lock.release()


def _run_logged(console: Console, selection: _Selection, run_dir: RunDir, retries: int,
                done: list[dict[str, Any]], lock: BenchLock) -> int:
    config, scenarios = selection.config, selection.scenarios
    total = len(done) + len(scenarios)
    console.print(f"bench [bold]{escape(config.name)}[/] · {len(scenarios)} case(s)"
                  + (f" ({len(done)} already finished)" if done else "")
                  + f" · run directory {escape(str(run_dir.path))}")
    if not scenarios:
        _print_summary(console, read_results(run_dir.path))
        _write_reports(console, run_dir.path)
        return _exit_status(read_results(run_dir.path))
    log_handler = logging.FileHandler(run_dir.path / "benchctl.log", encoding="utf-8")
    log_handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    log_handler.setLevel(logging.INFO)
    root = logging.getLogger()
    previous_level = root.level
    # the run's log file gets INFO; the terminal keeps the level -v chose
    quiet = [(h, h.level) for h in root.handlers]
    for handler, _ in quiet:
        handler.setLevel(max(handler.level, previous_level))
    root.addHandler(log_handler)
    root.setLevel(min(previous_level or logging.WARNING, logging.INFO))
    try:
        return _run(console, config, scenarios, run_dir, selection.meta, retries, len(done), total, lock)
    finally:
        root.removeHandler(log_handler)
        root.setLevel(previous_level)
        for handler, level in quiet:
            handler.setLevel(level)
        log_handler.close()


def _run(console: Console, config: BenchConfig, scenarios: list[Scenario], run_dir: RunDir,
         meta: dict[str, Any], retries: int, done_before: int, total: int, lock: BenchLock) -> int:
    from benchctl.run.runner import run_cases

    async def run_until_signalled() -> list[CaseResult]:
        # SIGTERM (a CI job cancelled, a service stopped) ends the run like Ctrl-C does: the task is
        # cancelled, and leaving the bench session puts every role in its safe state
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        async with hold_bench(lock):
            with RunProgress(console, total, done_before) as progress:
                return await run_cases(config, scenarios, run_dir, progress.on_case, extra_meta=meta,
                                       retries=retries, on_step=progress.on_step)

    try:
        asyncio.run(run_until_signalled())
    except asyncio.CancelledError:
        _write_reports(console, run_dir.path)
        console.print(f"[yellow]stopped by SIGTERM; the bench was put in its safe state; finished cases are in "
                      f"{escape(str(run_dir.path))} (benchctl run --resume {escape(str(run_dir.path))} goes on)[/]")
        return EXIT_TERMINATED
    results = read_results(run_dir.path)
    _print_summary(console, results)
    _write_reports(console, run_dir.path)
    console.print(f"run directory: {escape(str(run_dir.path))}")
    return _exit_status(results)


def _exit_status(results: list[dict[str, Any]]) -> int:
    return EXIT_OK if results and all(r.get("verdict") == PASS for r in results) else EXIT_FAILED
