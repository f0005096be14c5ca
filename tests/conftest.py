"""Fixtures shared by the whole suite: the default sim bench config and the scenarios."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchctl.bench.config import BenchConfig, load_bench
from benchctl.paths import DEFAULT_BENCH, SCENARIOS
from benchctl.scenario.model import Scenario, load_scenarios

from support.bench_text import sim_bench_text


@pytest.fixture(scope="session", autouse=True)
def private_bench_locks(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The suite's runs take their bench locks in a folder of its own, never a lab's real lock folder."""
    os.environ["BENCHCTL_LOCK_DIR"] = str(tmp_path_factory.mktemp("locks"))


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
