"""One run per bench: a lock file with an owner and an expiry.

Two runs driving the same relays and the same charger would wreck each other's cases, so a run takes the
bench's lock first. The holder renews the expiry while it runs; a crashed holder (kill -9, power cut) stops
renewing, so its lock expires instead of blocking the bench forever, and on the same host a holder whose
process is gone is recognised at once. A lock file is created atomically (O_EXCL) under a guard flock and
renewed atomically (rename), so two runs starting together cannot both win.

The lock protects physical gear. A bench whose gear is all simulated inside the run (the simulator block, every
role reaching hil_sim through a `${sim.*}` endpoint) drives nothing another run could touch - each run starts its
own simulator - so it takes no lock: two sim runs on one host, or two CI jobs, run side by side.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import re
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, AsyncIterator

from rich.console import Console
from rich.markup import escape

from benchctl.config import ConfigError

if TYPE_CHECKING:
    from benchctl.bench.config import BenchConfig, RoleConfig

DEFAULT_TTL_S = 120.0


def default_lock_dir() -> Path:
    """BENCHCTL_LOCK_DIR, else the user's state directory: shared by every benchctl process of this machine."""
    env = os.environ.get("BENCHCTL_LOCK_DIR")
    if env:
        return Path(env)
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "benchctl" / "locks"


class BenchBusy(Exception):
    """The bench is in use by another run; the message names the holder and when its lock expires."""

    def __init__(self, bench: str, holder: "LockRecord") -> None:
        self.bench, self.holder = bench, holder
        left = max(0.0, holder.expires - time.time())
        super().__init__(f"bench '{bench}' is in use by {holder.owner} (pid {holder.pid} on {holder.host}, "
                         f"{holder.purpose or 'a run'}) since {time.strftime('%H:%M:%S', time.localtime(holder.acquired))}; "
                         f"its lock expires in {left:.0f} s unless renewed")


class LockDirError(ConfigError):
    """The lock directory cannot hold locks (a file is in its place, or it cannot be made): a setting to fix."""

    def __init__(self, directory: Path, problem: str) -> None:
        super().__init__(str(directory), None, "lock directory",
                         f"{problem}; set BENCHCTL_LOCK_DIR to a directory benchctl may write")


