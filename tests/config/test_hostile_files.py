"""Hostile and broken files: each is one FILE:LINE error, quickly and in bounded memory, whatever reads it.

Before the loader checked them, these gave tracebacks (UnicodeDecodeError, ReaderError, RecursionError,
ConstructorError) or, for the alias bomb, ate gigabytes.
"""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path
from typing import Any, Callable

import pytest

from benchctl.bench.config import load_bench
from benchctl.cli import main
from benchctl.config import ConfigError
from benchctl.config.marked import load_marked
from benchctl.config.pics import load_pics
from benchctl.scenario.model import load_scenario

from support.hostile_files import HOSTILE, Hostile

LOADERS: dict[str, Callable[[Path], Any]] = {"bench": load_bench, "scenario": load_scenario, "pics": load_pics}
MAX_SECONDS = 1.0
MAX_PEAK_BYTES = 30 * 1024 * 1024


def write(tmp_path: Path, hostile: Hostile) -> Path:
    path = tmp_path / "TC_001_CS.yaml"  # a scenario's file name, so only the content can be wrong
    path.write_bytes(hostile.content)
    return path


@pytest.mark.parametrize("kind", LOADERS)
@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda h: h.name)
def test_a_hostile_file_is_one_error_naming_file_and_line(tmp_path: Path, hostile: Hostile, kind: str) -> None:
    path = write(tmp_path, hostile)

    started = time.perf_counter()
    with pytest.raises(ConfigError) as caught:
        LOADERS[kind](path)
    elapsed = time.perf_counter() - started

    err = caught.value
    assert (err.file, err.line) == (str(path), hostile.line)
    assert hostile.fragment in err.message
    assert "\n" not in str(err)
    assert elapsed < MAX_SECONDS


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda h: h.name)
def test_a_hostile_file_is_refused_in_bounded_memory(tmp_path: Path, hostile: Hostile) -> None:
    path = write(tmp_path, hostile)
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError):
            load_marked(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MAX_PEAK_BYTES


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda h: h.name)
def test_validate_prints_one_file_line_error(tmp_path: Path, hostile: Hostile,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, hostile)

    status = main(["validate", str(path)])

    out = capsys.readouterr().out
    where = f"{path}:{hostile.line}: " if hostile.line is not None else f"{path}: "
    assert status == 2
    assert out.count("\n") == 1 and out.startswith(where), out
    assert "Traceback" not in out


def test_aliases_within_the_bounds_still_work(tmp_path: Path) -> None:
    path = tmp_path / "aliases.yaml"
    path.write_text("base: &base {a: 1, b: [x, y]}\nfirst: *base\nsecond: *base\n")

    doc = load_marked(path)

    assert doc.data == {"base": {"a": 1, "b": ["x", "y"]}, "first": {"a": 1, "b": ["x", "y"]},
                        "second": {"a": 1, "b": ["x", "y"]}}
    assert doc.line(("second", "b")) == 1  # an alias's values are where its anchor wrote them


def test_nesting_just_within_the_bound_loads(tmp_path: Path) -> None:
    from benchctl.config.marked import MAX_DEPTH

    path = tmp_path / "deep.yaml"
    path.write_text("a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n")

    value = load_marked(path).data["a"]

    depth = 1
    while value:
        value, depth = value[0], depth + 1
    assert depth == MAX_DEPTH - 1


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda h: h.name)
def test_without_libyaml_the_same_error(tmp_path: Path, hostile: Hostile, monkeypatch: pytest.MonkeyPatch) -> None:
    """PyYAML built without libyaml parses in pure Python: the bounds hold there too."""
    import yaml

    from benchctl.config import marked

    path = write(tmp_path, hostile)
    monkeypatch.setattr(marked, "_FAST", yaml.SafeLoader)

    started = time.perf_counter()
    with pytest.raises(ConfigError) as caught:
        load_marked(path)

    assert (caught.value.line, hostile.fragment in caught.value.message) == (hostile.line, True)
    assert time.perf_counter() - started < MAX_SECONDS * 2  # the pure-Python parser is slower
