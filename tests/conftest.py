"""Fixtures shared by the whole suite: the default sim bench config and the scenarios."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchctl.bench.config import BenchConfig, load_bench
from benchctl.paths import DEFAULT_BENCH, SCENARIOS
from benchctl.scenario.model import Scenario, load_scenarios
from support.bench_text import sim_bench_text


@pytest.fixture
def sim_config() -> BenchConfig:
    return load_bench(DEFAULT_BENCH)


@pytest.fixture
def fast_sim_config(tmp_path: Path) -> BenchConfig:
    """The sim bench with short message timeouts, so a missing message fails quickly."""
    text = sim_bench_text().replace("message_timeout_s: 10", "message_timeout_s: 4")
    assert "message_timeout_s: 4" in text
    path = tmp_path / "sim-fast.yaml"
    path.write_text(text)
    return load_bench(path)


@pytest.fixture(scope="session")
def scenarios() -> dict[str, Scenario]:
    return {s.id: s for s in load_scenarios(SCENARIOS)}
