"""How the suite is handed to parallel workers (./dev test runs `-n N --dist loadgroup`): the longest tests first,
and the tests that share one expensive setup on one worker.

Not a test module; tests/conftest.py sorts the tests with `rank` and registers `SharedSetupPlugin` when
pytest-xdist is there.

Why not xdist_group marks: pytest-xdist 3.8 passes a test's group to the scheduler as a suffix of its node id, and
pytest 9.2 no longer lets a plugin change a node id (pytest-xdist issue #1386), so the marks are silently ignored
and every worker given one of a variant's whole-plan tests would run that variant's plan again. The scheduler here reads the groups
from SHARED_SETUP by node id instead (the same groups as tests/e2e/test_cases.py's marks), and still honours a
group suffix once pytest-xdist sends one again.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import pytest

# The longest first (measured: docs/performance.md, "Test suite"), so that none of them starts last and keeps the
# run waiting while the other workers are idle. A prefix of a node id; the first that matches ranks the test, the
# others keep their collection order after these.
LONGEST_FIRST = [
    "tests/e2e/test_software_gear.py::test_the_core_plan_passes_on_http_and_on_mqtt_gear_at_the_same_time",  # 3 min
    "tests/e2e/test_cases.py::test_case_passes_against_the_healthy_charger",  # a variant's plan: 1 min each
    "tests/fleet/",  # agents and brokers as processes: 20 to 50 s each
    "tests/test_exit_drill.py",
    "tests/run/test_offline_charger.py",
    "tests/test_driver_plugins.py",
    "tests/octt/test_trigger_benchmark.py",
    "tests/test_static_checks.py",
    "tests/e2e/test_cases.py",  # the fault runs: 5 to 20 s each
    "tests/e2e/",
    "tests/run/",
    "tests/octt/",
    "tests/report/",
]

# Tests that share a module- or session-scoped fixture of their module: one group each, run by one worker (any
# other worker given one of them would set the fixture up again). A fixed group name, or a pattern whose `group`
# is the part of the node id that names it. tests/test_suite_layout.py checks that every such fixture is listed.
SHARED_SETUP: dict[str, str | re.Pattern[str]] = {
    # healthy_run: one variant's plan a group (test_cases.py's xdist_group marks say the same)
    "tests/e2e/test_cases.py::test_case_passes_against_the_healthy_charger": re.compile(r"\[(?P<group>.+)-TC_\w+\]$"),
    "tests/e2e/test_offline_replay.py": "replay_run",
    "tests/perf/test_sim_run.py": "run_dir",
    "tests/proxy/test_proxy_tls.py": "pki",
    "tests/report/test_in_browser.py": "reports",
    "tests/test_driver_plugins.py": "installed",  # pip installs the example plug-in
}


def rank(nodeid: str) -> int:
    return next((i for i, prefix in enumerate(LONGEST_FIRST) if nodeid.startswith(prefix)), len(LONGEST_FIRST))


def shared_setup(nodeid: str) -> str | None:
    """The group of a test that shares an expensive setup with others, as `prefix@name`; None for the rest."""
    for prefix, group in SHARED_SETUP.items():
        if nodeid.startswith(prefix):
            if isinstance(group, str):
                return f"{prefix}@{group}"
            found = group.search(nodeid)
            return f"{prefix}@{found.group('group')}" if found else None
    return None


@functools.cache
def _scheduler_class() -> type:
    from xdist.scheduler import LoadGroupScheduling  # only when pytest-xdist runs the suite

    class SharedSetupScheduling(LoadGroupScheduling):  # type: ignore[misc]
        """loadgroup (one test at a time, in collection order, to whichever worker is free), SHARED_SETUP's groups
        each as one unit."""

        def _split_scope(self, nodeid: str) -> str:
            scope: str = super()._split_scope(nodeid)
            if scope != nodeid:  # an xdist_group suffix (once pytest-xdist can send one again)
                return scope
            return shared_setup(nodeid) or nodeid

    return SharedSetupScheduling


class SharedSetupPlugin:
    """Registered by tests/conftest.py in the main process when pytest-xdist is installed (its hook would be an
    unknown hook without it)."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        if config.getvalue("dist") != "loadgroup":
            return None
        return _scheduler_class()(config, log)
