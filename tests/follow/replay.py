"""Recorded traffic fed through a Capture as a proxy feeds it: each frame parsed and added in order, at (a
compressed form of) its recorded pace."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, Callable

from benchctl.csms.capture import Capture
from benchctl.csms.frames import parse

DATA = Path(__file__).parent / "data"
Record = dict[str, Any]


def recorded(name: str, *cases: str) -> list[Record]:
    """The frames of a recording whose case label is one of `cases` (a case's 000_RESET is `<case>:reset`)."""
    lines = (DATA / name).read_text().splitlines()
    return [r for r in map(json.loads, lines) if not cases or r["case"] in cases]


def with_raw(records: list[Record], change: Callable[[list[Any]], list[Any] | None]) -> list[Record]:
    """A misbehaving charger made from a healthy recording: `change` gets each frame as a JSON array and returns
    it changed, or None to drop the frame."""
    out = []
    for r in records:
        message = change(json.loads(r["raw"]))
        if message is not None:
            out.append(dict(r, raw=json.dumps(message)))
    return out


async def replay(capture: Capture, records: list[Record], max_gap_s: float = 0.05) -> None:
    pending: dict[str, str] = {}  # the recording's unique ids are uuids: one table serves both directions
    previous = None
    for r in records:
        if previous is not None:
            await asyncio.sleep(min(max(r["mono"] - previous, 0.0), max_gap_s))
        previous = r["mono"]
        capture.add(r["dir"], r["cp"], parse(r["raw"], pending))
