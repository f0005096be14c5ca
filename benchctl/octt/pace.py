"""How often the tool's prompt is polled, and what counts as a new prompt.

The desktop tool has no way to push a prompt, so it is polled: its HTTP API has no long poll (isWaitingOnPrompt
answers at once), no event stream and no callback for prompts. A prompt follows something that happened (a case
started, a prompt was answered, a frame passed the proxy and the tool reacted to it), so for QUICK_FOR_S after
each such event it is looked for at the quick pace; when nothing happens the pace backs off to about once a
second, as public automation scripts poll, so an idle case does not cost the tool hundreds of calls a minute.

Why 25 ms: a prompt asks for a physical step the tool then watches for, and benchctl's budget from the prompt
opening to the gear's first command is 50 ms at p99 (issue 19); the poll's wait is most of it (the two calls to
read the prompt, the answer and the gear's command take a few ms on loopback). 40 calls a second, each a bare
boolean from a local HTTP server, for two seconds after an event, is a light load for any HTTP server; polling
faster would buy little against the rest of the budget and cost the tool more.

The tool's prompt flag may stay up a moment after the prompt was answered. The prompt answered last is
remembered (case, text, time): seen again before its flag was seen down or its text changed, it is the same
prompt, never answered (nor acted on) twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("benchctl.octt")

DEFAULT_POLL_S = 0.025  # the quick pace, right after something happened (see above for why)
DEFAULT_IDLE_POLL_S = 1.0  # the idle pace public scripts use
QUICK_FOR_S = 2.0  # how long after an event the quick pace holds
BACKOFF = 3.0  # then each quiet poll waits this much longer, up to the idle pace
# a prompt answered in the previous case is the same one only this soon after its answer: a flag left up by a
# case that ended cannot hide the next case's first prompt for long (public scripts wait about 1 s after answering)
CASE_CHANGE_HOLD_S = 2.0
STILL_UP_WARNING_S = 10.0


class Pace:
    """The poll interval: quick for QUICK_FOR_S after activity, then growing by BACKOFF to the idle pace while
    nothing happens."""

    def __init__(self, quick_s: float = DEFAULT_POLL_S, idle_s: float = DEFAULT_IDLE_POLL_S,
                 quick_for_s: float = QUICK_FOR_S) -> None:
        if quick_s <= 0 or idle_s <= 0:
            raise ValueError(f"poll intervals must be positive (quick {quick_s} s, idle {idle_s} s)")
        self.quick_s, self.idle_s, self.quick_for_s = quick_s, max(idle_s, quick_s), quick_for_s
        self.interval = quick_s
        self._quick_until = time.monotonic() + quick_for_s  # a pace starts with a case: its first prompt is near
        self._woken = asyncio.Event()

    def busy(self, *_: Any) -> None:
        """Something happened: poll at the quick pace for a while, then back off (a capture listener too)."""
        self.interval = self.quick_s
        self._quick_until = time.monotonic() + self.quick_for_s
        self._woken.set()

    async def sleep(self, running: "asyncio.Future[Any]") -> None:
        """Wait the current interval, shortened to the quick pace when something happens meanwhile; at once
        when `running` ends."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.interval
        if time.monotonic() >= self._quick_until:
            self.interval = min(self.idle_s, self.interval * BACKOFF)
        while not running.done():
            left = deadline - loop.time()
            if left <= 0:
                return
            self._woken.clear()
            woken = asyncio.ensure_future(self._woken.wait())
            try:
                await asyncio.wait({running, woken}, timeout=left, return_when=asyncio.FIRST_COMPLETED)
            finally:
                woken.cancel()
            if self._woken.is_set():
                # the prompt a frame brings follows it once the tool has handled it: look a moment later
                deadline = min(deadline, loop.time() + self.quick_s)


@dataclass
class Answered:
    """The prompt answered last, until its flag is seen down or its text changes."""

    case: str
    text: str
    mono: float
    warned: bool = False

    def same_prompt(self, case: str, text: str) -> bool:
        """Is the prompt seen now the one already answered (its flag still up)?"""
        if text != self.text:
            return False
        age = time.monotonic() - self.mono
        if case != self.case and age > CASE_CHANGE_HOLD_S:
            return False
        if age > STILL_UP_WARNING_S and not self.warned:
            self.warned = True
            log.warning("%s: the prompt answered %.0f s ago is still up; not answered again: %r", case, age, text)
        return True
