"""A run stopped by a signal (Ctrl-C, SIGTERM, SIGHUP, SIGQUIT): the gear goes to its safe state first, within a
second even while a cut network keeps the charger offline, the lock is released and the run directory keeps what
happened."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from benchctl.run.lock import LockRecord, default_lock_dir


def _start_run(tmp_path: Path, case: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "benchctl.cli", "run", case, "--runs", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "COLUMNS": "200"})


def _wait_for_action(proc: subprocess.Popen[str], tmp_path: Path, case_id: str, role: str, command: str,
                     args: dict[str, Any]) -> Path:
    """Wait until the case has done `command` with `args` (its actions.jsonl says so); the run directory."""
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    for line in proc.stdout:
        if case_id in line and "..." in line:
            break
        assert time.monotonic() < deadline, "the case never started"
    (run_dir,) = tmp_path.iterdir()
    actions = run_dir / "actions.jsonl"
    deadline = time.monotonic() + 20
    while not any(a["role"] == role and a["command"] == command and a["args"] == args for a in _actions(run_dir)):
        assert time.monotonic() < deadline, f"{command} {args} never happened"
        time.sleep(0.02)
    assert actions.exists()
    return run_dir


def _actions(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "actions.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGINT], ids=lambda s: s.name)
def test_a_stop_signal_mid_case_leaves_the_gear_safe_and_the_lock_free(tmp_path: Path, sig: signal.Signals) -> None:
    proc = _start_run(tmp_path / "runs", "003")
    try:
        run_dir = _wait_for_action(proc, tmp_path / "runs", "TC_003_CS", "ev", "set_plug", {"connected": True})
        proc.send_signal(sig)
        output = proc.communicate(timeout=40)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + int(sig), output
    assert f"stopped by {sig.name}" in output and "safe state" in output, output
    logged = _actions(run_dir)
    plug_in = max(i for i, a in enumerate(logged) if a["command"] == "set_plug" and a["args"] == {"connected": True})
    after = logged[plug_in + 1:]
    assert any(a["role"] == "ev" and a["command"] == "safe_state" and a["error"] is None for a in after), after
    assert any(a["role"] == "card" and a["command"] == "safe_state" for a in after)
    assert not (default_lock_dir() / "sim.lock").exists(), LockRecord.read(default_lock_dir() / "sim.lock")
    assert (run_dir / "report.html").exists()
    # the report's banner says the run was stopped, with the exit status the signal gave
    assert json.loads((run_dir / "run.json").read_text())["stopped"] == {"by": sig.name, "exit_status": 128 + int(sig)}
    assert f"{128 + int(sig)} (stopped by {sig.name})" in (run_dir / "report.html").read_text()


def test_the_gear_goes_safe_within_a_second_while_the_network_is_cut(tmp_path: Path) -> None:
    """TC_036_CS cuts the charger's network: the end of the run must not first wait for the charger to come back
    (10 s) with the network relay still cut; the gear goes safe first."""
    proc = _start_run(tmp_path / "runs", "036")
    try:
        run_dir = _wait_for_action(proc, tmp_path / "runs", "TC_036_CS", "network", "set", {"level": False})
        signalled = time.time()
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=60)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, output
    logged = [a for a in _actions(run_dir) if a["ts"] >= signalled]
    safe: dict[str, dict[str, Any]] = {}
    for a in logged:  # the first safe state of each role after the signal
        if a["command"] == "safe_state" and a["error"] is None:
            safe.setdefault(a["role"], a)
    assert {"ev", "network", "card"} <= set(safe), logged
    ends = {role: a["ts"] + a["duration_s"] - signalled for role, a in safe.items()}
    assert max(ends[r] for r in ("ev", "network", "card")) < 1.0, ends


def test_a_stop_signal_puts_every_bench_of_a_run_with_several_in_its_safe_state(tmp_path: Path) -> None:
    """`--benches 3`: three cases plug in side by side; SIGTERM puts all three benches' gear safe, not the first's."""
    runs = tmp_path / "runs"
    proc = subprocess.Popen([sys.executable, "-m", "benchctl.cli", "run", "003", "004_1", "007", "--benches", "3",
                             "--runs", str(runs)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "COLUMNS": "200"})
    try:
        deadline = time.monotonic() + 40
        while not runs.exists() or not list(runs.iterdir()) or \
                {a.get("bench") for a in _actions(next(runs.iterdir()))
                 if a["command"] == "set_plug" and a["args"] == {"connected": True}} != {1, 2, 3}:
            assert proc.poll() is None and time.monotonic() < deadline, "the three cases never all plugged in"
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=40)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + int(signal.SIGTERM), output
    logged = _actions(next(runs.iterdir()))
    for bench in (1, 2, 3):
        mine = [a for a in logged if a.get("bench") == bench]
        plug_in = max(i for i, a in enumerate(mine) if a["command"] == "set_plug" and a["args"] == {"connected": True})
        assert any(a["role"] == "ev" and a["command"] == "safe_state" and a["error"] is None
                   for a in mine[plug_in + 1:]), (bench, mine[plug_in + 1:])
