"""The proxy benchmarks run and print their figures (tiny parameters: this proves they work, it times nothing)."""

from __future__ import annotations

import re
import subprocess
import sys

from benchctl.paths import ROOT


def run(script: str, *args: str) -> str:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_proxy_latency_benchmark_prints_a_row_per_level() -> None:
    out = run("proxy_latency.py", "--levels", "1,3", "--frames", "5", "--warmup", "1", "--interval", "0")
    rows = [line.split() for line in out.splitlines() if re.match(r"\s+\d+\s+\d+\s", line)]
    assert [(r[0], r[1]) for r in rows] == [("1", "5"), ("3", "15")]
    # (1 + 3 chargers) x (1 + 5 round trips) x (CALL + reply) passed the proxy
    assert "the proxy captured 48 frames (0 flagged invalid)" in out


def test_capture_throughput_benchmark_prints_both_figures() -> None:
    out = run("capture_throughput.py", "--frames", "300", "--chargers", "2", "--proxied-frames", "20")
    assert re.search(r"Capture\.add\s+[\d,]+ fps", out)
    assert re.search(r"parse \+ schema check \+ add\s+[\d,]+ fps", out)
    assert re.search(r"forwarded and captured\s+[\d,]+ fps", out)
    assert "captured 44 of 44 frames (0 flagged invalid)" in out
