"""The static checks CI runs with the tests: ruff (lint), mypy (types) and import-linter (the layer contracts).

Their settings live in pyproject.toml ([tool.ruff], [tool.mypy], [tool.importlinter]); each test fails with the
tool's own output, so a finding reads as it would on the command line."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_ruff() -> None:
    run(tool("ruff"), "check", "benchctl", "hil_sim", "octt_standin", "drivers", "tests", "benchmarks")


def test_mypy() -> None:
    run(tool("mypy"))  # what it checks is [tool.mypy] files


def test_import_contracts() -> None:
    run(tool("lint-imports"), "--no-cache")