def _make_lock_dir(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        in_the_way = next((p for p in (directory, *directory.parents) if p.exists() and not p.is_dir()), directory)
        raise LockDirError(directory, f"{in_the_way} is a file, not a directory") from None
    except OSError as exc:
        raise LockDirError(directory, f"cannot be created: {exc.strerror or exc}") from None


@dataclass
class LockRecord:
    bench: str
    owner: str
    host: str
    pid: int
    purpose: str
    acquired: float
    expires: float

    @classmethod
    def read(cls, path: Path) -> "LockRecord | None":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(**{k: data[k] for k in cls.__dataclass_fields__})
        except (OSError, ValueError, KeyError, TypeError):
            return None  # vanished, or half-written by a holder that died: treated as stale

    def stale(self, now: float) -> bool:
        if now >= self.expires:
            return True
        if self.host == socket.gethostname():
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return True
            except PermissionError:
                return False  # alive, another user's
        return False


def _file_name(bench: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", bench) + ".lock"


class BenchLock:
    def __init__(self, bench: str, purpose: str = "", lock_dir: Path | None = None,
                 ttl_s: float = DEFAULT_TTL_S, owner: str | None = None) -> None:
        self.bench = bench
        self.path = (lock_dir or default_lock_dir()) / _file_name(bench)
        self.ttl_s = ttl_s
        self.record = LockRecord(bench, owner or f"{os.environ.get('USER', 'benchctl')}@{socket.gethostname()}",
                                 socket.gethostname(), os.getpid(), purpose, 0.0, 0.0)
        self.held = False

    def acquire(self) -> None:
        """Take the lock or raise BenchBusy; a stale lock (expired, or its process gone) is taken over."""
        _make_lock_dir(self.path.parent)
        # the check-then-replace of a stale lock must not interleave with another process doing the same
        with open(self.path.with_suffix(".guard"), "a") as guard:
            fcntl.flock(guard, fcntl.LOCK_EX)
            self._acquire()

    def _acquire(self) -> None:
        now = time.time()
        self.record.acquired, self.record.expires = now, now + self.ttl_s
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                holder = LockRecord.read(self.path)
                if holder is not None and not holder.stale(time.time()):
                    raise BenchBusy(self.bench, holder) from None
                self._take_over(holder)
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(json.dumps(asdict(self.record)))
            self.held = True
            return
        holder = LockRecord.read(self.path)
        raise BenchBusy(self.bench, holder or self.record)

    def _take_over(self, stale: LockRecord | None) -> None:
        """Remove a stale lock, unless its holder renewed it meanwhile."""
        if LockRecord.read(self.path) == stale:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()

    def renew(self) -> None:
        """Push the expiry out; the write is atomic so a reader never sees half a record."""
        if not self.held:
            return
        current = LockRecord.read(self.path)
        if current is None or (current.pid, current.host, current.acquired) != \
                (self.record.pid, self.record.host, self.record.acquired):
            self.held = False  # taken over after we stalled past the expiry: the bench is no longer ours
            raise BenchBusy(self.bench, current or self.record)
        self.record.expires = time.time() + self.ttl_s
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(asdict(self.record)), encoding="utf-8")
        os.replace(tmp, self.path)

    def release(self) -> None:
        if not self.held:
            return
        current = LockRecord.read(self.path)
        if current is not None and (current.pid, current.acquired) == (self.record.pid, self.record.acquired):
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        self.held = False


@contextlib.asynccontextmanager
async def hold_bench(lock: BenchLock) -> AsyncIterator[BenchLock]:
    """Acquire (unless held already), renew every third of the expiry while the body runs, release at the end
    whatever happens."""
    if not lock.held:
        lock.acquire()

    async def renew_forever() -> None:
        while True:
            await asyncio.sleep(lock.ttl_s / 3)
            lock.renew()

    renewer = asyncio.create_task(renew_forever())
    try:
        yield lock
    finally:
        renewer.cancel()
        with contextlib.suppress(asyncio.CancelledError, BenchBusy):
            await renewer
        lock.release()


def take_bench(name: str, purpose: str, console: Console) -> BenchLock | None:
    """The bench's lock for a command, or None after saying on `console` who holds it (the command then exits
    with EXIT_BUSY); taken before anything else, so a refused command leaves no run directory behind."""
    lock = BenchLock(name, purpose=purpose)
    try:
        lock.acquire()
    except BenchBusy as exc:
        console.print(f"[red]{escape(str(exc))}[/]")
        return None
    return lock


class NoLock(BenchLock):
    """What a run on an all-simulated bench holds: nothing to take, renew or release."""

    def acquire(self) -> None:
        """Nothing to take: no other run can reach gear this run simulates itself."""

    def renew(self) -> None:
        """Nothing held, so nothing to keep fresh."""

    def release(self) -> None:
        """Nothing held, so nothing to give back."""


def _simulated_role(role: "RoleConfig") -> bool:
    return any(isinstance(v, str) and v.startswith("${sim.") for v in role.settings.values())


def all_gear_simulated(config: "BenchConfig") -> bool:
    """Does a run on this bench drive only gear it simulates itself (the charger and every role)?"""
    return config.simulator is not None and all(_simulated_role(role) for role in config.roles.values())


def take_bench_for(config: "BenchConfig", purpose: str, console: Console) -> BenchLock | None:
    """take_bench for the bench `config` describes: one with physical gear is locked by its name; one whose gear is
    all simulated in the run locks nothing (each run has its own simulator)."""
    if all_gear_simulated(config):
        return NoLock(config.name, purpose=purpose)
    return take_bench(config.name, purpose, console)
