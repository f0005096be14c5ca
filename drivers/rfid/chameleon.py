"""Card presenter on a ChameleonMini (or compatible) over its USB serial command line.

The ChameleonMini terminal takes text commands ended by CR (a trailing LF is ignored) and answers each
with a status line "NNN:TEXT" + CR LF; "101:OK WITH TEXT" is followed by one more line with the value.
Status numbers starting with 1 are successes, with 2 errors (200 UNKNOWN COMMAND, 201 INVALID COMMAND
USAGE, 202 INVALID PARAMETER, 203 TIMEOUT). There is no echo.

Presenting a card = select a card type of the right UID size (CONFIG=MF_CLASSIC_1K for 4-byte UIDs,
CONFIG=MF_ULTRALIGHT for 7-byte ones), write the UID (UID=...), read it back (UID?). Removing the card =
CONFIG=NONE: the emulator stops answering the reader, as if the card left the field.

pyserial is blocking, so every exchange runs in a worker thread (asyncio.to_thread); an asyncio lock keeps
multi-command sequences (present, remove) whole, and a thread lock keeps two exchanges from ever sharing
the port, even when an awaiting task was cancelled while its thread was still reading.
"""

from __future__ import annotations

import asyncio
import re
import threading
from typing import Any

import serial

from ..retry import RetryPolicy
from ..serial_line import PORT_ERRORS, close_quietly, open_port
from ..steplog import StepLog, step
from .protocol import RFIDPresenterProtocol
from .settings import ChameleonSettings
from .uid import normalize_uid, uid_for_id_tag

# Card types per UID size (bytes). Both are in every ChameleonMini firmware (RevE rebooted and RevG).
CONFIG_FOR_UID_SIZE = {4: "MF_CLASSIC_1K", 7: "MF_ULTRALIGHT"}
CONFIG_NONE = "NONE"

EOL = b"\r\n"  # the firmware runs a command on CR and ignores LF; answers end with CR LF
ESC = b"\x1b"  # the firmware drops its partial input buffer on ESC and does not answer

_STATUS = re.compile(r"^(\d{3}):(.*)$")
WITH_TEXT = 101
_HEX_OR_SEPARATOR = set("0123456789abcdefABCDEF: -\t")


class _NoAnswer(Exception):
    """The device did not complete an answer within the timeout."""


