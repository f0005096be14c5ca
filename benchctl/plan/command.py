"""`benchctl plan`: the test cases a station's certification needs, from its PICS file."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from benchctl.config import ConfigError
from benchctl.config.pics import load_pics
from benchctl.paths import SCENARIOS
from benchctl.record.plan_entry import PlanEntry
from benchctl.scenario.model import load_scenarios
from benchctl.terminal import make_console, print_table

from .plan import make_plan, plan_as_records

EXIT_OK, EXIT_USAGE = 0, 2  # the exit statuses of benchctl.cli

PLAN_EPILOG = """\
examples:
  benchctl plan --pics pics/sim.yaml           the cases for the simulated charger
  benchctl plan --pics pics/sim.yaml --all     also the cases Appendix C does not list
  benchctl plan --pics my-station.yaml --json  the plan as JSON, as run.json records it

A PICS file answers Appendix A of the OCA certification test procedure (see pics/ for commented examples);
Appendix C then decides each case: M in (unless it belongs to a feature profile the station does not declare),
C in when its condition holds, O in when the station declares what it needs. Every line says why.
Exit status: 0, or 2 when the PICS file or a scenario file is invalid."""


def add_plan_parser(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    plan = subparsers.add_parser("plan", help="list the test cases a station's PICS makes applicable",
                                 description="Decide from a PICS file which OCPP 1.6 Charge Point test cases "
                                             "apply (Appendix C), and show which have a scenario.",
                                 epilog=PLAN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    plan.add_argument("--pics", type=Path, required=True, metavar="FILE", help="the station's PICS file")
    plan.add_argument("--scenarios", type=Path, default=SCENARIOS, metavar="DIR",
                      help="scenario folder (default: %(default)s)")
    plan.add_argument("--all", dest="include_uncertified", action="store_true",
                      help="also plan the cases that have no Appendix C row")
    plan.add_argument("--json", action="store_true", help="print the plan as JSON instead of a table")
    plan.set_defaults(func=cmd_plan)


def _in_out(entry: PlanEntry) -> str:
    if not entry.included:
        return "[dim]out[/]"
    return "[green]in[/]" if entry.has_scenario else "[yellow]in[/]"


def _print_table(console: Console, title: str, entries: list[PlanEntry]) -> None:
    table = Table(title=escape(title))
    table.add_column("id", no_wrap=True)
    table.add_column("title")
    table.add_column("M/O/C", no_wrap=True)
    table.add_column("in/out", no_wrap=True)
    table.add_column("reason")
    for e in entries:
        table.add_row(e.id, escape(e.title), e.certification or "-", _in_out(e), escape(e.reason))
    print_table(console, table)
    planned = [e for e in entries if e.included]
    by_status = ", ".join(f"{sum(e.certification == s for e in planned)} {s}" for s in ("M", "C", "O"))
    uncertified = sum(e.certification is None for e in planned)
    extra = f", {uncertified} without Appendix C row" if uncertified else ""
    missing = sum(not e.has_scenario for e in planned)
    console.print(f"{len(planned)} of {len(entries)} cases in the plan ({by_status}{extra}); "
                  f"{missing} of them without a scenario file", highlight=False)


def cmd_plan(args: argparse.Namespace, console: Console | None = None) -> int:
    console = console or make_console()
    try:
        pics = load_pics(args.pics)
        if not args.scenarios.is_dir():
            console.print(f"[red]no scenario folder {escape(str(args.scenarios))}[/]", highlight=False)
            return EXIT_USAGE
        entries = make_plan(pics, load_scenarios(args.scenarios), args.include_uncertified)
    except ConfigError as exc:
        console.print(f"[red]config error:[/] {escape(str(exc))}", highlight=False)
        return EXIT_USAGE
    if args.json:
        console.out(json.dumps({"pics": pics.file, "plan": plan_as_records(entries)}, indent=2), highlight=False)
        return EXIT_OK
    station = " ".join(part for part in (pics.vendor, pics.model) if part) or "station"
    _print_table(console, f"test plan for {station} ({pics.file})", entries)
    return EXIT_OK
