"""The line protocol of the serial EV emulator board (docs/serial-ev-emulator.md): its command characters, its
measurement frames, and the reader side that cuts the board's bytes into lines and sorts each by its shape.

Everything the board says is a line ending in LF: one known command character is an ack, "!" + one character
a refusal, "M," + five fields a frame. Anything else (boot banners, debug prints, a line cut by a reset,
noise) is counted in `malformed_lines` and skipped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from . import iec61851
from .protocol import CP_STATES, CPMeasurement

# The states an EV can present: F is the EVSE pulling CP to -12 V, no EV-side resistor does that.
EV_STATES = tuple(s for s in CP_STATES if s != "F")
PLUG_COMMAND = {True: "P", False: "p"}
DIODE_FAULT_COMMAND = {True: "X", False: "x"}
PP_COMMAND = {13: "1", 20: "2", 32: "3", 63: "6"}
LATCH_COMMAND = {True: "L", False: "l"}  # press / release the Type 1 coupler's latch (its switch S3 open / closed)
MEASURE_COMMAND = "?"
COMMANDS = frozenset(EV_STATES) | set(PLUG_COMMAND.values()) | set(DIODE_FAULT_COMMAND.values()) \
    | set(PP_COMMAND.values()) | set(LATCH_COMMAND.values()) | {MEASURE_COMMAND}

MAX_LINE = 64  # bytes before the LF; the longest valid frame is 28

MAX_CP_MV = 15_000  # beyond +-15 V a CP reading is a broken frame, not a voltage
MAX_FREQUENCY_HZ = 65_535

_FRAME = re.compile(r"M,(-?\d{1,6}),(-?\d{1,6}),(-?\d{1,6}),(-?\d{1,6}),([A-F])")


@dataclass(frozen=True)
class Frame:
    """One measurement frame as the board sent it (board units)."""

    cp_high_mv: int
    cp_low_mv: int
    duty_permille: int
    frequency_hz: int
    state: str  # the board's own classification


def parse_frame(line: str) -> Frame | None:
    """The frame in `line` (without its CR LF), or None unless it is one, whole and in range."""
    match = _FRAME.fullmatch(line)
    if match is None:
        return None
    high, low, duty, frequency = (int(g) for g in match.groups()[:4])
    if abs(high) > MAX_CP_MV or abs(low) > MAX_CP_MV or not 0 <= duty <= 1000:
        return None
    if not 0 <= frequency <= MAX_FREQUENCY_HZ:
        return None
    return Frame(high, low, duty, frequency, match.group(5))


def measurement(frame: Frame, standard: str) -> CPMeasurement:
    """The frame in volts, percent and hertz, read as every backend reads CP (`standard`: iec or sae)."""
    high_v = frame.cp_high_mv / 1000
    duty_pct = frame.duty_permille / 10
    # As with every backend, the state is the one the high level is in; the board's letter only fills in
    # when the level is in no band (a broken line), so a reading is never left blank.
    state = iec61851.cp_voltage_to_state(high_v) or frame.state
    return CPMeasurement(
        high_v=high_v,
        low_v=frame.cp_low_mv / 1000,
        duty_pct=duty_pct,
        frequency_hz=float(frame.frequency_hz),
        state=state,
        current_limit_a=iec61851.duty_to_current(duty_pct, standard),
    )


@dataclass(frozen=True)
class Received:
    frame: Frame
    at: float  # time.monotonic() when it was read
    line_no: int  # position among all lines read, to order frames against acks


class LineReader:
    """Sorts the board's lines: `on_answer(command, refusal)` for an ack (refusal None) or a refusal (the whole
    line), `on_frame(received)` for a frame; `line_no` is the number of the line being handled."""

    def __init__(self, on_answer: Callable[[str, str | None], None], on_frame: Callable[[Received], None]) -> None:
        self.on_answer = on_answer
        self.on_frame = on_frame
        self.malformed_lines = 0
        self.line_no = 0
        self._buffer = bytearray()
        self._skipping = False  # inside an over-long line: drop bytes up to the next LF
        self._first_line = True  # the first line after opening may be the tail of one sent before we listened

    def restart(self) -> None:
        """The port was (re)opened: what came before is gone, and the first line may be a tail again."""
        self._buffer.clear()
        self._skipping = False
        self._first_line = True

    def feed(self, data: bytes, at: float) -> None:
        self._buffer += data
        while True:
            end = self._buffer.find(b"\n")
            if end < 0:
                if len(self._buffer) > MAX_LINE:  # no LF in sight: drop it and resynchronise on the next LF
                    self._buffer.clear()
                    if not self._skipping:
                        self._skipping = True
                        self._malformed()
                return
            raw = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            if self._skipping:
                self._skipping = False  # the end of the over-long line, already counted
                continue
            self._on_line(raw.removesuffix(b"\r"), at)

    def _malformed(self) -> None:
        if self._first_line:
            self._first_line = False  # most likely the tail of a line sent before we opened the port
        else:
            self.malformed_lines += 1

    def _on_line(self, raw: bytes, at: float) -> None:
        if not raw:
            return  # a blank line says nothing, and costs nothing
        if len(raw) > MAX_LINE:
            self._malformed()
            return
        try:
            line = raw.decode("ascii")
        except UnicodeDecodeError:
            self._malformed()
            return
        self.line_no += 1
        if len(line) == 1 and line in COMMANDS:
            self._first_line = False
            self.on_answer(line, None)
        elif len(line) == 2 and line[0] == "!":
            self._first_line = False
            self.on_answer(line[1], line)
        elif (frame := parse_frame(line)) is not None:
            self._first_line = False
            self.on_frame(Received(frame, at, self.line_no))
        else:
            self._malformed()
