"""Fixtures shared by the whole suite (the default sim bench config, the scenarios), the order the tests are
handed to parallel workers in, and the optional CPU stress (support/cpu_stress.py)."""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import pytest

from benchctl.bench.config import BenchConfig, load_bench
from benchctl.paths import DEFAULT_BENCH, SCENARIOS
from benchctl.scenario.model import Scenario, load_scenarios

from support.bench_text import sim_bench_text
from support.cpu_stress import CpuStress, burner_count, wanted

TESTS = Path(__file__).resolve().parent
_STRESS = pytest.StashKey[CpuStress]()

# The longest tests first (measured: docs/performance.md, "Test suite"), so that on parallel workers (./dev test
# runs `--dist loadgroup`) none of them starts last and keeps the run waiting while the other workers are idle.
# A prefix of a node id; the first that matches ranks the test, the rest keep their collection order after these.
LONGEST_FIRST = [
    "tests/e2e/test_cases.py::test_case_passes_against_the_healthy_charger",  # the whole plan, every variant
    "tests/e2e/test_cases.py",
    "tests/fleet/",
    "tests/e2e/",
    "tests/run/",
    "tests/octt/",
    "tests/report/test_in_browser.py",
    "tests/test_driver_plugins.py",
]


def _rank(nodeid: str) -> int:
    return next((i for i, prefix in enumerate(LONGEST_FIRST) if nodeid.startswith(prefix)), len(LONGEST_FIRST))


def _shared_fixtures(item: pytest.Item) -> list[str]:
    """The module- or session-scoped fixtures of a test module (not a conftest's) this test uses: each is one
    expensive setup (a whole plan run, a pip install, a run for the browser) its tests share."""
    info = getattr(item, "_fixtureinfo", None)
    names = []
    for defs in (info.name2fixturedefs.values() if info is not None else []):
        for fixturedef in defs:
            source = Path(inspect.getsourcefile(fixturedef.func) or "/")
            if (fixturedef.scope in ("module", "package", "session") and source.is_relative_to(TESTS)
                    and source.name != "conftest.py"):
                names.append(f"{source.name}::{fixturedef.argname}")
    return sorted(set(names))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Longest first; and the tests that share an expensive fixture go to one worker (an xdist_group, which
    `--dist loadgroup` keeps together), or every worker that gets one of them would set it up again."""
    items.sort(key=lambda item: _rank(item.nodeid))  # stable: the collection order within a rank
    for item in items:
        shared = _shared_fixtures(item)
        if shared:
            item.add_marker(pytest.mark.xdist_group("+".join(shared)))


def pytest_configure(config: pytest.Config) -> None:
    """BENCHCTL_TEST_CPU_STRESS=1: burn every core while the suite runs. Only the main process starts the burners
    (a parallel worker has `workerinput`), so N workers do not start N sets."""
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
