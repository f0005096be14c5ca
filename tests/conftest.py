"""Fixtures shared by the whole suite: the default sim bench config and the scenarios."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchctl.bench.config import BenchConfig, load_bench
from benchctl.paths import DEFAULT_BENCH, SCENARIOS
from benchctl.scenario.model import Scenario, load_scenarios


@pytest.fixture
def sim_config() -> BenchConfig:
    return load_bench(DEFAULT_BENCH)


@pytest.fixture
def fast_sim_config(tmp_path: Path) -> BenchConfig:
    """The sim bench with short message timeouts, so a missing message fails quickly."""
    text = DEFAULT_BENCH.read_text().replace("message_timeout_s: 10", "message_timeout_s: 4")
    text = text.replace("pics: ../pics/", f"pics: {DEFAULT_BENCH.parent.parent}/pics/")  # the copy lives elsewhere
    assert "message_timeout_s: 4" in text
    path = tmp_path / "sim-fast.yaml"
    path.write_text(text)
    return load_bench(path)


@pytest.fixture(scope="session")
def scenarios() -> dict[str, Scenario]:
    return {s.id: s for s in load_scenarios(SCENARIOS)}
