"""An EV emulator on an open-hardware board (Arduino style) behind a USB serial port.

The wire protocol is in docs/serial-ev-emulator.md. In short: the driver sends single characters ('A'..'E'
CP state, 'P'/'p' plug relay, 'X'/'x' diode fault, '1' '2' '3' '6' PP rating, 'L'/'l' press/release
the Type 1 latch, '?' measure now); the board
answers each with the character and CR LF ("!<char>" CR LF for a character it does not know), and sends a
measurement frame "M,<cp_high_mV>,<cp_low_mV>,<duty_permille>,<freq_hz>,<state>" CR LF every frame period
and after each '?'.

One reader task takes the port's bytes (pyserial in asyncio.to_thread, in short slices so close() never waits
long) and hands them to the line reader (serial_ev_lines), which sorts each line into an ack, a refusal, a
frame, or a malformed line. Commands are sent one at a time and each waits for its own ack.

A measurement is the freshest frame that is (a) younger than two frame periods, the period being learnt from
the frames the board sends by itself, and (b) received after the ack of the driver's last command, so a
reading never predates what the driver just switched. When there is no such frame, '?' asks for one.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import deque
from functools import partial
from typing import Any

import serial

from ..retry import RetryPolicy
from ..safety import all_safe_actions
from ..serial_line import PORT_ERRORS, close_quietly, open_port
from ..steplog import StepLog, step
from . import checks, proximity
from .protocol import CPMeasurement, EVEmulatorProtocol
from .serial_ev_lines import (
    DIODE_FAULT_COMMAND,
    EV_STATES,
    LATCH_COMMAND,
    MEASURE_COMMAND,
    PLUG_COMMAND,
    PP_COMMAND,
    LineReader,
    Received,
    measurement,
)
from .settings import SerialEvSettings

READ_SLICE_S = 0.05  # one blocking read at most; bounds how long close() waits for the reader
PERIOD_SAMPLES = 8  # gaps between unasked frames the period estimate is the median of
FRESH_PERIODS = 2.0  # a frame older than this many periods is not a measurement any more


class SerialEVEmulator(EVEmulatorProtocol):
    """EV emulator board on a serial port; the port is opened on first use if `connect()` was not called."""

    backend = "serial"
    kind = "ev_emulator"
    settings = SerialEvSettings
    summary = "open-hardware EV emulator board (Arduino style) on a serial port"
    on_lost = (
        "board firmware decides; the documented protocol asks for relays whose rest position (board off or "
        "reset) is plug open / state A, so pulling the USB cable makes it safe. A board that stays powered "
        "keeps its last state."
    )
    docs = "serial-ev-emulator.md"

    def __init__(self, role: str, settings: SerialEvSettings, *, steplog: StepLog | None = None) -> None:
        super().__init__(role, settings.port, steplog)
        self.plug = proximity.check_plug(settings.plug)
        if isinstance(settings.baudrate, bool) or not isinstance(settings.baudrate, int) or settings.baudrate <= 0:
            raise ValueError(f"baudrate must be a positive integer, not {settings.baudrate!r}")
        policy = RetryPolicy(settings.timeout_s, settings.retries)  # checks both
        self.standard = checks.standard(settings.standard)
        self.port = settings.port
        self.baudrate = settings.baudrate
        self.timeout_s = float(policy.timeout_s)
        self.retries = policy.retries
        # counters, for self_test and for whoever debugs a bench
        self.frames_received = 0
        self.stray_lines = 0  # acks and refusals nobody was waiting for (e.g. late answers to a retried command)
        # what the driver last switched and the board acknowledged (the board has no read-back)
        self.commanded: dict[str, Any] = {"plug": None, "cp_state": None, "diode_fault": None, "pp_rating_a": None}
        if self.plug == "type1":
            self.commanded["latch_pressed"] = None
        self._serial: serial.Serial | None = None
        self._reader: asyncio.Task[None] | None = None
        self._open_lock = asyncio.Lock()
        self._command_lock = asyncio.Lock()  # one command on the wire at a time
        self._ack_waiter: tuple[str, asyncio.Future[int]] | None = None
        self._frame_waiters: list[asyncio.Future[Received]] = []
        self._latest: Received | None = None
        self._commanded_line = 0  # line number of the ack of the last command that changed something
        self._gaps: deque[float] = deque(maxlen=PERIOD_SAMPLES)
        self._last_unasked_at: float | None = None
        self._lines = LineReader(self._on_answer, self._on_frame)

    # lifecycle ------------------------------------------------------------------------------------

    @step
    async def connect(self) -> None:
        """Open the serial port and start reading. Idempotent."""
        await self._open()

    @step
    async def close(self) -> None:
        """Stop reading and close the port; commands still waiting fail. Never raises."""
        async with self._open_lock:
            if self._serial is not None:
                await self._release(self._serial, self.error("port closed while waiting for the board"))

    @step
    async def safe_state(self) -> None:
        """Plug relay open, state A, diode fault off, in that order; every one is tried even if one fails."""
        # The plug opens first, so the charger sees the EV leave rather than a sequence of state changes.
        actions: list[tuple[str, str, str, Any]] = [
            (PLUG_COMMAND[False], "plug open", "plug", False),
            ("A", "state A", "cp_state", "A"),
            (DIODE_FAULT_COMMAND[False], "diode fault off", "diode_fault", False),
        ]
        if self.plug == "type1":  # released last: the coupler is out by then
            actions.append((LATCH_COMMAND[False], "latch released", "latch_pressed", False))
        await all_safe_actions(partial(self._command, *action) for action in actions)

    @step
    async def self_test(self) -> dict[str, Any]:
        """Ask the board for a frame now ('?'); raise DriverError when it does not answer."""
        async with self._command_lock:
            received = await self._exchange(MEASURE_COMMAND, "measure now", want_frame=True)
        assert received is not None
        return {
            "port": self.port,
            "measurement": measurement(received.frame, self.standard).as_dict(),
            "board_state": received.frame.state,
            "frame_period_s": self.frame_period_s,
            "frames": self.frames_received,
            "malformed_lines": self.malformed_lines,
            "stray_lines": self.stray_lines,
            "commanded": dict(self.commanded),
        }

    # role commands --------------------------------------------------------------------------------

    @step
    async def set_plug(self, connected: bool) -> None:
        value = checks.flag("connected", connected)
        await self._command(PLUG_COMMAND[value], f"plug {'closed' if value else 'open'}", "plug", value)

    @step
    async def set_cp_state(self, state: str) -> None:
        if state == "F":
            raise ValueError(
                "state F cannot be commanded: an EV cannot pull CP to −12 V (only the EVSE can); "
                f"use one of {', '.join(EV_STATES)}"
            )
        value = checks.cp_state(state, EV_STATES)
        await self._command(value, f"state {value}", "cp_state", value)

    @step
    async def set_diode_fault(self, fault: bool) -> None:
        value = checks.flag("fault", fault)
        await self._command(DIODE_FAULT_COMMAND[value], f"diode fault {'on' if value else 'off'}", "diode_fault",
                            value)

    @step
    async def set_pp_rating(self, amps: int) -> None:
        value = checks.pp_rating(amps)
        self.pp_rating_check()
        await self._command(PP_COMMAND[value], f"PP rating {value} A", "pp_rating_a", value)

    @step
    async def set_latch(self, pressed: bool) -> None:
        value = checks.flag("pressed", pressed)
        self.latch_check()
        await self._command(LATCH_COMMAND[value], f"latch {'pressed' if value else 'released'}", "latch_pressed",
                            value)

    @step
    async def measure(self) -> CPMeasurement:
        """The freshest frame younger than two frame periods and newer than the last command, else '?'."""
        await self._open()
        received = self._fresh_frame()
        if received is None:
            async with self._command_lock:
                received = self._fresh_frame()  # another task may have asked for one meanwhile
                if received is None:
                    received = await self._exchange(MEASURE_COMMAND, "measure now", want_frame=True)
        assert received is not None
        return measurement(received.frame, self.standard)

    @property
    def malformed_lines(self) -> int:
        """Lines of no known shape, skipped (the first after opening, likely a cut one, not counted)."""
        return self._lines.malformed_lines

    @property
    def frame_period_s(self) -> float | None:
        """The board's frame period as learnt from the frames it sent unasked; None until two arrived."""
        return statistics.median(self._gaps) if self._gaps else None

    # fresh frames -------------------------------------------------------------------------------

    def _fresh_frame(self) -> Received | None:
        latest, period = self._latest, self.frame_period_s
        if latest is None or period is None or latest.line_no < self._commanded_line:
            return None
        if time.monotonic() - latest.at > FRESH_PERIODS * period:
            return None
        return latest

    # commands -------------------------------------------------------------------------------------

    async def _command(self, command: str, label: str, key: str, value: Any) -> None:
        async with self._command_lock:
            line_no = await self._exchange(command, label)
            assert line_no is not None
            self.commanded[key] = value
            # frames read before this ack show the board as it was: measure() must not return them
            self._commanded_line = max(self._commanded_line, line_no)

    async def _exchange(self, command: str, label: str, want_frame: bool = False) -> Any:
        """Send one character and wait for its ack (and, with `want_frame`, for a frame after it).

        Returns the ack's line number, or the frame when `want_frame`. Call with `_command_lock` held.
        """
        loop = asyncio.get_running_loop()
        attempts = self.retries + 1
        last = ""
        for _ in range(attempts):
            port = await self._open()
            ack: asyncio.Future[int] = loop.create_future()
            frame: asyncio.Future[Received] | None = loop.create_future() if want_frame else None
            self._ack_waiter = (command, ack)
            if frame is not None:
                self._frame_waiters.append(frame)
            deadline = loop.time() + self.timeout_s
            try:
                try:
                    await asyncio.to_thread(self._write, port, command)
                except serial.SerialTimeoutException:
                    last = "write timed out"  # took the whole timeout already
                    continue
                except PORT_ERRORS as exc:
                    await self._release(port, None)
                    raise self.error(f"{label} ({command!r}): serial I/O failed: {exc}") from exc
                try:
                    line_no = await asyncio.wait_for(ack, max(0.0, deadline - loop.time()))
                except TimeoutError:
                    last = "no ack"
                    continue
                if frame is None:
                    return line_no
                try:
                    return await asyncio.wait_for(frame, max(0.0, deadline - loop.time()))
                except TimeoutError:
                    last = "acked, but no frame followed"
                    continue
            finally:
                if self._ack_waiter is not None and self._ack_waiter[1] is ack:
                    self._ack_waiter = None
                if frame is not None and frame in self._frame_waiters:
                    self._frame_waiters.remove(frame)
                for waiter in (ack, frame):
                    if waiter is not None and waiter.done() and not waiter.cancelled():
                        waiter.exception()  # failed while we were not awaiting it (e.g. the port went away)
        raise self.error(
            f"no answer to {label} ({command!r}): {attempts} attempt{'s' if attempts > 1 else ''} of "
            f"{self.timeout_s:g} s; last: {last}"
        )

    @staticmethod
    def _write(port: serial.Serial, command: str) -> None:
        # no flush(): tcdrain has no timeout, and write() already waited (write_timeout) for the kernel to take it
        port.write(command.encode("ascii"))

    # port and reader ------------------------------------------------------------------------------

    async def _open(self) -> serial.Serial:
        async with self._open_lock:
            if self._serial is not None:
                return self._serial
            port = await asyncio.to_thread(
                open_port, self.port, self.baudrate, READ_SLICE_S, self.error,
                write_timeout_s=self.timeout_s, exclusive=True,
            )
            self._lines.restart()
            self._latest = None
            self._last_unasked_at = None
            self._serial = port
            self._reader = asyncio.create_task(self._read_loop(port), name=f"{self.role} serial reader")
            return port

    async def _read_loop(self, port: serial.Serial) -> None:
        try:
            while self._serial is port:
                chunk = await asyncio.to_thread(self._read_chunk, port)
                if chunk and self._serial is port:
                    self._lines.feed(chunk, time.monotonic())
        except Exception as exc:  # noqa: BLE001 - whatever a port being closed under the read raises
            if self._serial is port:  # not our own close(): the board went away (unplugged, reset, crashed)
                await self._release(port, self.error(f"serial I/O failed: {exc}"))

    @staticmethod
    def _read_chunk(port: serial.Serial) -> bytes:
        data = port.read(1)  # waits at most READ_SLICE_S
        if data:
            waiting = port.in_waiting
            if waiting:
                data += port.read(waiting)
        return data

    async def _release(self, port: serial.Serial, error: Exception | None) -> None:
        """Forget `port` if it is still ours (failing whoever waits with `error`), stop its reader, close it.

        The next command opens the port again.
        """
        reader = None
        if self._serial is port:
            self._serial, reader, self._reader = None, self._reader, None
            if error is not None:
                self._fail_waiters(error)
        try:
            port.cancel_read()  # the reader's blocking read returns now rather than after its slice
        except Exception:  # noqa: BLE001 - a port that is gone cannot be cancelled, nor needs to be
            pass
        if reader is not None and reader is not asyncio.current_task():
            await asyncio.wait([reader])  # never raises, even for a reader cancelled by a closing loop
        await asyncio.to_thread(close_quietly, port)

    def _fail_waiters(self, error: Exception) -> None:
        waiters: list[asyncio.Future[Any]] = list(self._frame_waiters)
        if self._ack_waiter is not None:
            waiters.append(self._ack_waiter[1])
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(error)

    # answers and frames ----------------------------------------------------------------------------------------

    def _on_answer(self, command: str, refusal: str | None) -> None:
        waiter = self._ack_waiter
        if waiter is None or waiter[0] != command or waiter[1].done():
            self.stray_lines += 1
            return
        if refusal is None:
            waiter[1].set_result(self._lines.line_no)
        else:
            waiter[1].set_exception(self.error(f"the board refused {command!r} (answered {refusal!r})"))

    def _on_frame(self, received: Received) -> None:
        self.frames_received += 1
        self._latest = received
        waiters, self._frame_waiters = self._frame_waiters, []
        asked = False
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(received)
                asked = True
        if not asked:  # only frames the board sent by itself tell its period
            if self._last_unasked_at is not None:
                self._gaps.append(received.at - self._last_unasked_at)
            self._last_unasked_at = received.at
