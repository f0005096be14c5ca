"""Card presenter on a Proxmark3 (Iceman / RRG firmware), driven through its command-line client.

Every device command is one run of the client as a child process, `<client> -p <port> -f -c "<command>"`.
What this relies on, from the RRG/Iceman client v4.x with the argtable command parser (2021 and later; the
`pm3` wrapper script and the `proxmark3` binary take the same options):

- `-p/--port <port>` the device (a serial port, or `tcp:host:port` / `bt:...`, passed through untouched),
  `-f/--flush` flush the output after every print (we read it through a pipe), `-c/--command <cmd>` run
  that command and exit.
- The client exits with a non-zero status when it cannot use the device: "ERROR: invalid serial port <port>",
  "ERROR: serial port <port> is claimed by another process" (the client locks the port: one client at a
  time), "ERROR: cannot communicate with the Proxmark3".
- `hf 14a sim -t 1 -u <4-byte UID>` emulates a MIFARE Classic 1k, `hf 14a sim -t 2 -u <7-byte UID>` a MIFARE
  Ultralight. The client prints "Emulating ISO/IEC 14443 type A tag with 4 byte UID (04 A1 B2 C3 )", then
  "Press pm3-button to abort simulation" once the command has gone to the device, and then stays until the
  device ends the emulation (the button), printing "Done". So a card in the field is a client process that
  keeps running, and the process ends when the card should leave.
- The firmware's emulation loop also ends as soon as anything arrives from a client over USB. A client that
  exits normally sends a quit-session packet (which does that), but one stopped by a signal says nothing, so
  the device could go on emulating: after stopping the process, `remove` runs `hw break` (CMD_BREAK_LOOP),
  which ends the loop for certain, and clears a card left in the field by an earlier crashed run as well.
- `hw version` prints the client version, the device type and the bootrom and `os` (firmware) versions.

The process is started in its own session and signalled as a process group, so a wrapper script (`pm3`) and
the `proxmark3` it starts go together: SIGINT first, SIGTERM after `stop_grace_s`, SIGKILL after another
`stop_grace_s`. A child is never left behind: close() and safe_state() stop it, and a finalizer kills its
process group if the driver is dropped or the interpreter exits with an emulation running.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import re
import shlex
import shutil
import signal
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from ..steplog import StepLog, step
from .protocol import RFIDPresenterProtocol
from .settings import Proxmark3Settings
from .uid import normalize_uid, uid_for_id_tag

log = logging.getLogger("drivers.rfid.proxmark3")

# `hf 14a sim -t` types per UID size (bytes)
SIM_TYPE_FOR_UID_SIZE = {4: 1, 7: 2}
SIM_TYPE_NAMES = {1: "MIFARE Classic 1k", 2: "MIFARE Ultralight"}

SETTLE_S = 0.1  # an emulation the device refuses ends right after "Press pm3-button": wait that long for it
KILL_WAIT_S = 5.0  # after SIGKILL, how long the process may take to be gone
TAIL_LINES = 6  # output lines quoted in an error

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_READY = re.compile(r"abort simulation", re.IGNORECASE)
_EMULATING = re.compile(r"Emulating\b.*?\b(\d+) byte UID \(([0-9A-Fa-f ]*)\)")
_HEX_OR_SEPARATOR = set("0123456789abcdefABCDEF: -\t")


class Proxmark3Presenter(RFIDPresenterProtocol):
    """Present cards with a Proxmark3 emulating MIFARE Classic 1k (4-byte UID) or Ultralight (7-byte UID)."""

    backend = "Proxmark3"
    kind = "rfid"
    settings = Proxmark3Settings
    summary = "Proxmark3 (Iceman firmware) emulating the card, through its command-line client"
    on_lost = (
        "the Proxmark3 keeps emulating after its client is killed, until it sees USB data: benchctl always "
        "sends `hw break` when it removes a card, and at the start of a run, so a card left by a crashed run "
        "is cleared."
    )

    def __init__(self, role: str, settings: Proxmark3Settings, *, steplog: StepLog | None = None) -> None:
        super().__init__(role, settings.port, steplog)
        if not isinstance(settings.port, str) or not settings.port:
            raise ValueError(f"port must be the Proxmark3's device, e.g. /dev/ttyACM0, not {settings.port!r}")
        if not settings.timeout_s > 0:
            raise ValueError(f"timeout_s must be > 0, got {settings.timeout_s!r}")
        if not settings.stop_grace_s > 0:
            raise ValueError(f"stop_grace_s must be > 0, got {settings.stop_grace_s!r}")
        self.port = settings.port
        self.client = _client_argv(settings.client)
        self.timeout_s = settings.timeout_s
        self.stop_grace_s = settings.stop_grace_s
        self._connected = False
        self._sim: _Sim | None = None
        self._lock = asyncio.Lock()  # one client at a time: the client locks the port

    # state ----------------------------------------------------------------------------------------

    @property
    def sim_pid(self) -> int | None:
        """Process id of the client emulating the card, None when no emulation is running."""
        sim = self._sim
        return sim.proc.pid if sim is not None and sim.running else None

    @property
    def presented_uid(self) -> str | None:
        """The UID being emulated, None when no emulation is running (removed, or ended by the button)."""
        sim = self._sim
        return sim.uid if sim is not None and sim.running else None

    # lifecycle ------------------------------------------------------------------------------------

    async def connect(self) -> None:
        """Check that the client can be found. Idempotent. Each command opens the device on its own."""
        if not self._connected:
            self._check_client()
            self._connected = True

    async def close(self) -> None:
        """Stop a running emulation (the child and, with `hw break`, the device). Never raises."""
        self._cancel_hold()
        try:
            async with self._lock:
                if await self._stop_sim():
                    await self._run("hw break")
        except Exception as exc:  # noqa: BLE001 - closing must not hide the error that led here
            log.warning("%s: closing the Proxmark3 emulation: %s", self.role, exc)

    # role commands --------------------------------------------------------------------------------

    @step
    async def present(self, uid: str, hold_s: float | None = None) -> None:
        """Emulate a card with this UID in the reader's field and check the client started it.

        `uid` is a UID in hex (4 or 7 bytes, separators allowed) or an idTag made of 8 or 14 hex digits.
        A card already emulated is taken away first. With `hold_s` the card leaves by itself `hold_s`
        seconds later; this call returns as soon as the card is in the field.
        """
        card_uid = _to_uid(uid)
        if hold_s is not None and not hold_s >= 0:
            raise ValueError(f"hold_s must be >= 0 seconds or None, got {hold_s!r}")
        sim_type = SIM_TYPE_FOR_UID_SIZE[len(card_uid) // 2]
        self._cancel_hold()
        async with self._lock:
            await self.connect()
            await self._stop_sim()  # the new client's first packet ends the device's previous emulation
            await self._start_sim(card_uid, sim_type)
        if hold_s is not None:
            self._schedule_removal(hold_s)

    @step
    async def remove(self) -> None:
        """Stop the emulating client, then `hw break` so the device is certainly not emulating any more."""
        self._cancel_hold()
        async with self._lock:
            await self.connect()
            await self._stop_sim()
            await self._run("hw break")

    @step
    async def safe_state(self) -> None:
        """No card in the field, no client running."""
        await self.remove()

    @step
    async def self_test(self) -> dict[str, Any]:
        """Run `hw version` and return the client, bootrom and firmware (`os`) versions.

        While a card is emulated the emulating client holds the port, so the device is not probed then.
        """
        async with self._lock:
            await self.connect()
            sim = self._sim
            if sim is not None and sim.running:
                return {"port": self.port, "presenting": sim.uid, "client_pid": sim.proc.pid,
                        "probed": False}
            lines = await self._run("hw version")
        versions = parse_hw_version(lines)
        if "os" not in versions:
            raise self.error(f"`hw version` printed no firmware (os) version: {_tail(lines)}")
        return {"port": self.port, **versions}

    # the client -----------------------------------------------------------------------------------

    def _check_client(self) -> None:
        executable = self.client[0]
        found = (os.path.isfile(executable) and os.access(executable, os.X_OK)) if os.sep in executable \
            else shutil.which(executable) is not None
        if not found:
            raise self._client_missing()

    def _client_missing(self, detail: object = None) -> Exception:
        executable = self.client[0]
        where = "" if os.sep in executable else " on PATH"
        because = f" ({detail})" if detail else ""
        return self.error(
            f"Proxmark3 client executable {executable!r} not found{where}{because}; install the Iceman (RRG) "
            "Proxmark3 client, or set this role's `client` setting to the client, e.g. "
            "client: /opt/proxmark3/pm3 (or client: proxmark3)"
        )

    async def _spawn(self, command: str) -> asyncio.subprocess.Process:
        argv = [*self.client, "-p", self.port, "-f", "-c", command]
        try:
            return await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,  # its own process group: a wrapper script and its client stop together
            )
        except (FileNotFoundError, PermissionError) as exc:
            raise self._client_missing(exc.strerror) from exc
        except OSError as exc:
            raise self.error(f"cannot start the Proxmark3 client {argv[0]!r}: {exc}") from exc

    async def _run(self, command: str) -> list[str]:
        """Run one command to its end (at most timeout_s); return the output lines, raise if it failed."""
        proc = await self._spawn(command)
        guard = weakref.finalize(self, _kill_group, proc.pid)
        lines: collections.deque[str] = collections.deque(maxlen=500)
        try:
            try:
                await asyncio.wait_for(_finish(proc, lines), self.timeout_s)
            except asyncio.TimeoutError:
                raise self.error(
                    f"`{command}`: the Proxmark3 client did not finish within {self.timeout_s:g} s and was "
                    f"killed; last output: {_tail(lines)}"
                ) from None
        finally:
            if proc.returncode is None:
                _kill_group(proc.pid)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(proc.wait(), KILL_WAIT_S)
            if proc.returncode is not None:
                guard.detach()
        if proc.returncode != 0:
            raise self.error(
                f"`{command}` failed (client exit status {proc.returncode}): {_tail(lines)}"
            )
        return list(lines)

    # emulation ------------------------------------------------------------------------------------

    async def _start_sim(self, uid: str, sim_type: int) -> None:
        command = f"hf 14a sim -t {sim_type} -u {uid}"
        proc = await self._spawn(command)
        sim = _Sim(proc, uid, weakref.finalize(self, _kill_group, proc.pid))
        self._sim = sim
        sim.watcher = asyncio.create_task(sim.watch())
        try:
            problem = await self._wait_started(sim)
        except BaseException:  # cancelled while starting: the child must not outlive the call
            if proc.returncode is None:
                _kill_group(proc.pid)
            raise
        if problem is not None:
            await self._stop_sim()
            raise self.error(f"`{command}`: {problem}; client output: {_tail(sim.lines)}")

    async def _wait_started(self, sim: _Sim) -> str | None:
        """None once the client says the emulation runs, else what went wrong."""
        ready = asyncio.create_task(sim.ready.wait())
        exited = asyncio.create_task(sim.exited.wait())
        try:
            await asyncio.wait({ready, exited}, timeout=self.timeout_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
            exited.cancel()
        if not sim.exited.is_set() and not sim.ready.is_set():
            return (f"the client did not report the emulation running ('Press pm3-button to abort "
                    f"simulation') within {self.timeout_s:g} s, so it was stopped")
        if not sim.exited.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(sim.exited.wait(), SETTLE_S)  # a refused emulation ends at once
        if sim.exited.is_set():
            return f"the Proxmark3 client exited (status {sim.proc.returncode}) instead of emulating the card"
        if sim.echoed_uid is not None and sim.echoed_uid != sim.uid:
            return f"the client emulates UID {sim.echoed_uid}, not {sim.uid}"
        return None

    async def _stop_sim(self) -> bool:
        """End the emulating client (if any); True when it was still running."""
        sim = self._sim
        if sim is None:
            return False
        was_running = sim.proc.returncode is None
        pid = sim.proc.pid
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
            if sim.proc.returncode is not None:
                break
            _signal_group(pid, sig)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(sim.proc.wait(), KILL_WAIT_S if sig == signal.SIGKILL else self.stop_grace_s)
        if sim.proc.returncode is None:
            raise self.error(f"the Proxmark3 client (pid {pid}) is still running after SIGKILL")
        if was_running:
            _signal_group(pid, signal.SIGKILL)  # whatever a wrapper script left in the group, just now
        self._sim = None
        sim.finalizer.detach()
        if sim.watcher is not None:
            try:
                await asyncio.wait_for(sim.watcher, 1.0)  # the rest of the output, for error messages
            except (asyncio.TimeoutError, asyncio.CancelledError):
                pass
        return was_running


class _Sim:
    """One `hf 14a sim` client process and what it said."""

    def __init__(self, proc: asyncio.subprocess.Process, uid: str, finalizer: weakref.finalize) -> None:
        self.proc = proc
        self.uid = uid
        self.finalizer = finalizer
        self.lines: collections.deque[str] = collections.deque(maxlen=100)
        self.ready = asyncio.Event()
        self.exited = asyncio.Event()
        self.echoed_uid: str | None = None
        self.watcher: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self.proc.returncode is None and not self.exited.is_set()

    def on_line(self, line: str) -> None:
        if (match := _EMULATING.search(line)) is not None:
            self.echoed_uid = "".join(match.group(2).split()).upper()
        if _READY.search(line):
            self.ready.set()

    async def watch(self) -> None:
        """Read the output to its end (so the pipe never fills), then wait for the exit."""
        try:
            assert self.proc.stdout is not None
            await _pump(self.proc.stdout, self.lines, self.on_line)
            await self.proc.wait()
        finally:
            if self.proc.returncode is not None:
                self.finalizer.detach()
                self.exited.set()


# helpers ------------------------------------------------------------------------------------------


def _client_argv(client: str | Sequence[str]) -> list[str]:
    """The client command as argv: a list as given, a string split like a shell would (no shell runs)."""
    if isinstance(client, str):
        try:
            argv = shlex.split(client)
        except ValueError as exc:
            raise ValueError(f"client {client!r} cannot be split into words: {exc}") from None
    elif isinstance(client, Sequence) and all(isinstance(word, str) for word in client):
        argv = list(client)
    else:
        raise ValueError(f"client must be a command (string) or a list of words, not {client!r}")
    if not argv or not argv[0]:
        raise ValueError("client is empty; give the Proxmark3 client, e.g. pm3 or /usr/local/bin/proxmark3")
    return argv


async def _pump(stream: asyncio.StreamReader, lines: collections.deque[str],
                on_line: Callable[[str], None] | None = None) -> None:
    while True:
        try:
            raw = await stream.readline()
        except ValueError:  # a line beyond the stream's limit (dropped by the reader): go on with the next
            continue
        if not raw:
            return
        text = _ANSI.sub("", raw.decode("utf-8", errors="replace"))
        for part in re.split(r"[\r\n]+", text):  # progress lines are redrawn with CR
            if part.strip():
                lines.append(part.rstrip())
                if on_line is not None:
                    on_line(part)


async def _finish(proc: asyncio.subprocess.Process, lines: collections.deque[str]) -> None:
    assert proc.stdout is not None
    await _pump(proc.stdout, lines)
    await proc.wait()


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _kill_group(pgid: int) -> None:
    """Finalizer: SIGKILL a client's process group (the driver was dropped or the interpreter exits)."""
    _signal_group(pgid, signal.SIGKILL)