class ChameleonPresenter(RFIDPresenterProtocol):
    """Present cards with a ChameleonMini emulating MIFARE Classic 1K (4-byte UID) or Ultralight (7-byte)."""

    backend = "serial"
    kind = "rfid"
    settings = ChameleonSettings
    summary = "ChameleonMini-style programmable card emulator on a serial port"
    on_lost = (
        "the emulator keeps presenting the last card until `CONFIG=NONE`: a card may stay in the field. Power "
        "it from a switched USB port if that matters."
    )

    def __init__(self, role: str, settings: ChameleonSettings, *, steplog: StepLog | None = None) -> None:
        super().__init__(role, settings.port, steplog)
        policy = RetryPolicy(settings.timeout_s, settings.retries)  # checks both
        self.port = settings.port
        self.baudrate = settings.baudrate
        self.timeout_s = policy.timeout_s
        self.retries = policy.retries
        self._serial: serial.Serial | None = None
        self._lock = asyncio.Lock()  # keeps command sequences whole
        self._connect_lock = asyncio.Lock()
        self._io_lock = threading.Lock()  # keeps single exchanges on the port apart

    # lifecycle ------------------------------------------------------------------------------------

    async def connect(self) -> None:
        """Open the serial port. Idempotent."""
        async with self._connect_lock:
            if self._serial is not None and self._serial.is_open:
                return
            self._serial = await asyncio.to_thread(self._open)

    def _open(self) -> serial.Serial:
        # ESC drops whatever half-typed line the device may hold; open_port drops what it said before we came
        return open_port(self.port, self.baudrate, self.timeout_s, self.error, greeting=ESC)

    async def close(self) -> None:
        """Close the port; a pending timed removal is cancelled (call safe_state first to clear the field)."""
        self._cancel_hold()
        port, self._serial = self._serial, None
        if port is not None:
            await asyncio.to_thread(self._close_port, port)

    def _close_port(self, port: serial.Serial) -> None:
        with self._io_lock:  # wait for an exchange still running in a thread
            close_quietly(port)

    # role commands --------------------------------------------------------------------------------

    @step
    async def present(self, uid: str, hold_s: float | None = None) -> None:
        """Put a card with this UID in the reader's field and check the device took it.

        `uid` is a UID in hex (4 or 7 bytes, separators allowed) or an idTag made of 8 or 14 hex digits;
        map other idTags with `drivers.rfid.uid.uid_for_id_tag` and the bench config's cards first.
        With `hold_s`, the card is taken away by itself `hold_s` seconds after it was presented; this
        call returns as soon as the card is in the field. A later present() or remove() replaces the
        pending removal.
        """
        card_uid = _to_uid(uid)
        if hold_s is not None and not hold_s >= 0:
            raise ValueError(f"hold_s must be >= 0 seconds or None, got {hold_s!r}")
        config = CONFIG_FOR_UID_SIZE[len(card_uid) // 2]
        self._cancel_hold()
        async with self._lock:
            await self._command(f"CONFIG={config}")
            await self._command(f"UID={card_uid}")
            read_back = await self._command("UID?")
            if _clean_hex(read_back) != card_uid:
                raise self.error(f"UID? reads {read_back!r} after UID={card_uid}; the card was not set")
        if hold_s is not None:
            self._schedule_removal(hold_s)

    @step
    async def remove(self) -> None:
        """Take the card out of the reader's field (CONFIG=NONE)."""
        self._cancel_hold()
        async with self._lock:
            await self._command(f"CONFIG={CONFIG_NONE}")

    @step
    async def safe_state(self) -> None:
        """No card in the field."""
        await self.remove()

    @step
    async def self_test(self) -> dict[str, Any]:
        """Ask the firmware version and the active card type; raise DriverError when it does not answer."""
        async with self._lock:
            version = await self._command("VERSION?")
            config = await self._command("CONFIG?")
        return {"port": self.port, "version": version, "config": config}

    # wire -----------------------------------------------------------------------------------------

    async def _command(self, command: str) -> str:
        """Send one command; return the text line of a 101 answer, else the status text."""
        await self.connect()
        port = self._serial
        assert port is not None
        return await asyncio.to_thread(self._exchange, port, command)

    def _exchange(self, port: serial.Serial, command: str) -> str:
        attempts = self.retries + 1
        with self._io_lock:
            for attempt in range(attempts):
                try:
                    return self._exchange_once(port, command)
                except _NoAnswer as exc:
                    last = str(exc)
                    if attempt + 1 < attempts:
                        try:
                            port.write(ESC)  # forget any half line before trying again
                        except PORT_ERRORS:
                            pass
                except PORT_ERRORS as exc:
                    close_quietly(port)  # the port is gone (unplugged?): the next command opens it again
                    raise self.error(f"{command}: serial I/O failed: {exc}") from exc
        raise self.error(
            f"no answer to {command} ({attempts} attempt{'s' if attempts > 1 else ''} of "
            f"{self.timeout_s:g} s; last: {last})"
        )

    def _exchange_once(self, port: serial.Serial, command: str) -> str:
        port.reset_input_buffer()  # a late answer to an earlier attempt must not pass for this one
        try:
            port.write(command.encode("ascii") + EOL)
            port.flush()
        except serial.SerialTimeoutException as exc:
            raise _NoAnswer(f"write timed out: {exc}") from exc
        line = self._read_line(port, "status")
        while not line:  # tolerate stray empty lines
            line = self._read_line(port, "status")
        match = _STATUS.match(line)
        if match is None:
            raise self.error(f"{command}: unexpected answer {line!r}")
        code = int(match.group(1))
        if code >= 200:
            raise self.error(f"{command} answered {line!r}")
        if code == WITH_TEXT:
            return self._read_line(port, f"text after {line!r}")
        return match.group(2)

    def _read_line(self, port: serial.Serial, what: str) -> str:
        raw = port.read_until(b"\n", 1024)  # bounded by the port timeout and in size
        if not raw.endswith(b"\n"):
            got = f"got {raw!r}" if raw else "got nothing"
            raise _NoAnswer(f"waiting for the {what} line, {got}")
        return raw.decode("ascii", errors="replace").strip("\r\n")


def _to_uid(uid: str) -> str:
    """A UID in hex, or an idTag that is one; the ValueError explains whichever reading fits."""
    try:
        return normalize_uid(uid)
    except ValueError:
        if isinstance(uid, str) and uid and any(ch not in _HEX_OR_SEPARATOR for ch in uid):
            return uid_for_id_tag(uid)  # raises, telling to list the idTag in the bench config's cards
        raise


def _clean_hex(text: str) -> str:
    return "".join(ch for ch in text if ch not in ": -").upper()

