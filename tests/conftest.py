"""Fixtures shared by the whole suite (the default sim bench config, the scenarios), the order the tests are
handed to parallel workers in, and the optional CPU stress (support/cpu_stress.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchctl.bench.config import BenchConfig, load_bench
from benchctl.paths import DEFAULT_BENCH, SCENARIOS
from benchctl.scenario.model import Scenario, load_scenarios

from support.bench_text import sim_bench_text
from support.cpu_stress import CpuStress, burner_count, wanted
from support.scheduling import SharedSetupPlugin, rank

_STRESS = pytest.StashKey[CpuStress]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The longest tests first (support/scheduling.py): parallel workers are handed them in this order."""
    items.sort(key=lambda item: rank(item.nodeid))  # stable: the collection order within a rank


def pytest_configure(config: pytest.Config) -> None:
    """In the main process (a parallel worker has `workerinput`): the scheduler that keeps a shared setup's tests
    on one worker, and with BENCHCTL_TEST_CPU_STRESS=1 the burners that keep every core busy while the suite runs
    (once, not once a worker)."""
    if config.pluginmanager.hasplugin("xdist") and not hasattr(config, "workerinput"):
        config.pluginmanager.register(SharedSetupPlugin(), "benchctl-shared-setup")
    setting = wanted()
    if setting is not None and not hasattr(config, "workerinput"):
        stress = CpuStress(burner_count(setting))
        config.add_cleanup(stress.stop)
        config.stash[_STRESS] = stress


def pytest_report_header(config: pytest.Config) -> str | None:
    stress = config.stash.get(_STRESS, None)
    return f"CPU stress: {len(stress.processes)} busy process(es) ({os.cpu_count()} core(s))" if stress else None



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
