"""Hostile and broken files: each is one FILE:LINE error, quickly (the loader stops at its bounds, never reading a
hostile file to its end) and in bounded memory, whatever reads it.

Before the loader checked them, these gave tracebacks (UnicodeDecodeError, ReaderError, RecursionError,
ConstructorError) or, for the alias bomb, ate gigabytes.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path
from typing import Any, Callable

import pytest

from benchctl.bench.config import load_bench
from benchctl.cli import main
from benchctl.config import ConfigError, marked
from benchctl.config.marked import load_marked
from benchctl.config.pics import load_pics
from benchctl.scenario.model import load_scenario

from support.hostile_files import HOSTILE, Hostile

LOADERS: dict[str, Callable[[Path], Any]] = {"bench": load_bench, "scenario": load_scenario, "pics": load_pics}
# What "quickly" means without a stopwatch (a busy machine makes any wall-clock bound flaky): the parser events the
# loader takes in, at most the values it allows and a margin for the mappings and sequences around them. The
# 200,000-value file takes 50,000; read to its end it would take 200,000 (and seconds, in pure Python).
MAX_EVENTS = marked.MAX_VALUES + 1_000
MAX_PEAK_BYTES = 30 * 1024 * 1024


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the parser events the loader composes (one list item, for the test to read after loading)."""
    count = [0]
    compose = marked._Composer.event

    def counted(self: marked._Composer, event: object) -> None:
        count[0] += 1
        compose(self, event)

    monkeypatch.setattr(marked._Composer, "event", counted)
    return count


def write(tmp_path: Path, hostile: Hostile) -> Path:
    path = tmp_path / "TC_001_CS.yaml"  # a scenario's file name, so only the content can be wrong
    path.write_bytes(hostile.content)
    return path


@pytest.mark.parametrize("kind", LOADERS)
@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda h: h.name)
def test_a_hostile_file_is_one_error_naming_file_and_line(tmp_path: Path, hostile: Hostile, kind: str,
                                                          events: list[int]) -> None:
    path = write(tmp_path, hostile)

    with pytest.raises(ConfigError) as caught:
        LOADERS[kind](path)

    err = caught.value
    assert (err.file, err.line) == (str(path), hostile.line)
    assert hostile.fragment in err.message
    assert "\n" not in str(err)
    assert events[0] < MAX_EVENTS


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
def test_without_libyaml_the_same_error(tmp_path: Path, hostile: Hostile, monkeypatch: pytest.MonkeyPatch,
                                        events: list[int]) -> None:
    """PyYAML built without libyaml parses in pure Python: the bounds hold there too."""
    import yaml

    path = write(tmp_path, hostile)
    monkeypatch.setattr(marked, "_FAST", yaml.SafeLoader)

    with pytest.raises(ConfigError) as caught:
        load_marked(path)

    assert (caught.value.line, hostile.fragment in caught.value.message) == (hostile.line, True)
    assert events[0] < MAX_EVENTS
