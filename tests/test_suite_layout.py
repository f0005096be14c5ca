"""The suite runs as one pytest command on parallel workers (./dev test): any folders together in any order, the
longest tests handed out first, the tests of one expensive shared fixture on one worker, and a CPU stress that
starts once and leaves no process behind."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from support.cpu_stress import ENV, cpu_stress, wanted

TESTS = Path(__file__).resolve().parent


def _collect(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider", *args],
                          cwd=TESTS.parent, capture_output=True, text=True, timeout=300, env=env)


def test_folders_with_their_own_conftest_collect_together_in_any_order() -> None:
    """Each folder's conftest.py is imported under the one name `conftest`; a test module importing from it got the
    last one imported (tests/drivers' when given after tests/fleet), so helpers live in support/ instead."""
    done = _collect("tests/fleet", "tests/drivers", "tests/proxy")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "error" not in done.stdout.splitlines()[-1]
    offenders = [str(p.relative_to(TESTS)) for p in TESTS.rglob("*.py")
                 if re.search(r"(?m)^\s*(from conftest import|import conftest)", p.read_text(encoding="utf-8"))]
    assert offenders == []


# prints each collected test with its xdist group, as a worker would hand it to the scheduler
SHOW_GROUPS = """
def pytest_collection_finish(session):
    for item in session.items:
        marks = [m.args[0] for m in item.iter_markers("xdist_group")]
        print("ITEM", item.nodeid, "@" + marks[0] if marks else "")
"""


def test_the_whole_plan_run_is_handed_out_first_and_to_one_worker(tmp_path: Path) -> None:
    (tmp_path / "show_groups.py").write_text(SHOW_GROUPS)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = _collect("tests/test_driver_plugins.py", "tests/e2e/test_cases.py", "-p", "show_groups", env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    items = [line.split()[1:] for line in done.stdout.splitlines() if line.startswith("ITEM ")]
    groups = {nodeid: (rest[0] if rest else None) for nodeid, *rest in items}
    ids = list(groups)
    healthy = [i for i in ids if "::test_case_passes_against_the_healthy_charger[" in i]
    assert healthy and ids[:len(healthy)] == healthy  # the longest (the whole plan) first
    # one group: one worker runs the plan once (every worker given one of them would run it all)
    assert {groups[i] for i in healthy} == {"@test_cases.py::healthy_run"}
    # the pip-installed plug-in's tests share another; the fault runs are independent: any worker, one at a time
    assert "@test_driver_plugins.py::installed" in {groups[i] for i in ids if "test_driver_plugins.py" in i}
    faults = [i for i in ids if "::test_each_fault_fails_its_case_at_its_step[" in i]
    assert faults and {groups[i] for i in faults} == {None}
    assert max(ids.index(i) for i in faults) < min(ids.index(i) for i in ids if "test_driver_plugins" in i)


def test_stress_is_asked_for_by_its_variable() -> None:
    assert [wanted({ENV: v}) for v in ("", "0", "no", "false", "1", "4")] == [None] * 4 + ["1", "4"]
    assert wanted({}) is None


def test_the_stress_burns_the_cores_and_stops_with_its_block() -> None:
    cpu_before = os.times()
    with cpu_stress(2) as stress:
        assert stress.running == 2
        time.sleep(1.0)
        busy = [p.pid for p in stress.processes]
    children = os.times()
    # the burners' CPU time is counted once they are waited for: close to the wall time each, never idle
    assert children.children_user - cpu_before.children_user > 0.5
    assert stress.running == 0
    for pid in busy:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
