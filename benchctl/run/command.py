"""`benchctl run`: choose the cases, take the bench, run them unattended, write the reports.

An overnight run must survive what a night brings: another run wanting the same bench (the lock), a case
that hangs (its time budget, in the runner), a flaky finding Appendix D lets us retest (--retries), and the
process itself being killed (every finished case is on disk; --resume continues with the rest).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from benchctl.bench.config import BenchConfig, load_bench
from benchctl.paths import DEFAULT_BENCH, SCENARIOS
from benchctl.record.case import PASS, CaseResult
from benchctl.record.run import load_run
from benchctl.report.history import show_record
from benchctl.scenario.model import Scenario, load_scenarios
from benchctl.terminal import print_json, print_table

from .lock import BenchLock, hold_bench, take_bench_for
from .progress import VERDICT_STYLE, RunProgress
from .rundir import RunDir, read_results
from .selection import Selection, SelectionError, choose_cases, run_log
from .signals import RunStop, stop_on_signals

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BENCH = 0, 1, 2, 3
# the simulated benches of a run by default: the plan waits on the protocol's timers far more than it computes
# (a few seconds of CPU per bench over the plan), so eight share two cores; the longest case still bounds the run
DEFAULT_SIM_BENCHES = 8
# each simulated bench holds about 45 file descriptors, and the serial driver waits with select(), which takes
# none above 1023: past this many benches in one process the card presenter's port could not be read
MAX_SIM_BENCHES = 16
EXIT_BUSY = 4
EXIT_PROFILE = 5  # the charger contradicts the bench or the PICS (the DUT profile check)
EXIT_TERMINATED = 128 + 15  # as a shell reports a process ended by SIGTERM

RUN_EPILOG = """\
examples:
  benchctl run                          the plan of the bench's PICS against the simulated bench
  benchctl run --list                   show the cases that would run, and stop
  benchctl run --pics pics/socket.yaml  the plan of another PICS
  benchctl run --all                    the plan with the cases outside certification too
  benchctl run --group "Cache"          the cases of a group of the test case document
  benchctl run 003 TC_010_CS            two cases by id
  benchctl run -k "charging session"    cases whose id or title contains the words
  benchctl run --bench bench_configs/rpi-lab.yaml --retries 1
  benchctl run --resume runs/20261124-220000-lab   continue a run that was killed
  benchctl run --sim-fault skip_preparing 003   a faulty simulated charger: TC_003_CS must FAIL
  benchctl run --sim-variant power-only         a conforming variant of the simulated charger: all must PASS

