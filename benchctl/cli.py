"""The `benchctl` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from benchctl import __version__
from benchctl.bench.config import BenchConfig, load_bench
from benchctl.config import ConfigError, load_marked
from drivers.errors import DriverError, MissingExtraError
from benchctl.paths import DEFAULT_BENCH, SCENARIOS
from benchctl.run.results import PASS, CaseResult
from benchctl.scenario.model import Scenario, load_scenario, load_scenarios

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BENCH = 0, 1, 2, 3
EXIT_TERMINATED = 128 + 15  # as a shell reports a process ended by SIGTERM
VERDICT_STYLE = {"PASS": "green", "FAIL": "red", "ERROR": "magenta", "NOT_RUNNABLE": "yellow"}

DESCRIPTION = """\
Run the OCA OCPP 1.6J test cases against a charging station on a bench, with the manual steps
(plug in, present a card, power-cycle, cut the network) done by the bench's gear.

With no bench named, everything runs against the simulated bench (bench_configs/sim.yaml): a simulated
charger and simulated gear started inside the run, so nothing else is needed."""

RUN_EPILOG = """\
examples:
  benchctl run                          the plan of the bench's PICS against the simulated bench
  benchctl run --list                   show the cases that would run, and stop
  benchctl run --pics pics/socket.yaml  the plan of another PICS
  benchctl run --group "Cache"          the cases of a group of the test case document
  benchctl run 003 TC_010_CS            two cases by id
  benchctl run -k "charging session"    cases whose id or title contains the words
  benchctl run --bench bench_configs/lab.yaml
  benchctl run --sim-fault skip_preparing 003   a faulty simulated charger: TC_003_CS must FAIL

