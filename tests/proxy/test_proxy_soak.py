"""The soak benchmark runs `benchctl proxy` and prints its memory figures; on a short run the growth already tells
a proxy that keeps every frame (about 1.75 KB each: 34 MiB for 20,000) from one that streams them to disk."""

from __future__ import annotations

import re
import subprocess
import sys

from benchctl.paths import ROOT


def test_the_proxy_does_not_grow_with_the_frames_it_passes() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "proxy_soak.py"), "--frames", "20000",
                           "--warmup", "5000", "--chargers", "4"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert re.search(r"proxy soak: 20,000 frames \(10,000 MeterValues round trips on 4 connections", out), out
    before = float(re.search(r"RSS after warm-up \(5,000 frames\): ([\d.]+) MiB", out)[1])  # type: ignore[index]
    after = float(re.search(r"RSS at the end: ([\d.]+) MiB", out)[1])  # type: ignore[index]
    assert before > 10 and after - before < 10, out  # keeping every frame would add ~34 MiB here
    assert "the proxy captured 25000 frames (0 not valid OCPP)" in out  # every frame of both runs, none lost
