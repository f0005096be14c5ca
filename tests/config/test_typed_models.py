"""benchctl.config.typed: a dataclass declares a mapping once; its schema validates a document with the usual
FILE:LINE errors and build() makes the typed value of what validation returned."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from benchctl.config import ConfigError, load_marked
from benchctl.config.errors import each_error
from benchctl.config.schema import Field, Schema, validate
from benchctl.config.typed import build, schema_of, setting


def _positive(value: object) -> str | None:
    """a positive number or auto"""
    return None if value == "auto" or (isinstance(value, (int, float)) and value > 0) else f"not positive: {value!r}"


@dataclass(kw_only=True)
class Window:
    start: int = setting(required=True, help="first step")
    length_s: float | str = setting(refs=True, default="${window_s}")


@dataclass(kw_only=True)
class Base:
    name: str | None = setting(help="what it is called")


@dataclass(kw_only=True)
class Sample(Base):
    port: int = setting(required=True, minimum=1, maximum=65535)
    mode: str = setting(default="fast", choices=("fast", "slow"))
    tags: list[str] = setting(default=[])
    rate: float | str = setting(type=object, default="auto", check=_positive)
    with_: dict[str, Any] = setting(key="with", default={})
    window: Window | None = setting(help="an optional section")
    windows: list[Window] = setting(default=[])
    seen: int = field(default=0)  # no setting: not a key of the document


def load(tmp_path: Path, text: str) -> tuple[Any, dict[str, Any]]:
    path = tmp_path / "sample.yaml"
    path.write_text(text, encoding="utf-8")
    doc = load_marked(path)
    data = validate(doc, schema_of(Sample))
    return build(Sample, data), data


def test_the_schema_is_derived_from_the_annotations_and_settings() -> None:
    schema = schema_of(Sample)
    assert list(schema.fields) == ["name", "port", "mode", "tags", "rate", "with", "window", "windows"]
    port = schema.fields["port"]
    assert isinstance(port, Field) and (port.type, port.required, port.minimum, port.maximum) == (int, True, 1, 65535)
    tags = schema.fields["tags"]
    assert isinstance(tags, Field) and tags.type is list and isinstance(tags.items, Field) and tags.items.type is str
    rate = schema.fields["rate"]
    assert isinstance(rate, Field) and rate.type is object and rate.check is _positive
    window = schema.fields["window"]
    assert isinstance(window, Schema) and window.help == "an optional section"
    length = window.fields["length_s"]
    assert isinstance(length, Field) and (length.type, length.refs, length.default) == (float, True, "${window_s}")
    windows = schema.fields["windows"]
    assert isinstance(windows, Field) and isinstance(windows.items, Schema)
    assert schema_of(Sample) is schema  # made once


def test_build_gives_the_typed_value_with_defaults_and_nested_models(tmp_path: Path) -> None:
    sample, data = load(tmp_path, "port: 8080\nwith: {a: 1}\nwindow: {start: 3}\nwindows: [{start: 1, length_s: 2}]\n")
    assert sample == Sample(port=8080, with_={"a": 1}, window=Window(start=3), windows=[Window(start=1, length_s=2.0)])
    assert (sample.mode, sample.rate, sample.name, sample.seen, sample.tags) == ("fast", "auto", None, 0, [])
    assert data["with"] == {"a": 1} and data["window"] == {"start": 3, "length_s": "${window_s}"}


def test_a_mutable_default_is_not_shared_between_values() -> None:
    first, second = Sample(port=1), Sample(port=2)
    first.tags.append("x")
    assert second.tags == []


def test_errors_name_the_line_and_the_field_all_at_once(tmp_path: Path) -> None:
    text = "port: 0\nmode: fats\nrate: -1\nwindow: {lenght_s: 3}\nwindows: [{start: x}]\nprot: 1\n"
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    found = {(e.line, e.field): e.message for e in each_error(caught.value)}
    assert found[(1, "port")] == "0 is below the minimum 1"
    assert "'fats' is not one of: fast, slow" in found[(2, "mode")] and "did you mean 'fast'" in found[(2, "mode")]
    assert found[(3, "rate")] == "not positive: -1"
    assert "unknown key" in found[(4, "window.lenght_s")] and "length_s" in found[(4, "window.lenght_s")]
    assert found[(4, "window")] == "missing required key 'start'"
    assert found[(5, "windows[0].start")] == "expected an integer, got str 'x'"
    assert "did you mean 'port'" in found[(6, "prot")]


def test_a_class_that_is_no_dataclass_is_refused() -> None:
    with pytest.raises(TypeError, match="not a dataclass"):
        schema_of(int)


def test_two_loads_of_a_bench_share_no_default_value() -> None:
    """A default list (the simulator's feature profiles) is each document's own: one run changing it changes no
    other bench loaded in the same process."""
    from benchctl.bench.config import load_bench
    from benchctl.paths import DEFAULT_BENCH

    first, second = load_bench(DEFAULT_BENCH), load_bench(DEFAULT_BENCH)
    assert first.simulator is not None and second.simulator is not None
    first.simulator.station.profiles.remove("RemoteTrigger")
    assert "RemoteTrigger" in second.simulator.station.profiles
