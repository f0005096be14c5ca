"""The OCPP capture of a run: every frame, both directions, with wall-clock and monotonic timestamps."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Callable

from .frames import Frame

TO_CSMS, TO_CHARGER = "charger->csms", "csms->charger"
CONNECTION = "connection"  # not a frame: an event of a WebSocket connection (Frame.event)


@dataclass
class CapturedFrame:
    index: int
    wall: float
    mono: float
    direction: str
    charge_point_id: str
    frame: Frame
    case: str | None
    connection: int | None = None  # the Central System's number of the WebSocket connection it passed on
    bench: int | None = None  # the simulated bench of a run with several


    def as_record(self) -> dict[str, Any]:
        f = self.frame
        return {
            "i": self.index,
            "ts": datetime.fromtimestamp(self.wall, timezone.utc).isoformat(timespec="microseconds"),
            "mono": round(self.mono, 6),
            "dir": self.direction,
            "cp": self.charge_point_id,
            "case": self.case,
            "type": f.type_name,
            "id": f.unique_id,
            "action": f.action,
            "valid": f.error is None,
            "error": f.error,
            "raw": f.raw,
            "conn": self.connection,
        } | ({"size": f.size} if f.size is not None else {}) | ({"event": f.event} if f.event is not None else {}) \
            | ({"bench": self.bench} if self.bench is not None else {})


def _lines(path: Path | None) -> int:
    if path is None or not path.exists():
        return 0
    with path.open("rb") as f:
        return sum(1 for _ in f)


class CaptureFile:
    """capture.jsonl: one line per frame and one index sequence, shared by the captures of a run's benches."""

    def __init__(self, path: Path | None) -> None:
        # a resumed run appends to its capture: indices go on from the frames already there, so every index
        # a report cites stays unique
        self.next_index = _lines(path)
        self._file: IO[str] | None = path.open("a", encoding="utf-8") if path is not None else None

    def take_index(self) -> int:
        index, self.next_index = self.next_index, self.next_index + 1
        return index

    def write(self, captured: CapturedFrame) -> None:
        if self._file is not None:
            self._file.write(json.dumps(captured.as_record()) + "\n")
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class Capture:
    """Appends each frame to `capture.jsonl` as it passes and keeps it in memory for the checks."""

    def __init__(self, path: Path | None, file: CaptureFile | None = None, bench: int | None = None) -> None:
        self.frames: list[CapturedFrame] = []
        self.file = file if file is not None else CaptureFile(path)
        self.first_index = self.file.next_index
        self.bench = bench  # which of a run's simulated benches the frames are of (None: the run has one)
        self._case: str | None = None
        self._label_starts: dict[str | None, int] = {}  # where the frames of each label last began
        self.listeners: list[Callable[[CapturedFrame], None]] = []

    def sibling(self, bench: int) -> "Capture":
        """The capture of another bench of the same run: its own labels and frames, the same file and indices."""
        return Capture(None, self.file, bench)

    @property
    def case(self) -> str | None:
        """The label the frames get from now on: a case id, or `<id>:reset` and the like around it."""
        return self._case

    @case.setter
    def case(self, label: str | None) -> None:
        if label != self._case:
            self._label_starts[label] = len(self.frames)
        self._case = label

    def frames_of_case(self, label: str) -> list[CapturedFrame]:
        """The frames of `label` since it was last given: a case run again (a retry) is its last attempt only."""
        return [f for f in self.frames[self._label_starts.get(label, 0):] if f.case == label]

    def add(self, direction: str, charge_point_id: str, frame: Frame, connection: int | None = None) -> CapturedFrame:
        captured = CapturedFrame(self.file.take_index(), time.time(), time.monotonic(), direction,
                                 charge_point_id, frame, self.case, connection, self.bench)
        self.frames.append(captured)
        self.file.write(captured)
        for listener in self.listeners:
            listener(captured)
        return captured

    def event(self, charge_point_id: str, text: str, event: dict[str, Any]) -> CapturedFrame:
        """Something that happened to a connection of the charger (opened, refused, closed, taken over), in its place
        among the frames, so a report shows it where it happened."""
        return self.add(CONNECTION, charge_point_id, Frame(text, event=event), event.get("connection"))

    def close(self) -> None:
        self.file.close()
