"""A simulated open-hardware EV emulator board (Arduino style) on a pseudo-terminal.

It speaks the protocol of docs/serial-ev-emulator.md, as `drivers.evse_tester.serial_ev` expects:
single-character commands, each acknowledged with the character and CR LF ("!<char>" CR LF for an unknown
one; CR, LF and space are ignored so a person can type at it in a terminal), and a measurement frame
"M,<cp_high_mV>,<cp_low_mV>,<duty_permille>,<freq_hz>,<state>" CR LF every `frame_period_s` and after '?'.

Commands go straight into one connector of the World (plug relay -> plugged_ev_side, resistors -> ev_state,
diode -> diode_fault, PP -> pp_rating_a, 'L'/'l' -> latch_pressed); frames are computed from the World when
they are sent. With the plug relay open the board measures what the charger's socket shows (state A). Switching
the board off (`stop()`) releases its relays: plug open, state A, diode fault off, latch released.

Faults: `silent` (hung firmware: input swallowed, no acks, no frames) and `garbage` (a malformed line before
every periodic frame: truncated or out-of-range frames, a boot banner, binary noise, an over-long line).
"""

from __future__ import annotations

import asyncio
import itertools
from functools import partial
from typing import Callable

from ..world import Connector, World
from .pty_device import PtyDevice

PP_RATINGS = {"1": 13, "2": 20, "3": 32, "6": 63}
IGNORED = frozenset("\r\n ")

# What a board may print between its frames when something is wrong; none of these is an ack or a frame.
GARBAGE_LINES: tuple[bytes, ...] = (
    b"M,9000,-12000,500\r\n",  # cut short
    b"M,9000,-12000,5x0,1000,B\r\n",  # a digit corrupted into a letter
    b"\x00\xff\xfe\x80\x7f noise\r\n",  # not even ASCII
    b"EVSIM v0.3 booting... ok\r\n",  # a boot banner
    b"M,90000000,-12000,500,1000,B\r\n",  # out of range
    b"M,9000,-12000,1500,1000,B\r\n",  # duty above 100 %
    b"M,9000,-12000,500,1000,Q\r\n",  # no such state
    b"#" * 100 + b"\r\n",  # longer than any line the driver accepts
    b"M,,,,,\n",  # empty fields, LF only
    b"AB\r\n",  # two command characters: not an ack
)


class SimSerialEV(PtyDevice):
    """Open-hardware EV emulator board on a pty; `port_name` is what the driver opens."""

    def __init__(self, world: World, connector_id: int = 1, frame_period_s: float | None = 0.2) -> None:
        super().__init__()
        world.connector(connector_id)  # fail now, not on the first command
        if frame_period_s is not None and not frame_period_s > 0:
            raise ValueError(f"frame_period_s must be > 0 seconds (or None: frames on '?' only), not "
                             f"{frame_period_s!r}")
        self.world = world
        self.connector_id = connector_id
        self.frame_period_s = frame_period_s
        self.garbage = False  # fault: a malformed line before every periodic frame
        self.commands: list[str] = []  # every character taken as a command (known or not), in order
        self.frames_sent = 0
        self.garbage_sent = 0
        self._garbage = itertools.cycle(GARBAGE_LINES)
        self._ticker: asyncio.Task[None] | None = None
        self._handlers: dict[str, Callable[[], None]] = {
            **{s: partial(self._set, "ev_state", s) for s in "ABCDE"},
            "P": lambda: self._set("plugged_ev_side", True),
            "p": lambda: self._set("plugged_ev_side", False),
            "X": lambda: self._set("diode_fault", True),
            "x": lambda: self._set("diode_fault", False),
            **{c: partial(self._set, "pp_rating_a", a) for c, a in PP_RATINGS.items()},
            "L": lambda: self._set("latch_pressed", True),  # the actuator on the Type 1 coupler's release button
            "l": lambda: self._set("latch_pressed", False),
            "?": lambda: None,  # the frame follows the ack
        }

    @property
    def connector(self) -> Connector:
        return self.world.connector(self.connector_id)

    # lifecycle ------------------------------------------------------------------------------------

    async def start(self) -> None:
        await super().start()
        if self._ticker is None and self.frame_period_s is not None:
            self._ticker = asyncio.create_task(self._tick(self.frame_period_s), name="sim serial EV frames")

    async def stop(self) -> None:
        ticker, self._ticker = self._ticker, None
        if ticker is not None:
            ticker.cancel()
            await asyncio.wait([ticker])
        await super().stop()

    def stopped(self) -> None:
        # power gone: the relays fall back to their rest position
        for name, value in (("plugged_ev_side", False), ("ev_state", "A"), ("diode_fault", False),
                            ("latch_pressed", False)):
            self._set(name, value)

    # bytes in, bytes out --------------------------------------------------------------------------

    def received(self, data: bytes) -> None:
        for byte in data:
            char = chr(byte)
            if char in IGNORED:
                continue
            self.commands.append(char)
            handler = self._handlers.get(char)
            if handler is None:
                self.send(b"!" + bytes([byte]) + b"\r\n")
                continue
            handler()
            self.send(bytes([byte]) + b"\r\n")
            if char == "?":
                self._send_frame(droppable=False)

    async def _tick(self, period_s: float) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time() + period_s
        while True:
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            next_at = max(next_at + period_s, loop.time())  # a busy loop delays frames, never bunches them
            if self.silent or not self.running:
                continue
            if self.garbage:
                if self.send(next(self._garbage), droppable=True):
                    self.garbage_sent += 1
            self._send_frame(droppable=True)

    def _send_frame(self, droppable: bool) -> None:
        if self.send(self.frame_line().encode("ascii"), droppable=droppable):
            self.frames_sent += 1

    # the world ------------------------------------------------------------------------------------

    def frame_line(self) -> str:
        """The measurement frame for the World as it is now."""
        c = self.connector
        high, low = c.cp_voltages()
        duty = min(max(c.pwm_duty_pct, 0.0), 100.0)
        # a DC level (0 % or 100 %) has no frequency; the board reads 0 Hz
        frequency = self.world.pwm_frequency_hz if 0.0 < duty < 100.0 else 0.0
        return (
            f"M,{round(high * 1000)},{round(low * 1000)},{round(duty * 10)},{round(frequency)},"
            f"{c.cp_state()}\r\n"
        )

    def _set(self, name: str, value: object) -> None:
        self.world.set(name, value, connector_id=self.connector_id)
