"""The suite runs as one pytest command on parallel workers (./dev test): any folders together in any order, the
longest tests handed out first, the tests of one expensive shared fixture on one worker, and a CPU stress that
starts once and leaves no process behind."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from support.cpu_stress import ENV, cpu_stress, wanted
from support.scheduling import SHARED_SETUP

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


# each worker notes the tests it is handed (with --setup-plan they run no fixture: nothing of the plan runs)
WHERE_RUN = """
import ast
import os
def pytest_runtest_logstart(nodeid, location):
    if "PYTEST_XDIST_WORKER" in os.environ:  # the main process hears of every test too
        with open(os.environ["WHERE_RUN"], "a") as out:
            out.write(os.environ["PYTEST_XDIST_WORKER"] + " " + nodeid + "\\n")
"""


def test_each_variants_plan_and_each_shared_setup_go_to_one_worker(tmp_path: Path) -> None:
    (tmp_path / "where_run.py").write_text(WHERE_RUN)
    # not this worker's PYTEST_XDIST_WORKER (when the suite itself runs on workers): the run below has its own
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "WHERE_RUN": str(tmp_path / "where.txt")}
    for name in [name for name in env if name.startswith("PYTEST_XDIST_")]:
        del env[name]
    args = ["tests/test_driver_plugins.py", "tests/proxy/test_proxy_tls.py", "tests/e2e/test_cases.py", "-k",
            "TC_001_CS or TC_003_CS or tls or plug", "-n", "3", "--dist", "loadgroup", "--no-loadscope-reorder",
            "--setup-plan", "-p", "where_run", "-p", "no:cacheprovider", "-q"]
    done = subprocess.run([sys.executable, "-m", "pytest", *args], cwd=TESTS.parent, capture_output=True,
                          text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    handed = [line.split(" ", 1) for line in (tmp_path / "where.txt").read_text().splitlines()]
    worker = {nodeid: gw for gw, nodeid in handed}

    def workers(part: str) -> set[str]:
        found = {gw for nodeid, gw in worker.items() if part in nodeid}
        assert found, part
        return found

    # each variant's plan runs once, on one worker (each worker given one of its tests would run it all again);
    # the variants and the independent fault runs spread over the workers; the plug-in's pip install and the PKI
    # are made once too
    for variant in ("sim", "tethered", "mode-1-2-only"):
        assert len(workers(f"::test_case_passes_against_the_healthy_charger[{variant}-TC_")) == 1, variant
    assert len(workers("::test_case_passes_against_the_healthy_charger[")) > 1
    assert len(workers("::test_each_fault_fails_its_case_at_its_step[")) > 1
    assert len(workers("test_driver_plugins.py::")) == 1
    assert len(workers("test_proxy_tls.py::")) == 1


def test_the_longest_are_handed_out_first() -> None:
    done = _collect("tests/test_driver_plugins.py", "tests/fleet", "tests/e2e")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    ids = [line for line in done.stdout.splitlines() if "::" in line]
    assert ids[0].startswith("tests/e2e/test_software_gear.py::test_the_core_plan"), ids[0]  # the longest: 3 min
    healthy = [i for i, nodeid in enumerate(ids) if "::test_case_passes_against_the_healthy_charger[" in nodeid]
    assert healthy == list(range(1, len(healthy) + 1)) and len(healthy) > 1000  # then every variant's plan
    first = {part: next(i for i, nodeid in enumerate(ids) if nodeid.startswith(part))
             for part in ("tests/fleet/", "tests/test_driver_plugins.py", "tests/e2e/test_cases.py::test_each_fault")}
    assert first["tests/fleet/"] < first["tests/test_driver_plugins.py"] < first["tests/e2e/test_cases.py::test_each_fault"]


def test_every_shared_setup_of_a_test_module_keeps_its_tests_on_one_worker() -> None:
    """A module- or session-scoped fixture in a test module is one expensive setup its tests share: its module is
    listed in SHARED_SETUP, or every worker running one of its tests would set it up again."""
    found = set()
    for path in TESTS.rglob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for decorator in node.decorator_list:
                    scope = next((k.value for k in getattr(decorator, "keywords", []) if k.arg == "scope"), None)
                    if isinstance(scope, ast.Constant) and scope.value in ("module", "package", "session"):
                        found.add(f"tests/{path.relative_to(TESTS)}")
    listed = {prefix.split("::")[0] for prefix in SHARED_SETUP}
    assert found and found <= listed, sorted(found - listed)


def test_stress_is_asked_for_by_its_variable() -> None:
    assert [wanted({ENV: v}) for v in ("", "0", "no", "false", "1", "4")] == [None] * 4 + ["1", "4"]
    assert wanted({}) is None


def _cpu_ticks(pid: int) -> int:
    """The CPU time a process has had (user + system clock ticks, /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def test_the_stress_burns_the_cores_and_stops_with_its_block() -> None:
    with cpu_stress(2) as stress:
        assert stress.running == 2
        busy = [p.pid for p in stress.processes]
        # each burner keeps taking CPU time (how much depends on what else runs: no figure is asserted)
        deadline = time.monotonic() + 60
        start = [_cpu_ticks(pid) for pid in busy]
        while not all(_cpu_ticks(pid) > ticks + 10 for pid, ticks in zip(busy, start)):
            assert time.monotonic() < deadline, "a burner took no CPU time"
            time.sleep(0.1)
    assert stress.running == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in busy)  # ended and reaped


def test_a_clean_environment_keeps_python_out_of_the_checkout() -> None:
    """A process a test starts with an environment of its own gets ./dev's byte-code settings (support/python_env.py):
    the suite writes nothing into the checkout, not even __pycache__ folders."""
    offenders = []
    for path in TESTS.rglob("*.py"):
        for found in re.finditer(r"\benv\s*=\s*\{(?!\s*\*\*(os\.environ|python_cache_env\(\)))", path.read_text("utf-8")):
            offenders.append(f"{path.relative_to(TESTS)}:{found.start()}")
    assert offenders == []
