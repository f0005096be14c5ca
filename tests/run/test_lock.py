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

from benchctl.bench.config import load_bench
from benchctl.paths import DEFAULT_BENCH, ROOT
from benchctl.run.lock import BenchBusy, BenchLock, LockRecord, all_gear_simulated, hold_bench

from support.bench_text import sim_bench_text

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


# ------------------------------------------------------------------------------------- which benches lock
def _benchctl(*args: str, lock_dir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "benchctl.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "COLUMNS": "200", "BENCHCTL_LOCK_DIR": str(lock_dir)})


def _bench_with_a_real_card_reader(tmp_path: Path) -> Path:
    """The sim bench, but its card presenter a physical one on a serial port: physical gear to protect."""
    text = sim_bench_text().replace("name: sim\n", "name: sim-real-card\n", 1)
    assert "port: ${sim.rfid.port}" in text
    path = tmp_path / "real-card.yaml"
    path.write_text(text.replace("port: ${sim.rfid.port}", "port: /dev/ttyACM7"))
    return path


def test_which_benches_hold_a_lock(tmp_path: Path) -> None:
    assert all_gear_simulated(load_bench(DEFAULT_BENCH))
    assert not all_gear_simulated(load_bench(_bench_with_a_real_card_reader(tmp_path)))
    assert not all_gear_simulated(load_bench(ROOT / "bench_configs" / "modbus-lab.yaml"))


def test_two_sim_runs_at_once_on_one_host_both_run(tmp_path: Path) -> None:
    """Each starts its own simulator: nothing physical is shared, so neither refuses the other."""
    locks = tmp_path / "locks"
    # started together, the first on the cold boot case (about 9 s): a busy machine's slow start of a Python process
    # must not let the first finish before the second begins (two quick cases could)
    first = _benchctl("run", "001", "--runs", str(tmp_path / "first"), lock_dir=locks)
    second = _benchctl("run", "003", "--runs", str(tmp_path / "second"), lock_dir=locks)
    try:
        output = second.communicate(timeout=180)[0]
        assert second.returncode == 0, output
        assert first.wait(timeout=180) == 0, first.communicate()[0]
    finally:
        for proc in (first, second):
            if proc.poll() is None:
                proc.kill()
    (first_dir,) = (tmp_path / "first").iterdir()
    (second_dir,) = (tmp_path / "second").iterdir()
    first_meta = json.loads((first_dir / "run.json").read_text())
    second_meta = json.loads((second_dir / "run.json").read_text())
    assert second_meta["started"] < first_meta["finished"]  # the two ran at the same time
    assert not locks.exists() or not list(locks.glob("*.lock"))


def test_a_bench_with_physical_gear_is_still_locked(tmp_path: Path) -> None:
    bench = _bench_with_a_real_card_reader(tmp_path)
    locks = tmp_path / "locks"
    holder = BenchLock("sim-real-card", purpose="nightly plan", lock_dir=locks, owner="lab@bench1")
    holder.acquire()
    try:
        second = _benchctl("run", "003", "--bench", str(bench), "--runs", str(tmp_path / "runs"), lock_dir=locks)
        output = second.communicate(timeout=60)[0]
    finally:
        holder.release()
    assert second.returncode == 4, output
    assert "bench 'sim-real-card' is in use by lab@bench1" in output and "nightly plan" in output
    assert not (tmp_path / "runs").exists()  # refused before anything: no run directory, no gear opened
