"""`.nan` and `.inf` are YAML floats, but no duration, interval or current: each is an error on its line.

Before, `.inf` passed every minimum (a wait or a timeout that never ends) and `.nan` passed every comparison.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchctl.bench.config import load_bench
from benchctl.config import ConfigError
from benchctl.config.pics import load_performance
from benchctl.paths import ROOT, SCENARIOS
from benchctl.scenario.model import load_scenario

from support.bench_text import sim_bench_text

NOT_FINITE = (".nan", ".inf", "-.inf", ".NaN", ".Inf")


def edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def line_of(text: str, marker: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if marker in line)


def expect_error(load: object, path: Path, text: str, marker: str, field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(path)  # type: ignore[operator]
    assert (caught.value.line, caught.value.field) == (line_of(text, marker), field)
    assert "finite number" in caught.value.message


@pytest.mark.parametrize("value", NOT_FINITE)
@pytest.mark.parametrize(("old", "key", "field"), [
    ("message_timeout_s: 10", "message_timeout_s", "values.message_timeout_s"),
    ("power_off_s: 1.0", "power_off_s", "values.power_off_s"),
])
def test_bench_value(tmp_path: Path, value: str, old: str, key: str, field: str) -> None:
    text = edit(sim_bench_text(), old, f"{key}: {value}")
    path = tmp_path / "bench.yaml"
    path.write_text(text)
    expect_error(load_bench, path, text, f"{key}: {value}", field)


@pytest.mark.parametrize("value", NOT_FINITE)
@pytest.mark.parametrize(("old", "new", "marker", "field"), [
    ("    match: {status: Preparing}\n", "    match: {status: Preparing}\n    timeout_s: VALUE\n", "timeout_s:",
     "steps[1].timeout_s"),
    ("  - action: plug_in\n", "  - wait: VALUE\n  - action: plug_in\n", "wait:", "steps[0].wait"),
    ("  - action: plug_in\n", "  - pwm: VALUE\n  - action: plug_in\n", "pwm:", "steps[0].pwm"),
    ("  - action: plug_in\n", "  - absent: MeterValues\n    for_s: VALUE\n  - action: plug_in\n", "for_s:",
     "steps[0].for_s"),
])
def test_scenario_duration(tmp_path: Path, value: str, old: str, new: str, marker: str, field: str) -> None:
    shutil.copytree(SCENARIOS / "states", tmp_path / "states")
    text = edit((SCENARIOS / "TC_003_CS.yaml").read_text(), old, new.replace("VALUE", value))
    path = tmp_path / "TC_003_CS.yaml"
    path.write_text(text)
    expect_error(load_scenario, path, text, marker, field)


@pytest.mark.parametrize("value", NOT_FINITE)
def test_pics_performance_time(tmp_path: Path, value: str) -> None:
    text = edit((ROOT / "pics" / "sim.yaml").read_text(), "response_timeout_s: 1\n",
                f"response_timeout_s: {value}\n")
    path = tmp_path / "pics.yaml"
    path.write_text(text)
    expect_error(load_performance, path, text, f"response_timeout_s: {value}", "performance.response_timeout_s")


def test_finite_numbers_still_load(tmp_path: Path) -> None:
    text = edit(sim_bench_text(), "message_timeout_s: 10", "message_timeout_s: 1.0e+1")
    path = tmp_path / "bench.yaml"
    path.write_text(text)
    assert load_bench(path).values["message_timeout_s"] == 10.0
