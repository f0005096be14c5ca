"""The `benchctl` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from dataclasses import asdict
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from benchctl import __version__
from benchctl.bench.config import load_bench
from benchctl.config import ConfigError, load_marked
from benchctl.config.errors import each_error
from benchctl.paths import DEFAULT_BENCH
from benchctl.run.command import EXIT_BENCH, EXIT_FAILED, EXIT_OK, EXIT_PROFILE, EXIT_USAGE, add_run_parser
from benchctl.scenario.model import load_scenario
from benchctl.terminal import make_console, print_json, print_table
from drivers.errors import DriverError, MissingExtraError
from hil_sim.command import DESCRIPTION as SIM_DESCRIPTION
from hil_sim.command import add_arguments as add_sim_arguments
from hil_sim.command import run as run_sim

DESCRIPTION = """\
Run the OCA OCPP 1.6J test cases against a charging station on a bench, with the manual steps
(plug in, present a card, power-cycle, cut the network) done by the bench's gear.

With no bench named, everything runs against the simulated bench (bench_configs/sim.yaml): a simulated
charger and simulated gear started inside the run, so nothing else is needed."""

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="benchctl", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"benchctl {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    add_run_parser(sub)

    check = sub.add_parser("check", help="probe every role of a bench and the charger's connection",
                           description="Connect to each piece of gear, run its self-test, wait for the charger "
                                       "to dial in, and print a table; then read the charger's BootNotification "
                                       "and configuration and compare them with the bench config and the PICS "
                                       "(the DUT profile). Exit status 0 when all are healthy, 1 when a role "
                                       "fails, 5 when the charger contradicts the bench or the PICS.")
    check.add_argument("--bench", type=Path, default=DEFAULT_BENCH, help="bench config (default: %(default)s)")
    check.add_argument("--pics", type=Path, help="the DUT's PICS file (default: the bench's dut.pics)")
    check.add_argument("--timeout", type=float, default=10.0, help="seconds per probe (default: %(default)s)")
    check.add_argument("--json", action="store_true", help="print the roles and the DUT profile as JSON")
    check.set_defaults(func=cmd_check)

    sim = sub.add_parser("sim", help="start the simulated charger and gear on their own and print the endpoints",
                         description=SIM_DESCRIPTION)
    add_sim_arguments(sim)
    sim.set_defaults(func=cmd_sim)

    validate = sub.add_parser("validate", help="check bench configs, PICS, scenarios and states without running "
                                               "anything",
                              description="Load and validate files, each as what it is (a bench config, a PICS, a "
                                          "scenario or a reusable state); every error of a file is printed, one "
                                          "line each, naming the file, line and field.")
    validate.add_argument("files", nargs="+", type=Path, metavar="FILE",
                          help="bench config, PICS, scenario or reusable state files (the kind is told from the "
                               "top-level keys)")
    validate.set_defaults(func=cmd_validate)

    from benchctl.run.faults_command import add_faults_parser

    add_faults_parser(sub)

    from benchctl.plan.command import add_plan_parser

    add_plan_parser(sub)
    from benchctl.fleet.command import add_fleet_parsers

    add_fleet_parsers(sub)
    from benchctl.run.perf_command import add_perf_parser

    add_perf_parser(sub)
    from benchctl.proxy.command import add_proxy_parser

    add_proxy_parser(sub)
    from benchctl.octt.command import add_octt_parser

    add_octt_parser(sub)
    from benchctl.follow.command import add_follow_parser

    add_follow_parser(sub)
    from benchctl.report.history_command import add_history_parsers

    add_history_parsers(sub)
    return parser


def cmd_check(args: argparse.Namespace, console: Console) -> int:
    from benchctl.csms.capture import Capture
    from benchctl.paths import SCENARIOS
    from benchctl.run.check import check_bench
    from benchctl.run.profile_check import DutProfile, profile_table, read_profile
    from benchctl.run.selection import SelectionError, choose_cases
    from benchctl.run.session import open_bench

    config = load_bench(args.bench)
    try:
        selection = choose_cases(config, SCENARIOS, [], None, None, args.pics, [], 0)
    except SelectionError as exc:
        console.print(f"[red]{escape(str(exc))}[/]")
        return EXIT_USAGE

    async def probe() -> tuple[list, DutProfile | None]:
        async with open_bench(config, Capture(None), connect=False) as session:
            checks = await check_bench(session, args.timeout)
            if not checks[-1].ok:  # the charger did not dial in: nothing to read
                return checks, None
            return checks, await read_profile(session.link, config, selection.meta.get("pics"),
                                              selection.scenarios, args.timeout)

    checks, profile = asyncio.run(probe())
    if args.json:
        print_json(console, {"bench": config.name, "bench_file": str(config.file),
                             "roles": [asdict(c) for c in checks],
                             "dut_profile": profile.as_record() if profile is not None else None})
    else:
        table = Table(title=escape(f"bench '{config.name}' ({config.file})"))
        for column in ("role", "driver", "kind", "address", "health", "time"):
            table.add_column(column, no_wrap=True)
        table.add_column("detail", overflow="fold")
        for c in checks:
            health = "[green]OK[/]" if c.ok else "[red]FAIL[/]"
            table.add_row(c.role, escape(c.driver), c.kind, escape(c.address), health, f"{c.duration_s:.2f} s",
                          escape(c.detail))
        print_table(console, table)
    if not all(c.ok for c in checks):
        return EXIT_FAILED
    assert profile is not None
    if not args.json:
        print_table(console, profile_table(profile, f"DUT profile: the charger against {escape(config.file)}"
                                         + (f" and {escape(selection.meta['pics_file'])}"
                                            if selection.meta.get("pics_file") else "")))
    if profile.contradictions and not args.json:
        console.print("[red]the charger contradicts the bench or the PICS: "
                      + escape(", ".join(r.key for r in profile.contradictions)) + " (see docs/real-charger.md)[/]")
    if profile.contradictions:
        return EXIT_PROFILE
    return EXIT_OK


def cmd_sim(args: argparse.Namespace, console: Console) -> int:
    return run_sim(args, console)


def cmd_validate(args: argparse.Namespace, console: Console) -> int:
    failed = False
    for file in args.files:
        try:
            console.print(escape(validate_file(file)), highlight=False)
        except ConfigError as exc:
            for error in each_error(exc):
                console.print(f"[red]{escape(str(error))}[/]", highlight=False)
            failed = True
    return EXIT_USAGE if failed else EXIT_OK


# The top-level keys that tell the kinds of file apart (the rest of each schema counts too)
_FILE_KINDS = ("bench config (bench:, dut:, roles:)", "PICS (dut_type:, product_subtype:, ...)",
               "scenario (id:, title:, steps:)", "reusable state (state:, steps:)")


def file_kind(top: object) -> str | None:
    """bench, pics, scenario or state: the kind whose top-level keys the file shares most; None for none."""
    from benchctl.bench.config import BENCH_SCHEMA
    from benchctl.config.pics import PICS_FILE_SCHEMA
    from benchctl.scenario.model import SCENARIO_SCHEMA, STATE_SCHEMA

    if not isinstance(top, dict):
        return None
    schemas = {"bench": BENCH_SCHEMA, "pics": PICS_FILE_SCHEMA, "scenario": SCENARIO_SCHEMA, "state": STATE_SCHEMA}
    score = {kind: len(set(top) & set(schema.fields)) for kind, schema in schemas.items()}
    best = max(score, key=lambda kind: score[kind])  # on a tie the first: a bench's or a PICS's keys are its own
    return best if score[best] else None


def validate_file(file: Path) -> str:
    """Load and validate a bench config, PICS, scenario or reusable state, whichever `file` is; the line saying
    it is valid, or a ConfigError (ConfigErrors: every problem of the file)."""
    from benchctl.config.pics import load_pics
    from benchctl.scenario.model import load_state

    kind = file_kind(load_marked(file).data)
    if kind == "bench":
        config = load_bench(file)
        return f"{file}: bench '{config.name}' OK ({', '.join(config.roles)})"
    if kind == "pics":
        pics = load_pics(file)
        return f"{file}: PICS OK ({pics.product_subtype}, {pics.connectors} connector(s))"
    if kind == "state":
        steps = load_state(file.parent, file.stem, set())
        return f"{file}: reusable state {file.stem} OK ({len(steps)} steps)"
    if kind == "scenario":
        scenario = load_scenario(file)
        return f"{file}: {scenario.id} OK ({len(scenario.steps)} steps)"
    raise ConfigError(str(file), None, "", f"not a {', '.join(_FILE_KINDS[:-1])} or {_FILE_KINDS[-1]}")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=[logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)],
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    console = make_console()
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args, console))
    except ConfigError as exc:
        for error in each_error(exc):
            console.print(f"[red]config error:[/] {escape(str(error))}", highlight=False)
        return EXIT_USAGE
    except (DriverError, MissingExtraError) as exc:
        console.print(f"[red]bench error:[/] {escape(str(exc))}", highlight=False)
        return EXIT_BENCH
    except KeyboardInterrupt:
        console.print("[yellow]interrupted; the bench was put in its safe state[/]")
        return 130


if __name__ == "__main__":
    sys.exit(main())
