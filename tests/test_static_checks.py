"""The static checks CI runs with the tests: ruff (lint), mypy (types) and import-linter (the layer contracts).

Their settings live in pyproject.toml ([tool.ruff], [tool.mypy], [tool.importlinter]); each test fails with the
tool's own output, so a finding reads as it would on the command line."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support.python_env import python_cache_env

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """The tool installed beside this Python (the .venv's), else on PATH; missing is a failure, not a skip:
    `pip install -e '.[test]'` (what ./dev does) installs all three."""
    path = BIN / name if (BIN / name).exists() else shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed; run ./dev test (or pip install -e '.[test]')")
    return str(path)


def run(*command: str) -> None:
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(command[:2])} failed:\n{result.stdout}{result.stderr}", pytrace=False)


# The tools' caches go to the test's folder, never the checkout: the suite writes nothing there (its runs may be
# on parallel workers, and a cache left behind would hide what a fresh clone sees).
def test_ruff() -> None:
    run(tool("ruff"), "check", "--no-cache", "benchctl", "hil_sim", "octt_standin", "drivers", "tests", "benchmarks")


def test_mypy(tmp_path: Path) -> None:
    run(tool("mypy"), "--cache-dir", str(tmp_path / "mypy-cache"))  # what it checks is [tool.mypy] files


def test_import_contracts() -> None:
    run(tool("lint-imports"), "--no-cache")


@pytest.mark.parametrize("module, upward", [
    ("benchctl/record/case.py", "benchctl.run.standalone"),  # the bottom layer reaching for the run
    ("benchctl/scenario/model.py", "benchctl.plan.plan"),  # the engine's layer reaching for the plan above it
    ("benchctl/perf/timings.py", "benchctl.report.html"),
])
def test_an_import_that_points_up_breaks_the_layer_contract(tmp_path: Path, module: str, upward: str) -> None:
    """The contract is not vacuous: one upward import in a copy of the tree fails lint-imports, naming it."""
    for top in ("benchctl", "hil_sim", "drivers", "octt_standin"):
        shutil.copytree(ROOT / top, tmp_path / top, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    target = tmp_path / module
    target.write_text(target.read_text(encoding="utf-8") + f"\nimport {upward}  # noqa\n", encoding="utf-8")
    result = subprocess.run([tool("lint-imports"), "--no-cache"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=600, env={**python_cache_env(), "PATH": str(BIN), "PYTHONPATH": str(tmp_path)})
    assert result.returncode != 0, result.stdout
    assert "benchctl's layers only point down BROKEN" in result.stdout
    assert upward in result.stdout
