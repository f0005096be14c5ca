"""The simulator's own command line (`python -m hil_sim`; `benchctl sim` hands its arguments here): start the
simulated charger and gear on their own and print their endpoints, so a real Central System or the real drivers can
be pointed at them."""

from __future__ import annotations

import argparse
import asyncio

from rich.console import Console
from rich.markup import escape
from rich.table import Table

EXIT_OK, EXIT_USAGE = 0, 2
DESCRIPTION = ("Start hil_sim (charger, EV emulator, relay board, card presenter) without a run, so a real Central "
               "System or the real drivers can be pointed at it. The simulated charger dials the Central System at "
               "--csms. Ctrl-C stops it.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--csms", default="ws://127.0.0.1:9000/ocpp",
                        help="Central System URL the charger dials, without the charge point id (default: %(default)s)")
    parser.add_argument("--cp-id", default="SIM-CP-1", help="charge point id (default: %(default)s)")
    parser.add_argument("--connectors", type=int, choices=(1, 2), default=1,
                        help="connectors of the simulated charger (default: %(default)s)")
    parser.add_argument("--socket", action="store_true", help="a socket outlet instead of a fixed cable")
    parser.add_argument("--fault", action="append", default=[], metavar="FAULT",
                        help="switch on a named fault of the simulated charger (repeatable; see `benchctl faults`)")
    parser.add_argument("--sim-variant", metavar="VARIANT",
                        help="a named behaviour variant (a conforming implementation choice; see `benchctl faults`)")


def run(args: argparse.Namespace, console: Console) -> int:
    """Serve until interrupted; 2 for a fault or variant the simulator does not have."""
    # the simulator itself loads here, not when a command line is merely built (`benchctl --help`)
    from .faults import unknown_faults_message
    from .serve import serve
    from .settings import SimSettings, StationSettings
    from .variants import VARIANTS, apply_station, unknown_variant

    problem = unknown_faults_message(args.fault) or (unknown_variant(args.sim_variant) if args.sim_variant else None)
    if problem:
        console.print(f"[red]{escape(problem)}[/]")
        return EXIT_USAGE
    settings = SimSettings(StationSettings(connectors=args.connectors, fixed_cable=not args.socket), args.fault)
    if args.sim_variant:
        apply_station(VARIANTS[args.sim_variant], settings.station)  # its settings win over --connectors/--socket

    def announce(endpoints: dict[str, object]) -> None:
        table = Table(title="hil_sim is running (Ctrl-C stops it)")
        table.add_column("endpoint")
        table.add_column("value")
        for name, value in endpoints.items():
            table.add_row(name, str(value))
        console.print(table)

    asyncio.run(serve(settings, args.csms, args.cp_id, announce))
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hil_sim", description=DESCRIPTION)
    add_arguments(parser)
    return run(parser.parse_args(argv), Console())
