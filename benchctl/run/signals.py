"""The signals that end a run: Ctrl-C, SIGTERM (a CI job cancelled, a service stopped), SIGHUP (the terminal or the
ssh session closed) and SIGQUIT (Ctrl-\\). Each stops the run the same way: the run's task is cancelled, the gear
goes to its safe state first (benchctl/run/pipeline.py), then the run ends in order (the reports, the lock).

Left to their default action, SIGHUP and SIGQUIT would kill the process on the spot: no safe state, the lock left
behind until it expires."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import stat
import time
from typing import Iterator

log = logging.getLogger("benchctl.run")

# the exit status a shell reports for a process ended by the signal (128 + its number)
STOP_SIGNALS: dict[signal.Signals, int] = {sig: 128 + int(sig) for sig in (
    signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)}


class RunStop:
    """Which stop signal came first, and when (monotonic). Later ones are noted and ignored: cancelling again would
    cut short the safe state and the orderly end the first one started."""

    def __init__(self, task: asyncio.Task[object]) -> None:
        self.task = task
        self.signal: signal.Signals | None = None
        self.at: float | None = None

    @property
    def exit_status(self) -> int:
        return STOP_SIGNALS[self.signal] if self.signal is not None else STOP_SIGNALS[signal.SIGTERM]

    def received(self, sig: signal.Signals) -> None:
        if self.signal is not None:
            log.warning("%s while stopping after %s: the gear is being put in its safe state and the run ended; "
                        "kill -9 would leave that undone", sig.name, self.signal.name)
            return
        self.signal, self.at = sig, time.monotonic()
        if sig == signal.SIGHUP:
            _leave_hung_up_terminal()
        log.warning("%s received: stopping the run (gear to its safe state first)", sig.name)
        self.task.cancel()


def _leave_hung_up_terminal() -> None:
    """After a hang-up the terminal is gone and every write to it fails (EIO): what is left to print goes to
    /dev/null instead of breaking the orderly end. benchctl.log in the run directory keeps the story."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in (1, 2):
            with contextlib.suppress(OSError):
                # a character device, not isatty(): a hung-up terminal no longer answers isatty(); files and pipes
                # (a CI log, `| tee`) are kept
                if stat.S_ISCHR(os.fstat(fd).st_mode):
                    os.dup2(devnull, fd)
    finally:
        os.close(devnull)


@contextlib.contextmanager
def stop_on_signals(loop: asyncio.AbstractEventLoop, task: asyncio.Task[object]) -> Iterator[RunStop]:
    """While the body runs, every stop signal cancels `task` once (see RunStop)."""
    stop = RunStop(task)
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.received, sig)
    try:
        yield stop
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
