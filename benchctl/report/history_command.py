"""`benchctl runs`, `show` and `diff`: the runs kept under --runs, one run's summary, and what changed between
two runs (a firmware regression view; JUnit stays for CI)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from benchctl.record.run import load_run
from benchctl.terminal import print_json, print_table

from .history import RunNotFound, find_run, list_runs, show_record
from .run_diff import MIN_MOVE_MS, MOVE_RATIO, RunDiff, diff_runs
from .templating import render

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
STYLE = {"PASS": "green", "FAIL": "red", "ERROR": "magenta", "INCOMPLETE": "yellow", "NOT_RUNNABLE": "yellow"}

DIFF_EPILOG = """\
examples:
  benchctl diff 20261124-2200 20261201-2200        two runs under ./runs by a unique start of their names
  benchctl diff runs/old runs/new --html diff.html  the same as a page to attach to a firmware ticket

A run is a run directory's path, its name under --runs, or a unique start of its name. Flipped cases are those
whose verdict differs; for each, the first frame the charger sent in that case that differs from the earlier
run (message type, action and payload in order, times, transaction ids and meter readings left out). A chapter 8
figure moved when it changed by at least --timing-ms and by --timing-ratio of its earlier value.
Exit status: 0 when the later run has no new failure, 1 when it has, 2 when a run is not found."""


def _runs_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", type=Path, default=Path("runs"), metavar="DIR",
                        help="the folder `benchctl run --runs` wrote the runs to (default: ./runs)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")


def add_history_parsers(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    runs = sub.add_parser("runs", help="list the past runs, newest first",
                          description="List the run directories under --runs, newest first: date, bench, the "
                                      "DUT's firmware (from its BootNotification), verdict counts, overall "
                                      "verdict. A damaged run is listed with a note.")
    _runs_option(runs)
    runs.set_defaults(func=cmd_runs)
    show = sub.add_parser("show", help="print a run's summary and its cases",
                          description="Print one run's summary and the verdict of each of its cases.")
    show.add_argument("run", metavar="RUN", help="a run directory, or its name (or a unique start of it) under "
                                                 "--runs")
    _runs_option(show)
    show.set_defaults(func=cmd_show)
    diff = sub.add_parser("diff", help="what changed between two runs (e.g. two firmware versions)",
                          description="Compare two runs: flipped cases, new failures with their first differing "
                                      "frame, chapter 8 timing figures that moved.",
                          epilog=DIFF_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    diff.add_argument("before", metavar="RUN_A", help="the earlier run (e.g. the older firmware)")
    diff.add_argument("after", metavar="RUN_B", help="the later run")
    _runs_option(diff)
    diff.add_argument("--html", type=Path, metavar="FILE", help="also write the comparison as an HTML page")
    diff.add_argument("--timing-ms", type=float, default=MIN_MOVE_MS, metavar="MS",
                      help="smallest change of a timing figure that counts (default: %(default)s)")
    diff.add_argument("--timing-ratio", type=float, default=MOVE_RATIO, metavar="R",
                      help="smallest change relative to the earlier value that counts (default: %(default)s)")
    diff.set_defaults(func=cmd_diff)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {verdict}" for verdict, n in counts.items()) or "no results"


def _verdict(verdict: str | None) -> str:
    return "-" if verdict is None else f"[{STYLE.get(verdict, '')}]{verdict}[/]"


def cmd_runs(args: argparse.Namespace, console: Console) -> int:
    summaries = list_runs(args.runs)
    if args.json:
        print_json(console, [s.as_record() for s in summaries])
        return EXIT_OK
    if not summaries:
        console.print(f"no runs under {escape(str(args.runs))}", highlight=False)
        return EXIT_OK
    table = Table(title=escape(f"{len(summaries)} run(s) under {args.runs}, newest first"))
    for column in ("run", "date (UTC)", "bench", "firmware", "cases", "verdict"):
        table.add_column(column)
    for s in summaries:
        firmware = s.firmware or "unknown"
        if s.faults:
            firmware += f" (sim faults: {', '.join(s.faults)})"
        verdict = _verdict(s.verdict) + "".join(f"\n[yellow]{escape(n)}[/]" for n in s.notes)
        table.add_row(escape(s.name), s.date, escape(s.bench or "?"), escape(firmware), _counts(s.counts), verdict)
    print_table(console, table)
    return EXIT_OK


def _resolve(ref: str, runs: Path, console: Console) -> Path | None:
    try:
        return find_run(ref, runs)
    except RunNotFound as exc:
        console.print(f"[red]{escape(str(exc))}[/]", highlight=False)
        return None


def cmd_show(args: argparse.Namespace, console: Console) -> int:
    path = _resolve(args.run, args.runs, console)
    if path is None:
        return EXIT_USAGE
    record = show_record(load_run(path))
    if args.json:
        print_json(console, record)
        return EXIT_OK
    console.print(f"[bold]{escape(record['name'])}[/]: {_verdict(record['verdict'])}  {_counts(record['counts'])}",
                  highlight=False)
    for label, value in (("path", record["path"]), ("started", record["date"] + " UTC"), ("bench", record["bench"]),
                         ("DUT", f"{record['dut']} firmware {record['firmware'] or 'unknown'}"),
                         ("charge point", record["charge_point_id"]), ("PICS", record["pics_file"] or "-")):
        console.print(f"  {label}: {escape(str(value))}", highlight=False)
    for note in record["notes"]:
        console.print(f"  [yellow]{escape(note)}[/]", highlight=False)
    if record["not_run"]:
        console.print(f"  [yellow]not run: {escape(', '.join(record['not_run']))}[/]", highlight=False)
    table = Table(title="cases")
    for column in ("case", "verdict", "step", "duration", "reason"):
        table.add_column(column)
    for c in record["cases"]:
        table.add_row(escape(c["id"]), _verdict(c["verdict"]) + (" (flaky)" if c["flaky"] else ""),
                      "" if c["step"] is None else str(c["step"]), f"{c['duration_s']:.1f} s",
                      escape(c["reason"]) + "".join(f"\nWARN {escape(w)}" for w in c["warnings"]))
    print_table(console, table)
    return EXIT_OK


def cmd_diff(args: argparse.Namespace, console: Console) -> int:
    paths = [_resolve(ref, args.runs, console) for ref in (args.before, args.after)]
    if paths[0] is None or paths[1] is None:
        return EXIT_USAGE
    diff = diff_runs(load_run(paths[0]), load_run(paths[1]), args.timing_ms, args.timing_ratio)
    if args.html is not None:
        args.html.write_text(render("diff.html.j2", diff=diff, frame_text=frame_text), encoding="utf-8")
    if args.json:
        print_json(console, diff.as_record())
    else:
        _print_diff(console, diff)
        if args.html is not None:
            console.print(f"written: {escape(str(args.html))}", highlight=False)
    return EXIT_FAILED if diff.new_failures else EXIT_OK


def frame_text(frame: dict[str, Any] | None) -> str:
    if frame is None:
        return "(no further frame)"
    from .templating import value_text

    return f"#{frame['i']} {frame['type']} {frame['action'] or ''} {value_text(frame['payload'])}"


def _print_diff(console: Console, diff: RunDiff) -> None:
    for side, s in (("A", diff.before), ("B", diff.after)):
        console.print(f"{side}: {escape(s.name)}  firmware {escape(s.firmware or 'unknown')}  {s.date} UTC  "
                      f"{_verdict(s.verdict)}  {_counts(s.counts)}", highlight=False)
    console.print(f"{len(diff.flipped)} case(s) flipped, {len(diff.new_failures)} new failure(s), "
                  f"{diff.unchanged} unchanged, {len(diff.timings)} timing figure(s) moved", highlight=False)
    if diff.flipped:
        table = Table(title="cases that flipped (A -> B)")
        for column in ("case", "A", "B", "step", "reason", "first differing charger frame (A / B)"):
            table.add_column(column)
        for c in diff.flipped:
            d = c.first_difference
            frames = "-" if d is None else f"{d.position}.: {frame_text(d.before)}\n{d.position}.: {frame_text(d.after)}"
            table.add_row(escape(c.id) + (" [red]new failure[/]" if c.new_failure else ""), _verdict(c.before),
                          _verdict(c.after), "" if c.step is None else str(c.step), escape(c.reason), escape(frames))
        print_table(console, table)
    for label, cases in (("only in A", diff.only_before), ("only in B", diff.only_after)):
        if cases:
            console.print(f"{label}: {escape(', '.join(cases))}", highlight=False)
    if diff.timings:
        table = Table(title="chapter 8 timing figures that moved (ms)")
        for column in ("case", "figure", "A", "B", "change"):
            table.add_column(column)
        for t in diff.timings:
            table.add_row(escape(t.case), escape(f"{t.kind}: {t.name}"), f"{t.before_ms:.1f}", f"{t.after_ms:.1f}",
                          f"{t.change_ms:+.1f}")
        print_table(console, table)
