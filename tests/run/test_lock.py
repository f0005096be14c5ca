"""The bench lock: one holder at a time, a clear message naming the holder, and no lock that outlives its run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchctl.run.lock import BenchBusy, BenchLock, LockRecord, hold_bench

HOLD = """
import sys, time
from pathlib import Path
from benchctl.run.lock import BenchLock
lock = BenchLock("sim", purpose="a test holder", lock_dir=Path(sys.argv[1]), ttl_s=float(sys.argv[2]))
try:
    lock.acquire()
except Exception as exc:
    print("busy", flush=True)
    sys.exit(3)
print("held", flush=True)
time.sleep(float(sys.argv[3]))
lock.release()
"""


def _holder(tmp_path: Path, ttl_s: float = 60, hold_s: float = 60) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path), str(ttl_s), str(hold_s)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_run_is_refused_with_the_holder_named(tmp_path: Path) -> None:
    first = BenchLock("sim", purpose="nightly plan", lock_dir=tmp_path, owner="lab@bench1")
    first.acquire()
    with pytest.raises(BenchBusy) as refused:
        BenchLock("sim", lock_dir=tmp_path).acquire()
    assert "lab@bench1" in str(refused.value) and "nightly plan" in str(refused.value)
    BenchLock("other-bench", lock_dir=tmp_path).acquire()  # locks are per bench
    first.release()
    BenchLock("sim", lock_dir=tmp_path).acquire()


def test_a_lock_of_a_killed_run_is_taken_over_at_once(tmp_path: Path) -> None:
    holder = _holder(tmp_path)
    with pytest.raises(BenchBusy):
        BenchLock("sim", lock_dir=tmp_path).acquire()
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    lock = BenchLock("sim", lock_dir=tmp_path)
    lock.acquire()  # same host, its pid is gone: stale
    assert LockRecord.read(lock.path).pid == os.getpid()  # type: ignore[union-attr]


def test_an_expired_lock_of_another_host_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "sim.lock"
    record = {"bench": "sim", "owner": "ci@elsewhere", "host": "elsewhere", "pid": 1, "purpose": "",
              "acquired": time.time() - 300, "expires": time.time() + 30}
    path.write_text(json.dumps(record))
    with pytest.raises(BenchBusy, match="ci@elsewhere"):
        BenchLock("sim", lock_dir=tmp_path).acquire()
    path.write_text(json.dumps({**record, "expires": time.time() - 1}))
    BenchLock("sim", lock_dir=tmp_path).acquire()


def test_a_half_written_lock_file_does_not_block_forever(tmp_path: Path) -> None:
    (tmp_path / "sim.lock").write_text('{"bench": "si')
    BenchLock("sim", lock_dir=tmp_path).acquire()


def test_renew_extends_and_notices_a_takeover(tmp_path: Path) -> None:
    lock = BenchLock("sim", lock_dir=tmp_path, ttl_s=10)
    lock.acquire()
    before = LockRecord.read(lock.path).expires  # type: ignore[union-attr]
    time.sleep(0.01)
    lock.renew()
    assert LockRecord.read(lock.path).expires > before  # type: ignore[union-attr]
    other = json.loads(lock.path.read_text()) | {"pid": 1, "acquired": 1.0}
    lock.path.write_text(json.dumps(other))
    with pytest.raises(BenchBusy):
        lock.renew()
    lock.release()  # not ours any more: left alone
    assert lock.path.exists()


async def test_hold_bench_releases_on_error(tmp_path: Path) -> None:
    lock = BenchLock("sim", lock_dir=tmp_path, ttl_s=0.3)
    with pytest.raises(RuntimeError):
        async with hold_bench(lock):
            import asyncio
            await asyncio.sleep(0.5)  # renewed meanwhile: still ours
            assert LockRecord.read(lock.path).pid == os.getpid()  # type: ignore[union-attr]
            raise RuntimeError("case crashed")
    assert not lock.path.exists()


def test_two_runs_starting_together_get_one_lock(tmp_path: Path) -> None:
    procs = [subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path), "60", "1.5"],
                              stdout=subprocess.PIPE, text=True) for _ in range(4)]
    outputs = [p.communicate(timeout=30)[0].strip() for p in procs]
    assert sorted(outputs) == ["busy", "busy", "busy", "held"]
