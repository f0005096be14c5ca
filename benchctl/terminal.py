"""Console output that fits the terminal it is printed on.

A table is the clearest form on a wide terminal and the worst on a narrow one: rich shrinks every column and
cuts what does not fit with an ellipsis, so an 80-column terminal showed `benchctl faults` with fault names no
one could copy into --sim-fault. Below `WIDE` columns a table is printed as a list instead (one block per row,
its first column whole on a line of its own); on a wide terminal its first column is never wrapped or cut.
Colour follows the console: rich leaves it out when NO_COLOR is set or the output is not a terminal.
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

WIDE = 100  # below this many columns a table becomes a list


def make_console() -> Console:
    # soft_wrap: an error's FILE:LINE stays on one line in CI logs and pipes, whatever the width
    return Console(soft_wrap=True)


def print_table(console: Console, table: Table) -> None:
    """`table` on a wide console (its first column whole); as a list of its rows on a narrow one."""
    if not table.columns:
        console.print(table)
        return
    if console.width >= WIDE:
        key = table.columns[0]
        key.no_wrap = True
        key.min_width = max((_plain(c).cell_len for c in key.cells), default=0) or None
        console.print(table)
        return
    if table.title:
        console.print(table.title if isinstance(table.title, (str, Text)) else str(table.title), style="italic")
    headers = [_plain(c.header).plain for c in table.columns]
    for row in zip(*(list(c.cells) for c in table.columns)):
        console.print(row[0] if isinstance(row[0], (str, Text)) else str(row[0]), style="bold")
        for header, cell in zip(headers[1:], row[1:]):
            text = _text(cell)
            if not text.plain.strip():
                continue
            label = f"{header}: " if header else ""
            for n, part in enumerate(text.split("\n")):
                line = Text("  " + (label if n == 0 else " " * len(label)))
                line.append_text(part)
                console.print(line)


def print_json(console: Console, data: Any) -> None:
    """`data` as JSON on stdout, never wrapped, highlighted or coloured, for a script to parse."""
    console.out(json.dumps(data, indent=2, default=str), highlight=False)


def _text(cell: Any) -> Text:
    if isinstance(cell, Text):
        return cell
    return Text.from_markup(cell) if isinstance(cell, str) else Text(str(cell))


def _plain(cell: Any) -> Text:
    return _text(cell) if isinstance(cell, (str, Text)) else Text(escape(str(cell)))
