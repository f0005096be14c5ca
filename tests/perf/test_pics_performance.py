"""The PICS `performance:` section (Appendix A.4): the sim's values load, bad values name file, line and field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchctl.config import ConfigError
from benchctl.config.pics import load_performance, load_pics
from benchctl.paths import ROOT

from support.pics_text import PICS_BASE as BASE  # the tests below break one line of it at a time

SECTION = """\
performance:
  triggered_function_timeout_s: 5
  response_timeout_s: 2.5
  remote_start_response_time_s: 1
  communication_technology: mobile
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "station.yaml"
    path.write_text(text)
    return path


def error_for(tmp_path: Path, section: str) -> ConfigError:
    path = write(tmp_path, BASE + section)
    with pytest.raises(ConfigError) as caught:
        load_performance(path)
    # the plan's loader refuses the same file: a PICS is valid as a whole or not at all
    with pytest.raises(ConfigError):
        load_pics(path)
    return caught.value


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def test_the_sim_pics_declares_what_the_simulator_meets() -> None:
    performance = load_performance(ROOT / "pics" / "sim.yaml")
    assert performance is not None
    assert performance.communication_technology == "ethernet"
    assert performance.declared_s("response_timeout_s") == 1.0
    assert performance.declared_s("authorize_response_time_s") is None  # A.4: CSMS only
    assert load_pics(ROOT / "pics" / "sim.yaml").connectors == 1


def test_a_pics_without_the_section_has_no_performance_values(tmp_path: Path) -> None:
    assert load_performance(write(tmp_path, BASE)) is None


def test_the_section_loads_with_whole_numbers_as_seconds(tmp_path: Path) -> None:
    performance = load_performance(write(tmp_path, BASE + SECTION))
    assert performance is not None
    assert performance.values() == {"triggered_function_timeout_s": 5.0, "response_timeout_s": 2.5,
                                    "remote_start_response_time_s": 1.0, "communication_technology": "mobile",
                                    "authorize_response_time_s": None}


@pytest.mark.parametrize("line, broken, field, words", [
    ("response_timeout_s: 2.5", "response_timeout_s: -1", "performance.response_timeout_s", "more than 0"),
    ("response_timeout_s: 2.5", "response_timeout_s: fast", "performance.response_timeout_s", "expected a number"),
    ("communication_technology: mobile", "communication_technology: lte", "performance.communication_technology",
     "ethernet, wifi, mobile"),
    ("remote_start_response_time_s: 1", "remote_start_response_tme_s: 1",
     "performance.remote_start_response_tme_s", "unknown key"),
])
def test_bad_values_name_file_line_and_field(tmp_path: Path, line: str, broken: str, field: str,
                                             words: str) -> None:
    section = SECTION.replace(line, broken)
    error = error_for(tmp_path, section)
    assert error.file == str(tmp_path / "station.yaml")
    assert (error.line, error.field) == (line_of(BASE + section, broken), field)
    assert words in error.message


def test_a_missing_declared_value_is_named(tmp_path: Path) -> None:
    section = "".join(line for line in SECTION.splitlines(keepends=True) if "triggered_function" not in line)
    error = error_for(tmp_path, section)
    assert error.field == "performance" and "triggered_function_timeout_s" in error.message


def test_benchctl_perf_stops_on_a_bad_pics_with_the_field(tmp_path: Path) -> None:
    pics = write(tmp_path, BASE + SECTION.replace("response_timeout_s: 2.5", "response_timeout_s: 0"))
    capture = tmp_path / "capture.jsonl"
    capture.write_text("")
    done = subprocess.run([sys.executable, "-m", "benchctl.cli", "perf", str(capture), "--pics", str(pics)],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 2
    assert f"{pics}:{line_of(BASE + SECTION, 'response_timeout_s')}: performance.response_timeout_s" in done.stdout
