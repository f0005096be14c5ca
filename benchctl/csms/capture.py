"""The OCPP capture of a run: every frame, both directions, with wall-clock and monotonic timestamps.

Every frame goes to `capture.jsonl` as it passes; memory holds only the latest frames of the current label (the
running case), up to `KEEP`, and the counts. Whatever needs an older frame reads it back from the file by its
index, so a 12 h proxy session costs disk, not RAM. A run on several simulated benches has a capture per bench
on one file and one index sequence.
"""

from __future__ import annotations

import bisect
import itertools
import json
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Callable, Iterator

from .frames import CALL, CALLERROR, CALLRESULT, TYPE_NAMES, Frame

TO_CSMS, TO_CHARGER = "charger->csms", "csms->charger"
CONNECTION = "connection"  # not a frame: an event of a WebSocket connection (Frame.event)

# Frames of the current label held in memory (about 1.75 KB each with the parsed payload, so ~3.5 MB): a case's
# frames are usually all there; a longer case reads its older ones back from the file.
KEEP = 2000
# An index is found in the file from the offset of every CHECKPOINT-th frame this session wrote: at most
# CHECKPOINT lines are read to reach it, for 8 bytes of memory per CHECKPOINT frames.
CHECKPOINT = 1024

TYPE_CODES = {name: code for code, name in TYPE_NAMES.items()}


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
            | ({"bench": self.bench} if self.bench is not None else {}) | ({"oversize": True} if f.oversize else {})

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "CapturedFrame":
        """A frame read back from capture.jsonl, as it was captured (the verdict on it is the recorded one; the
        raw text is not checked again)."""
        wall = datetime.fromisoformat(record["ts"]).timestamp()
        return cls(record["i"], wall, record["mono"], record["dir"], record["cp"], _frame_of(record), record["case"],
                   record.get("conn"), record.get("bench"))


def _frame_of(record: dict[str, Any]) -> Frame:
    raw = record["raw"]
    if record.get("event") is not None:
        return Frame(raw, event=record["event"])
    message_type = TYPE_CODES.get(record["type"])
    return Frame(raw, message_type, record["id"], record["action"], _payload(raw, message_type), record["error"],
                 bool(record.get("oversize")), record.get("size"))


def _payload(raw: str, message_type: int | None) -> Any:
    """The payload `parse` gave a frame of that message type: none when its array had the wrong shape."""
    if message_type is None:
        return None
    msg = json.loads(raw)
    if not isinstance(msg[1], str):
        return None
    if message_type == CALL:
        return msg[3] if len(msg) == 4 and isinstance(msg[2], str) else None
    if message_type == CALLRESULT:
        return msg[2] if len(msg) == 3 else None
    assert message_type == CALLERROR
    return {"errorCode": msg[2], "errorDescription": msg[3], "errorDetails": msg[4]} if len(msg) == 5 else None


def _lines(path: Path | None) -> int:
    if path is None or not path.exists():
        return 0
    with path.open("rb") as f:
        return sum(1 for _ in f)


