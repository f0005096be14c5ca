"""Fixtures of the follow-mode tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchctl.bench.config import BenchConfig, load_bench

from support.bench_text import sim_bench_text


@pytest.fixture
def quick_sim(tmp_path: Path) -> BenchConfig:
    """The sim bench with a short message timeout, so a step the charger never does fails quickly."""
    text = sim_bench_text().replace("message_timeout_s: 10", "message_timeout_s: 3")
    assert "message_timeout_s: 3" in text
    path = tmp_path / "sim-quick.yaml"
    path.write_text(text)
    return load_bench(path)