def _tail(lines: Sequence[str] | collections.deque[str]) -> str:
    last = [line.strip() for line in list(lines)[-TAIL_LINES:]]
    return " | ".join(last) if last else "(no output)"


def _to_uid(uid: str) -> str:
    """A UID in hex, or an idTag that is one; the ValueError explains whichever reading fits."""
    try:
        return normalize_uid(uid)
    except ValueError:
        if isinstance(uid, str) and uid and any(ch not in _HEX_OR_SEPARATOR for ch in uid):
            return uid_for_id_tag(uid)  # raises, telling to list the idTag in the bench config's cards
        raise


_PREFIX = re.compile(r"^\[(?:\+|=|-|!|!!|#|\?|usb|usb\|script|offline)\]\s?")
_SECTION = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]\s*$")
_KEYED = re.compile(r"^\s*(client|bootrom|os):\s*(\S.*?)\s*$", re.IGNORECASE)
_DOTTED = re.compile(r"^\s*(device|firmware)\.{2,}\s*(\S.*?)\s*$", re.IGNORECASE)


def parse_hw_version(lines: Sequence[str]) -> dict[str, str]:
    """The versions in `hw version` output: client, bootrom, os (the firmware), device, firmware (target)."""
    found: dict[str, str] = {}
    section = ""
    for raw in lines:
        line = _PREFIX.sub("", raw)
        if "pm3 -->" in line:
            continue
        if (match := _SECTION.match(line)) is not None:
            section = match.group(1).casefold()
            continue
        if (match := _KEYED.match(line)) is not None:
            found.setdefault(match.group(1).casefold(), match.group(2))
        elif (match := _DOTTED.match(line)) is not None:
            found.setdefault(match.group(1).casefold(), match.group(2))
        elif section == "client" and line.strip() and "client" not in found \
                and "...." not in line and not line.strip().startswith("compiled with"):
            found["client"] = line.strip()  # newer clients print the version alone under [ Client ]
    return found
