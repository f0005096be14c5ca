"""Every data file a package reads beside its code is declared as package data, so that a non-editable install
(pip install benchctl, a wheel) has it and not only a checkout."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("benchctl", "drivers", "hil_sim")


def test_every_data_file_of_a_package_is_package_data() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    data = [p for top in PACKAGES for p in (ROOT / top).rglob("*")
            if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts]
    assert data, "no data files found: the test would pass for nothing"
    missing = []
    for path in data:
        package = path.parent
        while not (package / "__init__.py").is_file():
            package = package.parent
        inside = path.relative_to(package).as_posix()
        patterns = declared.get(".".join(package.relative_to(ROOT).parts), [])
        if not any(fnmatch(inside, pattern) for pattern in patterns):
            missing.append(str(path.relative_to(ROOT)))
    assert missing == []
