"""What every driver on a USB serial port needs: the errors a vanishing port raises, opening and closing.

pyserial is blocking: call these from a worker thread (asyncio.to_thread), never on the event loop.
"""

from __future__ import annotations

from typing import Callable

import serial

from .errors import DriverError

try:  # pyserial's POSIX backend lets termios.error (not an OSError) through, e.g. on a vanished pty
    from termios import error as TermiosError
except ImportError:  # pragma: no cover - Windows
    class TermiosError(Exception):  # type: ignore[no-redef]
        pass

# what a port that went away (unplugged, device reset, pty closed) can raise
PORT_ERRORS: tuple[type[BaseException], ...] = (serial.SerialException, OSError, TermiosError)
# and what opening it can raise besides: ValueError for a baud rate or setting the port does not take
_OPEN_ERRORS: tuple[type[BaseException], ...] = (*PORT_ERRORS, ValueError)


def open_port(
    path: str,
    baudrate: int,
    timeout_s: float,
    error: Callable[[str], DriverError],
    *,
    write_timeout_s: float | None = None,
    greeting: bytes = b"",
    exclusive: bool = False,
) -> serial.Serial:
    """Open `path`, write `greeting` (if any) and drop whatever the device sent before we listened.

    `timeout_s` bounds each read, `write_timeout_s` (default: `timeout_s`) each write. With `exclusive`, a
    port another driver (or a terminal program using the same lock) holds is refused instead of shared: two
    readers on one port would each get half of the lines. Any failure becomes
    `error("cannot open: <reason>")`, i.e. a DriverError naming role, backend and port.
    """
    try:
        port = serial.Serial(
            path,
            baudrate,
            timeout=timeout_s,
            write_timeout=timeout_s if write_timeout_s is None else write_timeout_s,
            exclusive=exclusive or None,
        )
    except _OPEN_ERRORS as exc:
        raise error(f"cannot open: {exc}") from exc
    try:
        if greeting:
            port.write(greeting)
            port.flush()
        port.reset_input_buffer()
    except PORT_ERRORS as exc:
        close_quietly(port)
        raise error(f"cannot open: {exc}") from exc
    return port


def close_quietly(port: serial.Serial) -> None:
    """Close the port; a port that is already gone is not an error here."""
    try:
        port.close()
    except PORT_ERRORS:
        pass