class CaptureFile:
    """capture.jsonl: one line per frame and one index sequence, shared by the captures of a run's benches."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        # a resumed run appends to its capture: indices go on from the frames already there, so every index
        # a report cites stays unique
        self.first_index = self.next_index = _lines(path)
        self._size = path.stat().st_size if path is not None and path.exists() else 0
        self._checkpoints: list[int] = []  # file offset of frame first_index + k * CHECKPOINT
        self._file: IO[str] | None = path.open("a", encoding="utf-8") if path is not None else None

    def take_index(self) -> int:
        index, self.next_index = self.next_index, self.next_index + 1
        return index

    def write(self, captured: CapturedFrame) -> None:
        """Append a frame; frames come in index order (an index is taken and written without a pause between)."""
        if self._file is not None:
            if (captured.index - self.first_index) % CHECKPOINT == 0:
                self._checkpoints.append(self._size)
            line = json.dumps(captured.as_record()) + "\n"
            self._file.write(line)
            self._file.flush()
            self._size += len(line)  # json.dumps escapes every non-ASCII character: characters are bytes here

    def records(self, start: int, stop: int) -> Iterator[dict[str, Any]]:
        """The records of the frames with index in [start, stop), read back; none without a file."""
        if self.path is None or start >= stop:
            return
        line, offset = 0, 0
        if start >= self.first_index and self._checkpoints:
            k = min((start - self.first_index) // CHECKPOINT, len(self._checkpoints) - 1)
            line, offset = self.first_index + k * CHECKPOINT, self._checkpoints[k]
        with self.path.open("rb") as f:
            f.seek(offset)
            for text in itertools.islice(f, max(start - line, 0), stop - line):
                yield json.loads(text)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class Capture:
    """Appends each frame to `capture.jsonl` as it passes; holds this capture's latest `keep` frames of the
    current label in memory (without a file, older frames are gone). Readers: `read` / `frames_of_case` /
    `frame_at` (memory, else the file), `count` / `invalid`, and `listeners` for whoever follows the frames as
    they come."""

    def __init__(self, path: Path | None, file: CaptureFile | None = None, bench: int | None = None,
                 keep: int = KEEP) -> None:
        self.file = file if file is not None else CaptureFile(path)
        self.first_index = self.file.next_index
        self.bench = bench  # which of a run's simulated benches the frames are of (None: the run has one)
        self.count = 0  # frames of this session (a resumed run's earlier ones not counted)
        self.invalid = 0  # of them, frames not valid OCPP
        # this capture's latest frames, all of the current label: every frame of this capture from the first
        # held one on is here
        self.held: deque[CapturedFrame] = deque(maxlen=keep)
        self._case: str | None = None
        # (first index, end index or None while current) of each label's last stretch; a label is given once per
        # case and attempt, so this grows with the cases, not the frames
        self._spans: dict[str | None, tuple[int, int | None]] = {None: (self.first_index, None)}
        self.listeners: list[Callable[[CapturedFrame], None]] = []

    def sibling(self, bench: int) -> "Capture":
        """The capture of another bench of the same run: its own labels and frames, the same file and indices."""
        return Capture(None, self.file, bench, self.held.maxlen or KEEP)

    @property
    def next_index(self) -> int:
        """The index the next frame of the run gets (whichever bench's)."""
        return self.file.next_index

    @property
    def case(self) -> str | None:
        """The label the frames get from now on: a case id, or `<id>:reset` and the like around it."""
        return self._case

    @case.setter
    def case(self, label: str | None) -> None:
        if label != self._case:
            self._spans[self._case] = (self._spans[self._case][0], self.next_index)
            self._spans[label] = (self.next_index, None)
            self.held.clear()
        self._case = label

    def frames_of_case(self, label: str | None) -> list[CapturedFrame]:
        """The frames of `label` since it was last given: a case run again (a retry) is its last attempt only."""
        start, end = self._spans.get(label, (self.next_index, self.next_index))
        return [f for f in self.read(start, end) if f.case == label]

    def read(self, start: int | None = None, stop: int | None = None) -> list[CapturedFrame]:
        """This capture's frames with index in [start, stop) (default: every frame of this session)."""
        return list(self.iter_frames(start, stop))

    def iter_frames(self, start: int | None = None, stop: int | None = None) -> Iterator[CapturedFrame]:
        """As `read`, one at a time: those no longer held come from the file as they are reached."""
        start = self.first_index if start is None else max(start, 0)
        stop = self.next_index if stop is None else min(stop, self.next_index)
        first_held = self.held[0].index if self.held else self.next_index
        if start < first_held:
            for record in self.file.records(start, min(stop, first_held)):
                if record.get("bench") == self.bench:
                    yield CapturedFrame.from_record(record)
        if stop > first_held:
            for captured in self.held:
                if captured.index >= stop:
                    break
                if captured.index >= start:
                    yield captured

    def frame_at(self, index: int) -> CapturedFrame | None:
        """This capture's frame of that index, from memory or the file; None when it has no such frame."""
        if self.held and index >= self.held[0].index:
            at = bisect.bisect_left(self.held, index, key=lambda f: f.index)
            return self.held[at] if at < len(self.held) and self.held[at].index == index else None
        return next(self.iter_frames(index, index + 1), None)

    def add(self, direction: str, charge_point_id: str, frame: Frame, connection: int | None = None, *,
            wall: float | None = None, mono: float | None = None) -> CapturedFrame:
        """Capture a frame passing now (`wall` and `mono`: when it passed, for a capture replayed)."""
        captured = CapturedFrame(self.file.take_index(), time.time() if wall is None else wall,
                                 time.monotonic() if mono is None else mono, direction, charge_point_id, frame,
                                 self.case, connection, self.bench)
        self.file.write(captured)
        self.count += 1
        self.invalid += frame.error is not None
        self.held.append(captured)
        for listener in self.listeners:
            listener(captured)
        return captured

    def event(self, charge_point_id: str, text: str, event: dict[str, Any]) -> CapturedFrame:
        """Something that happened to a connection of the charger (opened, refused, closed, taken over), in its place
        among the frames, so a report shows it where it happened."""
        return self.add(CONNECTION, charge_point_id, Frame(text, event=event), event.get("connection"))

    def close(self) -> None:
        self.file.close()
