"""Names from files that become paths are restricted to a safe alphabet, so none leads out of its folder.

Before, `bench.name: ../../x` put the run directory two levels above `--runs`, and `state: ../../x` read a
YAML file from anywhere.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from benchctl.bench.config import load_bench
from benchctl.cli import main
from benchctl.config import ConfigError
from benchctl.paths import SCENARIOS
from benchctl.run.rundir import RunDir
from benchctl.scenario.model import load_scenario

from support.bench_text import sim_bench_text

UNSAFE = ["../../x", "a/b", "/tmp/x", ".hidden", "..", "with space", "x" * 65, "'-rf'", "caf\u00e9"]
SAFE = ["sim", "lab-2.bench_A", "9", "x" * 64]


def bench_named(tmp_path: Path, name: str) -> tuple[Path, str]:
    text = sim_bench_text()
    assert text.count("  name: sim\n") == 1
    text = text.replace("  name: sim\n", f"  name: {json.dumps(name)}\n")  # a JSON string is a YAML one
    path = tmp_path / "bench.yaml"
    path.write_text(text, encoding="utf-8")
    return path, text


@pytest.mark.parametrize("name", UNSAFE)
def test_an_unsafe_bench_name_is_refused_on_its_line(tmp_path: Path, name: str) -> None:
    path, text = bench_named(tmp_path, name)

    with pytest.raises(ConfigError) as caught:
        load_bench(path)

    line = next(n for n, row in enumerate(text.splitlines(), 1) if row.startswith("  name: "))
    assert (caught.value.line, caught.value.field) == (line, "bench.name")
    assert "letters, digits, '_', '.' and '-'" in caught.value.message


@pytest.mark.parametrize("name", SAFE)
def test_a_safe_bench_name_loads(tmp_path: Path, name: str) -> None:
    path, _ = bench_named(tmp_path, name)
    assert load_bench(path).name == name


def test_run_with_a_traversing_bench_name_writes_nothing_outside_runs(tmp_path: Path) -> None:
    path, _ = bench_named(tmp_path, "../../escaped")
    runs = tmp_path / "a" / "b" / "runs"

    status = main(["run", "--bench", str(path), "--runs", str(runs), "001"])

    assert status == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench.yaml"]


@pytest.mark.parametrize("name", ["../x", "a/b", ".."])
def test_a_run_directory_never_leaves_its_parent(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError):
        RunDir.create(tmp_path / "runs", name)
    assert not (tmp_path / "runs").exists() and not (tmp_path / "x").exists()


@pytest.mark.parametrize("name", ["../../../etc/hostname", "states/Charging", ".hidden"])
def test_a_state_name_is_a_file_of_the_states_folder(tmp_path: Path, name: str) -> None:
    shutil.copytree(SCENARIOS / "states", tmp_path / "states")
    (tmp_path / "elsewhere.yaml").write_text("state: elsewhere\nsection: x\nsteps: []\n")
    text = (SCENARIOS / "TC_003_CS.yaml").read_text().replace("  - action: plug_in\n",
                                                               f"  - state: \"{name}\"\n  - action: plug_in\n", 1)
    path = tmp_path / "TC_003_CS.yaml"
    path.write_text(text)

    with pytest.raises(ConfigError) as caught:
        load_scenario(path)

    assert caught.value.field == "steps[0].state" and "letters, digits" in caught.value.message
    assert caught.value.line == next(n for n, row in enumerate(text.splitlines(), 1) if "state:" in row)