Without case ids, -k or --group, the cases are the plan: those Appendix C puts in for the PICS (--pics, or
the bench's dut.pics); without a PICS, every scenario. `benchctl plan` shows the plan with its reasons.
Each run writes a directory (runs/<time>-<bench>/) with capture.jsonl (every OCPP frame),
actions.jsonl (every bench action), results.jsonl (one record per case), run.json and the reports:
report.xml (JUnit), report.json and report.html.
Exit status: 0 when every selected case passes, 1 otherwise, 2 for a usage or config error,
3 when the bench could not be brought up (a device that does not answer, a missing hardware library)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="benchctl", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"benchctl {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

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
    run.add_argument("--sim-fault", action="append", default=[], metavar="FAULT",
                     help="switch on a named fault of the simulated charger (repeatable; see `benchctl faults`)")
    run.set_defaults(func=cmd_run)

    check = sub.add_parser("check", help="probe every role of a bench and the charger's connection",
                           description="Connect to each piece of gear, run its self-test, wait for the charger "
                                       "to dial in, and print a table. Exit status 0 when all are healthy.")
    check.add_argument("--bench", type=Path, default=DEFAULT_BENCH, help="bench config (default: %(default)s)")
    check.add_argument("--timeout", type=float, default=10.0, help="seconds per probe (default: %(default)s)")
    check.set_defaults(func=cmd_check)

    sim = sub.add_parser("sim", help="start the simulated charger and gear on their own and print the endpoints",
                         description="Start hil_sim (charger, EV emulator, relay board, card presenter) without a "
                                     "run, so a real Central System or the real drivers can be pointed at it. The "
                                     "simulated charger dials the Central System at --csms. Ctrl-C stops it.")
    sim.add_argument("--csms", default="ws://127.0.0.1:9000/ocpp",
                     help="Central System URL the charger dials, without the charge point id (default: %(default)s)")
    sim.add_argument("--cp-id", default="SIM-CP-1", help="charge point id (default: %(default)s)")
    sim.add_argument("--connectors", type=int, choices=(1, 2), default=1)
    sim.add_argument("--socket", action="store_true", help="a socket outlet instead of a fixed cable")
    sim.add_argument("--fault", action="append", default=[], metavar="FAULT", help="switch on a named fault")
    sim.set_defaults(func=cmd_sim)

    validate = sub.add_parser("validate", help="check bench configs and scenario files without running anything",
                              description="Load and validate files; errors name the file, line and field.")
    validate.add_argument("files", nargs="+", type=Path, metavar="FILE")
    validate.set_defaults(func=cmd_validate)

    faults = sub.add_parser("faults", help="list the simulated charger's named faults",
                            description="Faults the simulator can switch on, and the case step each must fail.")
    faults.set_defaults(func=cmd_faults)

    from benchctl.plan.command import add_plan_parser

    add_plan_parser(sub)
    return parser


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


def _print_plan(console: Console, config: BenchConfig, scenarios: list[Scenario]) -> None:
    table = Table(title=escape(f"{len(scenarios)} case(s) on bench '{config.name}' ({config.file})"))
    for column in ("case", "section", "title", "status", "roles"):
        table.add_column(column)
    for s in scenarios:
        missing = [r for r in s.roles if r not in config.roles]
        roles = ", ".join(s.roles) + (f"  [yellow](bench lacks {', '.join(missing)})[/]" if missing else "")
        table.add_row(s.id, s.section, escape(s.title), s.certification or "-", roles)
    console.print(table)


def _print_summary(console: Console, results: list[CaseResult]) -> None:
    table = Table(title="Results")
    for column in ("case", "verdict", "step", "duration", "reason"):
        table.add_column(column)
    for r in results:
        style = VERDICT_STYLE.get(r.verdict, "")
        table.add_row(r.id, f"[{style}]{r.verdict}[/]", "" if r.step is None else str(r.step),
                      f"{r.duration_s:.1f} s", escape(r.reason))
    console.print(table)
    passed = sum(r.verdict == PASS for r in results)
    console.print(f"{passed} passed, {len(results) - passed} not passed, of {len(results)}")


def _write_reports(console: Console, run_dir: Path) -> None:
    from benchctl.report import write_reports

    written = write_reports(run_dir)
    console.print("reports: " + escape(", ".join(str(p) for p in written.values())))


def cmd_run(args: argparse.Namespace, console: Console) -> int:
    from benchctl.run.rundir import RunDir
    from benchctl.run.runner import run_cases

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
    meta: dict[str, object] = {}
    pics_file = args.pics or (Path(config.pics) if config.pics else None)
    if pics_file is not None:
        from benchctl.plan import load_pics, make_plan, plan_as_records

        pics = load_pics(pics_file)
        plan = make_plan(pics, available)
        meta = {"pics_file": str(pics_file), "pics": pics.values(), "plan": plan_as_records(plan)}
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
    if args.list:
        _print_plan(console, config, scenarios)
        return EXIT_OK
    run_dir = RunDir.create(args.runs, config.name)
    console.print(f"bench [bold]{escape(config.name)}[/] · {len(scenarios)} case(s) · run directory "
                  f"{escape(str(run_dir.path))}")

    def progress(n: int, scenario: Scenario, result: CaseResult | None) -> None:
        if result is None:
            console.print(escape(f"[{n}/{len(scenarios)}] {scenario.id} {scenario.title} ..."))
        else:
            style = VERDICT_STYLE.get(result.verdict, "")
            step = f" step {result.step}" if result.step is not None else ""
            console.print(f"{escape(f'[{n}/{len(scenarios)}]')} {scenario.id} [{style}]{result.verdict}[/]{step} "
                          f"({result.duration_s:.1f} s) {escape(result.reason)}")

    async def run_until_signalled() -> list[CaseResult]:
        # SIGTERM (a CI job cancelled, a service stopped) ends the run like Ctrl-C does: the task is
        # cancelled, and leaving the bench session puts every role in its safe state
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        return await run_cases(config, scenarios, run_dir, progress, extra_meta=meta)

    try:
        results = asyncio.run(run_until_signalled())
    except asyncio.CancelledError:
        _write_reports(console, run_dir.path)
        console.print(f"[yellow]stopped by SIGTERM; the bench was put in its safe state; finished cases are in "
                      f"{escape(str(run_dir.path))}[/]")
        return EXIT_TERMINATED
    _print_summary(console, results)
    _write_reports(console, run_dir.path)
    console.print(f"run directory: {escape(str(run_dir.path))}")
    return EXIT_OK if results and all(r.verdict == PASS for r in results) else EXIT_FAILED


def cmd_check(args: argparse.Namespace, console: Console) -> int:
    from benchctl.bench.check import check_bench
    from benchctl.csms.capture import Capture
    from benchctl.run.session import open_bench

    config = load_bench(args.bench)

    async def probe() -> list:
        async with open_bench(config, Capture(None), connect=False) as session:
            return await check_bench(session, args.timeout)

    checks = asyncio.run(probe())
    table = Table(title=escape(f"bench '{config.name}' ({config.file})"))
    for column in ("role", "driver", "address", "health", "time"):
        table.add_column(column, no_wrap=True)
    table.add_column("detail", overflow="fold")
    for c in checks:
        health = "[green]OK[/]" if c.ok else "[red]FAIL[/]"
        table.add_row(c.role, c.driver, escape(c.address), health, f"{c.duration_s:.2f} s", escape(c.detail))
    console.print(table)
    return EXIT_OK if all(c.ok for c in checks) else EXIT_FAILED


def cmd_sim(args: argparse.Namespace, console: Console) -> int:
    from hil_sim.faults import unknown_faults
    from hil_sim.serve import serve
    from hil_sim.settings import SimSettings, StationSettings

    bad = unknown_faults(args.fault)
    if bad:
        console.print(f"[red]unknown fault(s): {escape(', '.join(bad))}; see `benchctl faults`[/]")
        return EXIT_USAGE
    settings = SimSettings(StationSettings(connectors=args.connectors, fixed_cable=not args.socket), args.fault)

    def announce(endpoints: dict[str, object]) -> None:
        table = Table(title="hil_sim is running (Ctrl-C stops it)")
        table.add_column("endpoint")
        table.add_column("value")
        for name, value in endpoints.items():
            table.add_row(name, str(value))
        console.print(table)

    asyncio.run(serve(settings, args.csms, args.cp_id, announce))
    return EXIT_OK


def cmd_validate(args: argparse.Namespace, console: Console) -> int:
    failed = False
    for file in args.files:
        try:
            top = load_marked(file).data
            if isinstance(top, dict) and "bench" in top:
                config = load_bench(file)
                console.print(escape(f"{file}: bench '{config.name}' OK ({', '.join(config.roles)})"))
            else:
                scenario = load_scenario(file)
                console.print(escape(f"{file}: {scenario.id} OK ({len(scenario.steps)} steps)"))
        except (ConfigError, OSError) as exc:
            console.print(f"[red]{escape(str(exc))}[/]")
            failed = True
    return EXIT_USAGE if failed else EXIT_OK


def cmd_faults(args: argparse.Namespace, console: Console) -> int:
    from hil_sim.faults import FAULTS

    table = Table(title="Faults of the simulated charger")
    for column in ("fault", "what the charger does wrong", "caught by"):
        table.add_column(column)
    for fault in FAULTS.values():
        table.add_row(fault.name, fault.description, ", ".join(fault.caught_by))
    console.print(table)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=[logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)],
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # soft_wrap: an error's FILE:LINE stays on one line in CI logs and pipes, whatever the width
    console = Console(soft_wrap=True)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args, console))
    except ConfigError as exc:
        console.print(f"[red]config error:[/] {escape(str(exc))}", highlight=False)
        return EXIT_USAGE
    except (DriverError, MissingExtraError) as exc:
        console.print(f"[red]bench error:[/] {escape(str(exc))}", highlight=False)
        return EXIT_BENCH
    except KeyboardInterrupt:
        console.print("[yellow]interrupted; the bench was put in its safe state[/]")
        return 130


if __name__ == "__main__":
    sys.exit(main())
