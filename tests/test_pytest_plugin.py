"""The pytest plugin: scenario files collected as items with --bench, judged like `benchctl run` judges them."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from benchctl.paths import DEFAULT_BENCH, SCENARIOS

from support.bench_text import sim_bench_text


def pytest_run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
                           "--bench-runs", str(tmp_path / "runs"), *args], cwd=tmp_path, capture_output=True,
                          text=True, timeout=240)


def test_scenarios_run_as_pytest_items_with_junit(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    out = pytest_run(tmp_path, "--bench", str(DEFAULT_BENCH), str(SCENARIOS), "-k", "003", f"--junitxml={junit}")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 passed" in out.stdout
    names = [case.get("name") for case in ET.parse(junit).getroot().iter("testcase")]
    assert names == ["TC_003_CS"]
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert (run_dir / "report.html").exists() and (run_dir / "results.jsonl").read_text().count("\n") == 1


def test_a_faulty_charger_fails_the_item_at_the_step(tmp_path: Path) -> None:
    out = pytest_run(tmp_path, "--bench", str(DEFAULT_BENCH), str(SCENARIOS / "TC_003_CS.yaml"),
                     "--sim-fault", "skip_preparing")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "TC_003_CS FAIL at step 1" in out.stdout
    assert "TC_003_CS.yaml:" in out.stdout  # the scenario line of the failing step


def test_a_misspelled_fault_is_a_usage_error_naming_the_fault_meant(tmp_path: Path) -> None:
    out = pytest_run(tmp_path, "--bench", str(DEFAULT_BENCH), str(SCENARIOS / "TC_003_CS.yaml"),
                     "--sim-fault", "skip_prepring")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "UsageError: unknown fault 'skip_prepring' (did you mean 'skip_preparing'?)" in out.stdout
    assert not (tmp_path / "runs").exists()  # refused before the session opened its run directory


def test_a_charger_contradicting_the_pics_stops_the_session_before_the_first_case(tmp_path: Path) -> None:
    anchor = "    backup_power_s: 3.0\n"
    bench = tmp_path / "bench.yaml"  # a build without the Reservation profile the PICS claims
    bench.write_text(sim_bench_text().replace(anchor, anchor + "    profiles: [Core, FirmwareManagement, "
                                              "LocalAuthListManagement, SmartCharging, RemoteTrigger]\n"))
    out = pytest_run(tmp_path, "--bench", str(bench), str(SCENARIOS / "TC_003_CS.yaml"))
    assert out.returncode == 5, out.stdout + out.stderr
    assert "SupportedFeatureProfiles" in out.stdout + out.stderr
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert not (run_dir / "results.jsonl").exists() or (run_dir / "results.jsonl").read_text() == ""


def test_a_bad_scenario_is_a_collection_error_naming_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "TC_999_CS.yaml"
    bad.write_text("id: TC_999_CS\ntitle: x\nsection: '1'\nsteps:\n  - expect: Heartbeat\n    mtach: {}\n")
    out = pytest_run(tmp_path, "--bench", str(DEFAULT_BENCH), str(bad))
    assert out.returncode != 0
    assert f"{bad}:6" in out.stdout and "mtach" in out.stdout


def test_without_bench_scenario_files_are_not_collected(tmp_path: Path) -> None:
    out = pytest_run(tmp_path, str(SCENARIOS / "TC_003_CS.yaml"))
    assert "no tests ran" in out.stdout or out.returncode == 5, out.stdout