Without case ids, -k or --group, the cases are the plan: those Appendix C puts in for the PICS (--pics, or
the bench's dut.pics); without a PICS, every scenario. `benchctl plan` shows the plan with its reasons.
Each run writes a directory (runs/<time>-<bench>/) with capture.jsonl (every OCPP frame),
actions.jsonl (every bench action), results.jsonl (one record per case, written as each case ends),
benchctl.log, run.json and the reports: report.xml (JUnit), report.json and report.html.
A run holds the bench's lock (BENCHCTL_LOCK_DIR, default ~/.local/state/benchctl/locks) while it runs; a bench
whose gear is all simulated in the run (the sim bench) locks nothing, so several sim runs share a host.
Exit status: 0 when every selected case passes, 1 otherwise, 2 for a usage or config error,
3 when the bench could not be brought up (a device that does not answer, a missing hardware library),
4 when the bench is in use by another run, 5 when the charger contradicts the bench config or the PICS (the DUT
profile check before the first case: NumberOfConnectors, SupportedFeatureProfiles, the charging rate unit, a
required Core key; see docs/real-charger.md; --accept-profile runs anyway), 130/143/129/131 when stopped by
Ctrl-C/SIGTERM/SIGHUP/SIGQUIT (the gear is put in its safe state first; --resume goes on)."""


def add_run_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    run = sub.add_parser("run", help="run test cases against a bench", description="Run test cases against a "
                         "bench and write a run directory.", epilog=RUN_EPILOG,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("cases", nargs="*", metavar="CASE",
                     help="case ids to run (TC_003_CS, 003, 3); default: the plan of the PICS, or every scenario "
                          "without a PICS (see below)")
    run.add_argument("--bench", type=Path, default=DEFAULT_BENCH, help="bench config (default: %(default)s)")
    run.add_argument("--scenarios", type=Path, default=SCENARIOS, help="scenario folder (default: %(default)s)")
    run.add_argument("-k", dest="keyword", help="only cases whose id or title contains this text")
    run.add_argument("--group", help="only cases of this group of the test case document (e.g. Cache)")
    run.add_argument("--pics", type=Path, help="the DUT's PICS file: its plan decides the cases "
                                              "(default: the bench's dut.pics)")
    run.add_argument("--all", dest="include_uncertified", action="store_true",
                     help="the plan also takes the cases Appendix C does not list (not part of certification, "
                          "e.g. TC_027_CS, TC_083_CS-TC_087_CS), when the PICS says they apply")
    run.add_argument("--list", action="store_true", help="list the cases that would run and exit")
    run.add_argument("--json", action="store_true",
                     help="with --list: the cases as JSON; else the progress goes to stderr and the run's summary "
                          "(as `benchctl show RUN --json` gives it, with the exit status) is JSON on stdout")
    run.add_argument("--runs", type=Path, default=Path("runs"), help="where run directories go (default: ./runs)")
    run.add_argument("--retries", type=int, default=0, metavar="N",
                     help="retest a case up to N times when Appendix D allows it (a FAIL the "
                          "StatusNotification rules mark for retest, or a bench error); default: %(default)s")
    run.add_argument("--resume", type=Path, metavar="RUN_DIR",
                     help="continue a run that was stopped or killed: the cases it had not finished, with its "
                          "bench, plan and settings, into the same directory")
    run.add_argument("--accept-profile", action="store_true",
                     help="run although the charger contradicts the bench or the PICS (the DUT profile check); "
                          "run.json records that the contradiction was overridden")
    run.add_argument("-j", "--benches", type=int, metavar="N",
                     help="on a simulated bench: run the cases on N simulated benches at once, one run directory "
                          f"and one report (default: {DEFAULT_SIM_BENCHES}; 1 runs one case after another)")
    run.add_argument("--sim-fault", action="append", default=[], metavar="FAULT",
                     help="switch on a named fault of the simulated charger (repeatable; see `benchctl faults`)")
    run.add_argument("--sim-variant", metavar="VARIANT",
                     help="run against a named behaviour variant of the simulated charger: a conforming choice "
                          "OCPP leaves open, every case must PASS (see `benchctl faults`)")
    run.set_defaults(func=cmd_run)


def print_cases(console: Console, config: BenchConfig, scenarios: list[Scenario], as_json: bool = False) -> None:
    if as_json:
        print_json(console, [{"id": s.id, "section": s.section, "title": s.title, "certification": s.certification,
                              "roles": list(s.roles), "missing_roles": [r for r in s.roles if r not in config.roles]}
                             for s in scenarios])
        return
    table = Table(title=escape(f"{len(scenarios)} case(s) on bench '{config.name}' ({config.file})"))
    for column in ("case", "section", "title", "status", "roles"):
        table.add_column(column)
    for s in scenarios:
        missing = [r for r in s.roles if r not in config.roles]
        roles = ", ".join(s.roles) + (f"  [yellow](bench lacks {', '.join(missing)})[/]" if missing else "")
        table.add_row(s.id, s.section, escape(s.title), s.certification or "-", roles)
    print_table(console, table)


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
    print_table(console, table)
    passed = sum(r.get("verdict") == PASS for r in results)
    console.print(f"{passed} passed, {len(results) - passed} not passed, of {len(results)}")
    warned = [r for r in results if r.get("warnings")]
    if warned:  # never a verdict: what the certification does not test, for the firmware team
        console.print(f"{sum(len(r['warnings']) for r in warned)} warning(s) in {len(warned)} case(s):")
        for r in warned:
            for w in r["warnings"]:
                console.print(f"  WARN {escape(str(r.get('id')))}: {escape(str(w.get('message')))}")


def _write_reports(console: Console, run_dir: Path) -> None:
    from benchctl.report import write_reports

    written = write_reports(run_dir)
    console.print("reports: " + escape(", ".join(str(p) for p in written.values())))


def _select_new(args: argparse.Namespace, console: Console) -> Selection | int:
    try:
        selection = choose_cases(load_bench(args.bench), args.scenarios, args.cases, args.keyword, args.group,
                                 args.pics, args.sim_fault, args.retries, args.include_uncertified,
                                 args.sim_variant)
    except SelectionError as exc:
        console.print(f"[red]{escape(str(exc))}[/]")
        return EXIT_USAGE
    if selection.missing:
        console.print(f"[yellow]{len(selection.missing)} case(s) of the plan have no scenario yet: "
                      f"{escape(', '.join(selection.missing))}[/]")
    return selection


def _select_resumed(run_dir: RunDir, console: Console) -> tuple[Selection, list[dict[str, Any]]] | int:
    meta = run_dir.read_meta()
    config = load_bench(meta["bench_file"])
    if config.simulator is not None and meta.get("simulator"):
        config.simulator.faults = list(meta["simulator"].get("faults") or [])
    if meta.get("sim_variant"):
        from .variant import apply_variant

        apply_variant(config, meta["sim_variant"], Path(meta["pics_file"]).parent if meta.get("pics_file") else None)
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
    return Selection(config, remaining, meta), done


def cmd_run(args: argparse.Namespace, console: Console) -> int:
    done: list[dict[str, Any]] = []
    if args.resume is not None:
        if args.cases or args.keyword or args.group or args.pics or args.sim_fault or args.sim_variant:
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
        benches = int(selection.meta.get("benches") or 1)
    else:
        chosen = _select_new(args, console)
        if isinstance(chosen, int):
            return chosen
        selection, retries = chosen, args.retries
        asked = _benches(args.benches, selection.config, console)
        if asked is None:
            return EXIT_USAGE
        benches = asked
        if args.list:
            print_cases(console, selection.config, selection.scenarios, args.json)
            return EXIT_OK
        run_dir = None
    config = selection.config
    console, summary_out = summary_on_stdout(console, args.json)
    # the lock first: a refused run leaves no run directory behind
    lock = take_bench_for(config, f"benchctl run on {config.file}", console)
    if lock is None:
        return EXIT_BUSY
    try:
        if run_dir is None:
            run_dir = RunDir.create(args.runs, config.name)
        status = _run_logged(console, selection, run_dir, retries, done, lock, args.accept_profile, benches)
    finally:
        lock.release()
    print_run_summary(summary_out, run_dir.path, status)
    return status


def _benches(asked: int | None, config: BenchConfig, console: Console) -> int | None:
    """How many simulated benches run the cases: --benches, else DEFAULT_SIM_BENCHES on a simulated bench whose
    copies can run side by side and 1 on any other; None after saying why the number cannot be."""
    from benchctl.run.standalone import why_one_bench

    alone = why_one_bench(config)
    if asked is None:
        return DEFAULT_SIM_BENCHES if alone is None else 1
    if not 1 <= asked <= MAX_SIM_BENCHES:
        console.print(f"[red]--benches {asked}: the number of benches is 1 or more, and at most {MAX_SIM_BENCHES} "
                      f"(each simulated bench holds about 45 file descriptors; the serial driver's select() takes "
                      f"none above 1023)[/]")
        return None
    if asked > 1 and alone is not None:
        console.print(f"[red]--benches {asked}: {escape(config.file)}: {escape(alone)}[/]")
        return None
    return asked


def summary_on_stdout(console: Console, as_json: bool) -> tuple[Console, Console | None]:
    """With --json a run's stdout holds only its JSON summary: (the console a person reads, now on stderr; the
    stdout console for the summary). Without, (console, None)."""
    if not as_json:
        return console, None
    return Console(stderr=True), console


def print_run_summary(out: Console | None, run_dir: Path, status: int) -> None:
    """The run's summary as `benchctl show RUN --json` gives it, with the exit status (nothing without --json)."""
    if out is not None:
        print_json(out, {**show_record(load_run(run_dir)), "exit_status": status})


