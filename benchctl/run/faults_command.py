"""`benchctl faults`: the simulated charger's named faults and behaviour variants, as tables or JSON."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from benchctl.terminal import print_json, print_table
from hil_sim.faults import FAULTS
from hil_sim.variants import VARIANTS

NO_STEP = "no case step: the return to idle must recover the station"


def add_faults_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    faults = sub.add_parser("faults", help="list the simulated charger's named faults and behaviour variants",
                            description="Faults the simulator can switch on (`benchctl run --sim-fault NAME`), "
                                        "and the case step each must fail; then its behaviour variants "
                                        "(`--sim-variant NAME`), conforming choices on which every case must "
                                        "pass. Below 100 columns the tables are printed as lists, so every name "
                                        "stays whole.")
    faults.add_argument("--json", action="store_true", help="print the faults and variants as JSON")
    faults.set_defaults(func=cmd_faults)


def faults_record() -> dict[str, Any]:
    return {"faults": [{"name": f.name, "description": f.description, "caught_by": list(f.caught_by),
                        "warns": list(f.warns)} for f in FAULTS.values()],
            "variants": [asdict(v) for v in VARIANTS.values()]}


def cmd_faults(args: argparse.Namespace, console: Console) -> int:
    if args.json:
        print_json(console, faults_record())
        return 0
    table = Table(title="Faults of the simulated charger (each must FAIL its case at its step)")
    for column in ("fault", "what the charger does wrong", "caught by"):
        table.add_column(column)
    warned = Table(title="Defects beyond the document (the case still PASSes, with a WARN finding)")
    for column in ("fault", "what the charger does wrong", "warned in"):
        warned.add_column(column)
    for fault in FAULTS.values():
        if fault.caught_by or not fault.warns:
            table.add_row(fault.name, escape(fault.description), ", ".join(fault.caught_by) or NO_STEP)
        if fault.warns:
            warned.add_row(fault.name, escape(fault.description), ", ".join(fault.warns))
    print_table(console, table)
    print_table(console, warned)
    _print_variants(console)
    return 0


def _print_variants(console: Console) -> None:
    table = Table(title="Behaviour variants of the simulated charger (conforming: every case of the plan must PASS)")
    for column in ("variant", "what the charger does", "changes"):
        table.add_column(column)
    for v in VARIANTS.values():
        changes = [f"{section}.{k}: {val}" for section, settings in
                   (("station", v.station), ("pics", v.answers), ("values", v.values), ("dut", v.dut))
                   for k, val in settings.items()]
        table.add_row(v.name, escape(v.description), escape("; ".join(changes) or "-"))
    print_table(console, table)
