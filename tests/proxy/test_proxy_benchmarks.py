"""The proxy benchmarks run and print their figures (tiny parameters: this proves they work, it times nothing)."""

from __future__ import annotations

import math
import re
import subprocess
import sys

from benchctl.paths import ROOT


def run(script: str, *args: str) -> str:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_proxy_latency_benchmark_prints_per_frame_figures_for_each_level_and_direction() -> None:
    out = run("proxy_latency.py", "--levels", "1,3", "--frames", "5", "--warmup", "1", "--interval", "0.01")
    rows = [line.split() for line in out.splitlines() if re.match(r"\s+\d+\s+\d+\s", line)]
    # chargers, frames measured, direction; then added p50, p99, max and the direct transit's p50, p99 (ms)
    assert [(r[0], r[1], " ".join(r[2:5])) for r in rows] == [
        ("1", "5", "charger -> CS"), ("1", "5", "CS -> charger"),
        ("3", "15", "charger -> CS"), ("3", "15", "CS -> charger")]
    for row in rows:
        figures = [float(row[i]) for i in (5, 7, 9, 11, 13)]
        assert all(math.isfinite(f) for f in figures), row
        assert figures[0] <= figures[1] <= figures[2], row  # p50 <= p99 <= max of the same frames
    # (1 + 3 chargers) x (1 + 5 CALLs) x (CALL + reply) x (only the proxied path) passed the proxy
    assert "the proxy captured 48 frames (0 flagged invalid)" in out


def test_capture_throughput_benchmark_counts_both_directions() -> None:
    out = run("capture_throughput.py", "--frames", "300", "--chargers", "2", "--proxied-frames", "20")
    assert re.search(r"Capture\.add\s+[\d,]+ fps", out)
    assert re.search(r"parse \+ schema check \+ add\s+[\d,]+ fps", out)
    each = [int(re.search(rf"{re.escape(d)}\s+([\d,]+) fps", out)[1].replace(",", ""))  # type: ignore[index]
            for d in ("charger -> CS", "CS -> charger")]
    both = int(re.search(r"both directions, captured\s+([\d,]+) fps", out)[1].replace(",", ""))  # type: ignore[index]
    assert each[0] > 0 and abs(sum(each) - both) <= 2  # rounding
    # 2 chargers x (20 MeterValues + a last Heartbeat), each answered: both directions captured
    assert "captured 84 of 84 frames (0 flagged invalid)" in out
