"""The `benchctl` command as a user meets it: help, listing, a run's exit status and summary."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchctl.paths import ROOT

from support.python_env import python_cache_env


def benchctl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "benchctl.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env={**python_cache_env(), "COLUMNS": "200", "PATH": "/usr/bin:/bin",
                                                      "BENCHCTL_LOCK_DIR": os.environ["BENCHCTL_LOCK_DIR"]})


def test_help_names_the_commands(tmp_path: Path) -> None:
    out = benchctl("--help", cwd=tmp_path)
    assert out.returncode == 0
    for command in ("run", "validate", "faults"):
        assert command in out.stdout
    run_help = benchctl("run", "--help", cwd=tmp_path)
    assert run_help.returncode == 0 and "--bench" in run_help.stdout and "examples:" in run_help.stdout


def test_no_command_prints_help_and_fails(tmp_path: Path) -> None:
    out = benchctl(cwd=tmp_path)
    assert out.returncode == 2 and "usage:" in out.stdout


def test_list_shows_the_cases_without_running(tmp_path: Path) -> None:
    out = benchctl("run", "--list", cwd=tmp_path)
    assert out.returncode == 0
    for case in ("TC_001_CS", "TC_003_CS", "TC_010_CS"):
        assert case in out.stdout
    assert not (tmp_path / "runs").exists()
    only = benchctl("run", "--list", "003", cwd=tmp_path)
    assert "TC_003_CS" in only.stdout and "TC_001_CS" not in only.stdout


@pytest.mark.parametrize(("args", "message"), [
    (("run", "999"), "unknown case '999'"),
    (("run", "003", "TC_03_CS"), "unknown case 'TC_03_CS' (did you mean 'TC_003_CS'?)"),
    (("run", "--sim-fault", "skip_prepring", "003"), "unknown fault 'skip_prepring' (did you mean 'skip_preparing'?)"),
    (("sim", "--fault", "skip_prepring"), "unknown fault 'skip_prepring' (did you mean 'skip_preparing'?)"),
    (("run", "--sim-variant", "offline-replai", "003"), "did you mean 'offline-replay'?"),
    (("run", "--sim-fault", "gremlins", "003"), "unknown fault"),
    (("run", "--sim-variant", "gremlins", "003"), "unknown simulator variant 'gremlins'"),
    (("sim", "--sim-variant", "gremlins"), "unknown simulator variant 'gremlins'"),
    (("run", "--bench", "missing.yaml"), "missing.yaml"),
])
def test_usage_errors_exit_2(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    out = benchctl(*args, cwd=tmp_path)
    assert out.returncode == 2 and message in out.stdout


def test_a_passing_run_exits_0_and_a_failing_one_1(tmp_path: Path) -> None:
    good = benchctl("run", "003", "--runs", str(tmp_path / "runs"), cwd=tmp_path)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "1 passed, 0 not passed" in good.stdout
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert {"capture.jsonl", "results.jsonl", "actions.jsonl", "run.json"} <= {p.name for p in run_dir.iterdir()}

    bad = benchctl("run", "003", "--sim-fault", "skip_preparing", "--runs", str(tmp_path / "runs"), cwd=tmp_path)
    assert bad.returncode == 1
    assert "FAIL" in bad.stdout and "step 1" in bad.stdout


def test_default_bench_is_found_from_any_directory(tmp_path: Path) -> None:
    assert (ROOT / "bench_configs" / "sim.yaml").exists()
    out = benchctl("run", "--list", cwd=tmp_path)
    assert "bench 'sim'" in out.stdout


def test_faults_lists_the_variants_apart_from_the_faults(tmp_path: Path) -> None:
    out = benchctl("faults", cwd=tmp_path)
    assert out.returncode == 0
    faults, _, variants = out.stdout.partition("Behaviour variants")
    assert "skip_preparing" in faults and "power-only" not in faults
    assert "power-only" in variants and "shared-evse" in variants and "skip_preparing" not in variants


def test_a_variant_brings_its_plan_and_its_bench_values(tmp_path: Path) -> None:
    """The variant's PICS answers change the plan (a build without reservations gets the Rejected cases), and a
    run on it applies its station settings and bench values: the power-only station passes in watts."""
    plan = benchctl("run", "--list", "--sim-variant", "no-reservation", cwd=tmp_path)
    assert plan.returncode == 0 and "TC_048_4_CS" in plan.stdout and "TC_046_1_CS" not in plan.stdout
    default = benchctl("run", "--list", cwd=tmp_path)
    assert "TC_048_4_CS" not in default.stdout and "TC_046_1_CS" in default.stdout
    run = benchctl("run", "056", "--sim-variant", "power-only", "--runs", str(tmp_path / "runs"), cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    (run_dir,) = (tmp_path / "runs").iterdir()
    capture = (run_dir / "capture.jsonl").read_text()
    assert '"chargingRateUnit\\":\\"W\\"' in capture and '"value\\":\\"Power\\"' in capture


def test_faults_lists_warning_faults_apart(tmp_path: Path) -> None:
    out = benchctl("faults", cwd=tmp_path)
    assert out.returncode == 0
    failing, _, warning = out.stdout.partition("Defects beyond the document")
    assert "skip_preparing" in failing and "TC_003_CS step 1" in failing
    assert "data_transfer_accepted" in warning and "TC_062_CS document" in warning
    assert "data_transfer_accepted" not in failing and "skip_preparing" not in warning


def test_a_warning_is_printed_in_the_summary_and_keeps_exit_status_0(tmp_path: Path) -> None:
    out = benchctl("run", "062", "--sim-fault", "data_transfer_accepted", "--runs", str(tmp_path / "runs"),
                   cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 passed, 0 not passed" in out.stdout
    assert "1 warning(s) in 1 case(s)" in out.stdout and "WARN TC_062_CS: step 2:" in out.stdout
