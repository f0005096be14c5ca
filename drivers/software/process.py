"""Mains and network for a firmware running on a PC: a process the bench starts and signals, or commands it runs.

`ProcessOutput` is the firmware's power: on starts the command (in its own process group) and waits until it is
ready (a TCP port accepting, or an HTTP URL answering); off sends the stop signal to the group and, after the
grace time, SIGKILL. A power cycle is a restart. `close` always stops it, so no firmware outlives the bench.

`CommandOutput` runs one command to switch on and another to switch off (a network namespace's link, a
firewall rule, `kill -STOP`/`-CONT` of the firmware), and reads its level back with a third whose exit status
says on (0) or off (1).

Commands are split like a shell would (shlex) but run without one; write `sh -c '...'` for shell syntax.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
from pathlib import Path
from typing import IO, Any

import aiohttp

from ..relay.protocol import DigitalOutputProtocol
from ..steplog import StepLog, step
from .settings import SIGNAL_NAMES, CommandSettings, ProcessSettings

SIGNALS = SIGNAL_NAMES


def split_command(command: str) -> list[str]:
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise ValueError(f"command {command!r}: {exc}") from None
    if not argv:
        raise ValueError("command must not be empty")
    return argv


class ProcessOutput(DigitalOutputProtocol):
    """On: the process runs and is ready. Off: it was stopped (or never started)."""

    backend = "process"
    kind = "digital_output"
    settings = ProcessSettings
    summary = "software gear: a firmware process the bench starts (on) and signals (off): mains on a PC"
    on_lost = ("the firmware runs in its own process group and is stopped on every exit path benchctl controls; a "
               "killed benchctl leaves it running.")

    def __init__(self, role: str, settings: ProcessSettings, *, steplog: StepLog | None = None) -> None:
        self.argv = split_command(settings.command)
        super().__init__(role, shlex.join(self.argv), steplog)
        if settings.stop_signal not in SIGNALS:
            raise ValueError(f"stop_signal must be one of {', '.join(SIGNALS)}, not {settings.stop_signal!r}")
        self.cwd, self.env = settings.cwd, {**os.environ, **(settings.env or {})}
        self.stop_signal = signal.Signals[settings.stop_signal]
        self.stop_timeout_s, self.ready_timeout_s = settings.stop_timeout_s, settings.ready_timeout_s
        self.ready_tcp = _host_port(settings.ready_tcp) if settings.ready_tcp else None
        self.ready_http = settings.ready_http
        self.log_file = settings.log_file
        self.safe_level = bool(settings.safe_level)
        self.process: asyncio.subprocess.Process | None = None
        self._log: IO[bytes] | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    @step
    async def set(self, level: bool) -> None:
        if level:
            await self._start()
        else:
            await self._stop()

    @step
    async def get(self) -> bool:
        return self.running

    @step
    async def safe_state(self) -> None:
        await self.set(self.safe_level)

    @step
    async def close(self) -> None:
        await self._stop()

    @step
    async def self_test(self) -> dict[str, Any]:
        ready = await self._ready() if self.running else None
        if ready is False:
            raise self.error("the process runs but its readiness check does not answer")
        return {"running": self.running, "pid": self.process.pid if self.running and self.process else None,
                "ready": ready}

    async def _start(self) -> None:
        if self.running:
            return
        if self.log_file:
            self._log = Path(self.log_file).open("ab")
        try:
            self.process = await asyncio.create_subprocess_exec(
                *self.argv, cwd=self.cwd, env=self.env, stdin=asyncio.subprocess.DEVNULL,
                stdout=self._log or asyncio.subprocess.DEVNULL, stderr=self._log or asyncio.subprocess.DEVNULL,
                start_new_session=True)  # its own group: the stop signal reaches the children it starts
        except OSError as exc:
            self._close_log()
            raise self.error(f"cannot start: {exc}") from None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.ready_timeout_s
        while True:
            if not self.running:
                code = self.process.returncode
                self._close_log()
                raise self.error(f"the process exited with status {code} before it was ready")
            if await self._ready() is not False:
                return
            if loop.time() >= deadline:
                await self._stop()
                raise self.error(f"not ready within {self.ready_timeout_s:g} s ({self._readiness()}); stopped it")
            await asyncio.sleep(0.05)

    def _readiness(self) -> str:
        if self.ready_tcp:
            return f"TCP {self.ready_tcp[0]}:{self.ready_tcp[1]}"
        return f"HTTP {self.ready_http}" if self.ready_http else "no check"

    async def _ready(self) -> bool | None:
        """Whether the readiness check answers; None when there is none."""
        if self.ready_tcp is not None:
            try:
                async with asyncio.timeout(1.0):
                    _, writer = await asyncio.open_connection(*self.ready_tcp)
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
                return True
            except (OSError, TimeoutError):
                return False
        if self.ready_http is not None:
            try:
                async with aiohttp.ClientSession() as session, asyncio.timeout(1.0):
                    async with session.get(self.ready_http) as response:
                        return response.status < 500
            except (aiohttp.ClientError, TimeoutError):
                return False
        return None

    async def _stop(self) -> None:
        process = self.process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, self.stop_signal)
            try:
                await asyncio.wait_for(process.wait(), self.stop_timeout_s)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
        self._close_log()

    def _close_log(self) -> None:
        log, self._log = self._log, None
        if log is not None:
            log.close()


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"ready_tcp must be host:port, not {text!r}")
    return host.strip("[]"), int(port)


class CommandOutput(DigitalOutputProtocol):
    """On and off are commands; `get_command` reads the level back from its exit status (0 on, 1 off)."""

    backend = "command"
    kind = "digital_output"
    settings = CommandSettings
    summary = "software gear: commands that switch on and off (a firmware's network on a PC)"
    on_lost = "whatever the last command left (a link down stays down)."

    def __init__(self, role: str, settings: CommandSettings, *, steplog: StepLog | None = None) -> None:
        self.commands = {"on": split_command(settings.on_command), "off": split_command(settings.off_command),
                         "get": split_command(settings.get_command)}
        super().__init__(role, shlex.join(self.commands["on"]), steplog)
        self.timeout_s = settings.timeout_s
        self.safe_level = bool(settings.safe_level)

    async def _run(self, which: str) -> int:
        argv = self.commands[which]
        try:
            process = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.DEVNULL,
                                                           stdout=asyncio.subprocess.PIPE,
                                                           stderr=asyncio.subprocess.STDOUT)
        except OSError as exc:
            raise self.error(f"{which} command {shlex.join(argv)}: {exc}") from None
        try:
            output, _ = await asyncio.wait_for(process.communicate(), self.timeout_s)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise self.error(f"{which} command {shlex.join(argv)} took longer than {self.timeout_s:g} s") from None
        code = process.returncode
        assert code is not None
        if which != "get" and code != 0:
            text = output.decode("utf-8", "replace").strip()[-300:]
            raise self.error(f"{which} command {shlex.join(argv)} exited with status {code}: {text}")
        return code

    @step
    async def set(self, level: bool) -> None:
        await self._run("on" if level else "off")

    @step
    async def get(self) -> bool:
        code = await self._run("get")
        if code not in (0, 1):
            raise self.error(f"get command {shlex.join(self.commands['get'])} exited with status {code} "
                             f"(0 means on, 1 off)")
        return code == 0

    @step
    async def safe_state(self) -> None:
        await self.set(self.safe_level)

    @step
    async def self_test(self) -> dict[str, Any]:
        return {"level": await self.get(), "safe_level": self.safe_level}