def _run_logged(console: Console, selection: Selection, run_dir: RunDir, retries: int,
                done: list[dict[str, Any]], lock: BenchLock, accept_profile: bool = False, benches: int = 1) -> int:
    config, scenarios = selection.config, selection.scenarios
    total = len(done) + len(scenarios)
    console.print(f"bench [bold]{escape(config.name)}[/] · {len(scenarios)} case(s)"
                  + (f" ({len(done)} already finished)" if done else "")
                  + f" · run directory {escape(str(run_dir.path))}")
    if not scenarios:
        _print_summary(console, read_results(run_dir.path))
        _write_reports(console, run_dir.path)
        return _exit_status(read_results(run_dir.path))
    with run_log(run_dir.path):
        return _run(console, config, scenarios, run_dir, selection.meta, retries, len(done), total, lock,
                    accept_profile, benches)


def _run(console: Console, config: BenchConfig, scenarios: list[Scenario], run_dir: RunDir,
         meta: dict[str, Any], retries: int, done_before: int, total: int, lock: BenchLock,
         accept_profile: bool = False, benches: int = 1) -> int:
    from benchctl.run.profile_check import ProfileContradiction, profile_table
    from benchctl.run.standalone import run_cases

    stop: RunStop | None = None

    async def run_until_signalled() -> list[CaseResult]:
        # Ctrl-C, SIGTERM, SIGHUP and SIGQUIT end the run alike: the task is cancelled, the gear goes to its safe
        # state first (run_cases), then the run ends in order and leaving the bench session closes it
        nonlocal stop
        task = asyncio.current_task()
        assert task is not None
        with stop_on_signals(asyncio.get_running_loop(), task) as stop:
            async with hold_bench(lock):
                with RunProgress(console, total, done_before) as progress:
                    return await run_cases(config, scenarios, run_dir, [progress], extra_meta=meta,
                                           retries=retries, accept_profile=accept_profile, benches=benches)

    try:
        asyncio.run(run_until_signalled())
    except asyncio.CancelledError:
        name = stop.signal.name if stop is not None and stop.signal is not None else "a signal"
        status = stop.exit_status if stop is not None else EXIT_TERMINATED
        # the exit status a report cannot work out from the cases: the run was stopped, not failed
        run_dir.write_meta({**run_dir.read_meta(), "stopped": {"by": name, "exit_status": status}})
        _write_reports(console, run_dir.path)
        console.print(f"[yellow]stopped by {name}; the bench was put in its safe state; finished cases are in "
                      f"{escape(str(run_dir.path))} (benchctl run --resume {escape(str(run_dir.path))} goes on)[/]")
        return status
    except ProfileContradiction as exc:
        print_table(console, profile_table(exc.profile, "DUT profile: the charger contradicts the bench or the PICS"))
        _write_reports(console, run_dir.path)
        console.print(f"[red]stopped before the first case: {escape(', '.join(r.key for r in exc.profile.contradictions))}"
                      f" (see docs/real-charger.md; --accept-profile runs anyway); run directory: "
                      f"{escape(str(run_dir.path))}[/]")
        return EXIT_PROFILE
    results = read_results(run_dir.path)
    _print_summary(console, results)
    _write_reports(console, run_dir.path)
    console.print(f"run directory: {escape(str(run_dir.path))}")
    return _exit_status(results)


def _exit_status(results: list[dict[str, Any]]) -> int:
    return EXIT_OK if results and all(r.get("verdict") == PASS for r in results) else EXIT_FAILED
