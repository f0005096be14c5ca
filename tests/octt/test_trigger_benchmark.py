"""The trigger-to-action benchmark runs (tiny parameters) and prints its figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_benchmark_prints_its_figures() -> None:
    done = subprocess.run([sys.executable, "benchmarks/trigger_to_action.py", "--reps", "1", "--poll", "0.05"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 1), done.stdout + done.stderr  # 1: a figure above target, still printed
    for name in ("prompt -> plug_in", "prompt -> unplug", "prompt -> present_id", "frame Preparing -> present_id"):
        line = next((line for line in done.stdout.splitlines() if name in line), None)
        assert line is not None and "p50" in line and "p99" in line, done.stdout
