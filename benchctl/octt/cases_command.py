"""`benchctl octt cases`: the official tool's cases, and the scenario of the test case document each maps to."""

from __future__ import annotations

import argparse
import asyncio

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from benchctl.scenario.model import load_scenarios
from benchctl.terminal import print_json, print_table

from .client import OcttClient, OcttError
from .prompts import load_prompts

EXIT_OK, EXIT_FAILED = 0, 1


def cmd_octt_cases(args: argparse.Namespace, console: Console) -> int:
    book = load_prompts()
    scenarios = {s.id for s in load_scenarios(args.scenarios)}

    async def fetch() -> list:
        async with OcttClient(args.tool) as client:
            return await client.list_cases()

    try:
        cases = asyncio.run(fetch())
    except OcttError as exc:
        console.print(f"[red]{escape(str(exc))}[/]")
        return EXIT_FAILED
    rows = []
    for case in cases:
        document = book.document_case(case.name)
        reset = case.name == book.reset_case
        rows.append({"tool_case": case.name, "description": case.description, "document_case": document,
                     "reset_case": reset, "has_scenario": document in scenarios})
    if getattr(args, "json", False):
        print_json(console, rows)
        return EXIT_OK
    table = Table(title=escape(f"{len(cases)} case(s) in the tool at {args.tool}"))
    for column in ("tool case", "description", "test case document", "scenario"):
        table.add_column(column)
    for row in rows:
        has = "run before every case" if row["reset_case"] else ("yes" if row["has_scenario"] else "[yellow]none[/]")
        table.add_row(escape(str(row["tool_case"])), escape(str(row["description"])), row["document_case"] or "-", has)
    print_table(console, table)
    return EXIT_OK
