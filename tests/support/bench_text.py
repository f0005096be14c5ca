"""The shipped sim bench as text, for tests that write an edited copy elsewhere."""

from __future__ import annotations

from benchctl.paths import DEFAULT_BENCH, ROOT


def sim_bench_text() -> str:
    """bench_configs/sim.yaml with its PICS path made absolute, so a copy in tmp_path still finds it."""
    text = DEFAULT_BENCH.read_text(encoding="utf-8")
    assert "pics: ../pics/" in text
    return text.replace("pics: ../pics/", f"pics: {ROOT}/pics/")
