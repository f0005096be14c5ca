"""Overnight safety on the command line: a run killed with SIGKILL resumes with nothing lost or repeated (the
lock on the command line is tested in tests/run/test_lock.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

CASES = ["001", "003", "010", "012", "013"]


def _benchctl(*args: str, **kwargs: object) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "benchctl.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env={**os.environ, "COLUMNS": "200"}, **kwargs)


def _results(run_dir: Path) -> list[dict[str, object]]:
    path = run_dir / "results.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _killed_after_two_cases(tmp_path: Path, *args: str) -> Path:
    """`benchctl run ARGS` into tmp_path, killed with SIGKILL once two cases have finished; its run directory."""
    proc = _benchctl("run", *args, "--runs", str(tmp_path))
    try:
        deadline = time.monotonic() + 120
        while not list(tmp_path.iterdir()) or len(_results(next(tmp_path.iterdir()))) < 2:
            assert proc.poll() is None, proc.communicate()[0]
            assert time.monotonic() < deadline, "two cases never finished"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    (run_dir,) = tmp_path.iterdir()
    return run_dir


def test_a_run_killed_with_sigkill_resumes_without_losing_or_repeating_a_case(tmp_path: Path) -> None:
    # one bench: the cases one after another, so the kill falls between two of them (the default, several
    # simulated benches at once, is tested in tests/run/test_benches.py)
    run_dir = _killed_after_two_cases(tmp_path, *CASES, "--benches", "1")
    finished = [r["id"] for r in _results(run_dir)]
    assert 2 <= len(finished) < len(CASES)
    with (run_dir / "results.jsonl").open("a") as f:
        f.write('{"id": "TC_013_CS", "verd')  # as if killed in the middle of writing a result

    resumed = _benchctl("run", "--resume", str(run_dir))
    output = resumed.communicate(timeout=300)[0]
    assert resumed.returncode == 0, output
    assert "already finished" in output
    ids = [r["id"] for r in _results(run_dir)]
    assert ids == [f"TC_{c}_CS" for c in CASES]  # each once, in the plan's order
    assert ids[:len(finished)] == finished
    assert (run_dir / "results.jsonl.partial").read_text() == '{"id": "TC_013_CS", "verd\n'
    indices = [json.loads(line)["i"] for line in (run_dir / "capture.jsonl").read_text().splitlines()]
    assert indices == list(range(len(indices)))  # the resumed capture goes on numbering, no index twice
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["resumed"][0]["remaining"] == ids[len(finished):]
    html = (run_dir / "report.html").read_text()
    assert all(f"TC_{c}_CS" in html for c in CASES)
    assert "INFO" in (run_dir / "benchctl.log").read_text()


def test_a_run_on_several_benches_killed_with_sigkill_resumes_on_as_many(tmp_path: Path) -> None:
    cases = ["001", "003", "010", "012", "013", "017_1"]
    run_dir = _killed_after_two_cases(tmp_path, *cases, "--benches", "2")
    finished = [r["id"] for r in _results(run_dir)]
    assert 2 <= len(finished) < len(cases)
    resumed = _benchctl("run", "--resume", str(run_dir))
    output = resumed.communicate(timeout=300)[0]
    assert resumed.returncode == 0, output
    results = _results(run_dir)
    assert sorted(r["id"] for r in results) == sorted(f"TC_{c}_CS" for c in cases)  # each once
    assert {r["bench"] for r in results[len(finished):]} <= {1, 2}  # resumed on the run's two benches
    indices = [json.loads(line)["i"] for line in (run_dir / "capture.jsonl").read_text().splitlines()]
    assert indices == list(range(len(indices)))
