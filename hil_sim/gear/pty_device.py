"""A simulated serial device on a pseudo-terminal: the driver opens `port_name` as it would /dev/ttyACM0.

The device lives on the master side, inside the event loop (add_reader / add_writer, no threads).
Subclasses implement `received(data)` and answer with `send(data)`.

Like a UART without flow control, the device never blocks on a host that does not read: what the pty
cannot take is queued up to `max_pending` bytes, and whole writes beyond that are dropped (counted in
`dropped_bytes`). What a device says unasked (a periodic report) is sent `droppable`: it is skipped while
anything is still queued or when the pty takes none of it, so it is never delivered late. A driver that
opens the port after a while therefore finds at most the tail of one line, not minutes of stale reports.
"""

from __future__ import annotations

import asyncio
import os
import termios
import tty
from abc import ABC, abstractmethod


class PtyDevice(ABC):
    """Master side of a pty; `silent = True` swallows every byte (hung firmware)."""

    def __init__(self, max_pending: int = 64 * 1024) -> None:
        if max_pending <= 0:
            raise ValueError(f"max_pending must be > 0 bytes, not {max_pending!r}")
        self.silent = False
        self.port_name = ""
        self.max_pending = max_pending
        self.dropped_bytes = 0
        self._master: int | None = None
        self._slave: int | None = None
        self._out = bytearray()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._writing = False

    @property
    def running(self) -> bool:
        return self._master is not None

    # lifecycle ------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the pty and listen. Idempotent."""
        if self._master is not None:
            return
        master, slave = os.openpty()
        try:
            tty.setraw(slave, termios.TCSANOW)  # no echo, no line editing, no CR/LF translation
            os.set_blocking(master, False)
            self.port_name = os.ttyname(slave)
        except OSError:
            os.close(master)
            os.close(slave)
            raise
        # Keeping the slave open ourselves keeps the pty alive while the driver closes and reopens it.
        self._master, self._slave = master, slave
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(master, self._on_readable)

    async def stop(self) -> None:
        """Close the pty (the driver's next read or write fails, as with an unplugged device). Safe twice."""
        master, slave, self._master, self._slave = self._master, self._slave, None, None
        if master is None:
            return
        assert self._loop is not None
        self._loop.remove_reader(master)
        if self._writing:
            self._loop.remove_writer(master)
            self._writing = False
        self._out.clear()
        os.close(master)
        if slave is not None:
            os.close(slave)
        self.stopped()

    def stopped(self) -> None:
        """Hook: the device was just switched off (called once per stop of a running device)."""

    # bytes in, bytes out --------------------------------------------------------------------------

    @abstractmethod
    def received(self, data: bytes) -> None:
        """Hook: bytes from the driver (not called while `silent`)."""

    @property
    def pending(self) -> int:
        """Bytes queued that the pty has not taken yet."""
        return len(self._out)

    def send(self, data: bytes, *, droppable: bool = False) -> bool:
        """Queue bytes for the driver; False (and nothing sent) when stopped, full, or a droppable skipped."""
        if self._master is None or not data:
            return False
        if len(self._out) + len(data) > self.max_pending or (droppable and self._out):
            self.dropped_bytes += len(data)
            return False
        self._out += data
        if self._flush() == 0 and droppable:
            # nobody reads the port: skip this report rather than deliver it late (the queue held only it)
            self._out.clear()
            self._watch_writable()
            self.dropped_bytes += len(data)
            return False
        return True

    def _on_readable(self) -> None:
        if self._master is None:
            return
        try:
            data = os.read(self._master, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # EIO: no slave open; cannot happen while we hold one, but never crash the loop
            return
        if self.silent or not data:
            return
        self.received(data)

    def _flush(self) -> int:
        """Write what the pty takes now; return the number of bytes written."""
        if self._master is None:
            return 0
        try:
            written = os.write(self._master, self._out)
        except (BlockingIOError, InterruptedError):
            written = 0
        except OSError:
            self._out.clear()
            written = 0
        del self._out[:written]
        self._watch_writable()
        return written

    def _watch_writable(self) -> None:
        """Be called back when the pty can take more, exactly while something is queued."""
        if self._master is None:
            return
        assert self._loop is not None
        if self._out and not self._writing:
            self._loop.add_writer(self._master, self._flush)
            self._writing = True
        elif not self._out and self._writing:
            self._loop.remove_writer(self._master)
            self._writing = False
