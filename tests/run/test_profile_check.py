"""The DUT profile check: `benchctl check` and the start of every run compare the charger's BootNotification and
GetConfiguration with the bench config and the PICS. A contradiction that would make cases fail (connectors,
profiles, rate unit, a required Core key) stops the run before its first case unless --accept-profile; a read-only
key is reported, not a stop."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchctl.bench.config import BenchConfig
from benchctl.config.pics import load_pics
from benchctl.paths import ROOT
from benchctl.report import write_reports
from benchctl.run.configuration import ConfigKey
from benchctl.run.profile_check import NOTE, OK, REQUIRED_CORE_KEYS, STOP, ProfileContradiction, compare_profile
from benchctl.run.rundir import RunDir
from benchctl.run.standalone import run_cases
from benchctl.scenario.model import Scenario

from support.bench_text import sim_bench_text
from support.python_env import python_cache_env

SIM_PICS = ROOT / "pics" / "sim.yaml"
WITHOUT_RESERVATION = "    profiles: [Core, FirmwareManagement, LocalAuthListManagement, SmartCharging, RemoteTrigger]\n"


def _bench(tmp_path: Path, station_lines: str) -> Path:
    """The sim bench with extra simulator.station settings."""
    text = sim_bench_text()
    anchor = "    backup_power_s: 3.0\n"
    assert anchor in text
    path = tmp_path / "bench.yaml"
    path.write_text(text.replace(anchor, anchor + station_lines), encoding="utf-8")
    return path


def benchctl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "benchctl.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=180, env={**python_cache_env(), "COLUMNS": "250", "PATH": "/usr/bin:/bin",
                                            "BENCHCTL_LOCK_DIR": os.environ["BENCHCTL_LOCK_DIR"]})


def test_check_prints_the_profile_of_the_sim_bench(tmp_path: Path) -> None:
    done = benchctl("check", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "DUT profile" in out
    for key in ("NumberOfConnectors", "SupportedFeatureProfiles", "ChargingScheduleAllowedChargingRateUnit",
                "required Core keys"):
        assert key in out, out
    assert "STOP" not in out


def test_check_names_a_simulated_charger_that_contradicts_the_pics(tmp_path: Path) -> None:
    done = benchctl("check", "--bench", str(_bench(tmp_path, WITHOUT_RESERVATION)), cwd=tmp_path)
    assert done.returncode == 5, done.stdout + done.stderr
    assert "STOP" in done.stdout and "the PICS claims Reservation" in done.stdout, done.stdout
    assert "contradicts the bench or the PICS: SupportedFeatureProfiles" in done.stdout


async def test_a_station_with_more_connectors_than_the_bench_drives_stops_the_run(
        fast_sim_config: BenchConfig, scenarios: dict[str, Scenario], tmp_path: Path) -> None:
    """A bench config validated against its own simulator cannot say so; a real charger can (here the simulated
    station is changed after loading)."""
    assert fast_sim_config.simulator is not None
    fast_sim_config.simulator.station.connectors = 2
    with pytest.raises(ProfileContradiction) as stopped:
        await run_cases(fast_sim_config, [scenarios["TC_003_CS"]], RunDir.create(tmp_path, "sim"))
    (row,) = stopped.value.profile.contradictions
    assert row.key == "NumberOfConnectors" and row.charger == "2" and row.cases == ["TC_003_CS"]
    assert "drives 1 connector(s) of a station with 2" in row.note


def test_a_contradicting_run_stops_before_its_first_case_unless_accepted(tmp_path: Path) -> None:
    bench = _bench(tmp_path, WITHOUT_RESERVATION)
    stopped = benchctl("run", "003", "--bench", str(bench), "--runs", str(tmp_path / "runs"), cwd=tmp_path)
    assert stopped.returncode == 5, stopped.stdout + stopped.stderr
    assert "stopped before the first case: SupportedFeatureProfiles" in stopped.stdout
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert not (run_dir / "results.jsonl").exists() or (run_dir / "results.jsonl").read_text() == ""  # no case ran
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["dut_profile"]["contradictions"] == ["SupportedFeatureProfiles"]
    assert meta["dut_profile"]["overridden"] is False
    assert "DUT profile" in (run_dir / "report.html").read_text()

    accepted = benchctl("run", "003", "--bench", str(bench), "--accept-profile", "--runs", str(tmp_path / "more"),
                        cwd=tmp_path)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    (run_dir,) = (tmp_path / "more").iterdir()
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["dut_profile"]["overridden"] is True
    assert "overridden" in (run_dir / "report.html").read_text()


async def test_a_missing_required_core_key_stops_the_run(fast_sim_config: BenchConfig,
                                                         scenarios: dict[str, Scenario], tmp_path: Path) -> None:
    assert fast_sim_config.simulator is not None
    fast_sim_config.simulator.faults = ["no_connector_phase_rotation"]
    run_dir = RunDir.create(tmp_path, "sim")
    with pytest.raises(ProfileContradiction) as stopped:
        await run_cases(fast_sim_config, [scenarios["TC_019_CS"]], run_dir)
    (row,) = stopped.value.profile.contradictions
    assert row.key == "ConnectorPhaseRotation" and row.cases == ["TC_019_CS"]
    assert not (run_dir.path / "results.jsonl").exists()  # no case ran
    write_reports(run_dir.path)
    assert "ConnectorPhaseRotation" in (run_dir.path / "report.html").read_text()


# compare_profile on its own: what the charger reports, against the bench and the PICS

def _keys(**overrides: tuple[bool, str | None] | None) -> dict[str, ConfigKey]:
    """The keys of a conforming one-connector station with Core and Smart Charging (A and W)."""
    keys = {k: ConfigKey(k, access == "R", "0") for k, access in REQUIRED_CORE_KEYS.items()}
    keys["NumberOfConnectors"] = ConfigKey("NumberOfConnectors", True, "1")
    keys["SupportedFeatureProfiles"] = ConfigKey("SupportedFeatureProfiles", True,
                                                 "Core,LocalAuthListManagement,Reservation,SmartCharging,"
                                                 "FirmwareManagement,RemoteTrigger")
    keys["ChargingScheduleAllowedChargingRateUnit"] = ConfigKey("ChargingScheduleAllowedChargingRateUnit", True,
                                                                "Current,Power")
    for name, value in overrides.items():
        if value is None:
            keys.pop(name, None)
        else:
            keys[name] = ConfigKey(name, *value)
    return keys


def _rows(config: BenchConfig, keys: dict[str, ConfigKey], planned: list[Scenario]) -> dict[str, list[object]]:
    profile = compare_profile({"chargePointVendor": "benchctl", "chargePointModel": "hil_sim"}, keys, config,
                              load_pics(SIM_PICS).values(), planned)
    out: dict[str, list[object]] = {}
    for row in profile.rows:
        out.setdefault(row.key, []).append(row)
    return out


def test_a_rate_unit_the_charger_does_not_allow_is_a_stop(sim_config: BenchConfig,
                                                           scenarios: dict[str, Scenario]) -> None:
    planned = [scenarios["TC_056_CS"], scenarios["TC_003_CS"]]
    (row,) = _rows(sim_config, _keys(ChargingScheduleAllowedChargingRateUnit=(True, "Current")), planned)[
        "ChargingScheduleAllowedChargingRateUnit"]
    assert row.outcome == STOP and "W" in row.note  # the PICS claims W
    assert row.cases == ["TC_056_CS"]
    config = dataclasses.replace(sim_config, values={**sim_config.values, "charging_rate_unit": "W"})
    (row,) = _rows(config, _keys(), planned)["ChargingScheduleAllowedChargingRateUnit"]
    assert row.outcome == OK


def test_read_only_keys_the_cases_set_are_reported_not_stopped(sim_config: BenchConfig,
                                                               scenarios: dict[str, Scenario]) -> None:
    planned = [s for s in scenarios.values() if "AuthorizationCacheEnabled" in s.configuration]
    wants = {s.id: str(s.configuration["AuthorizationCacheEnabled"]).lower() for s in planned}
    assert {"true", "false"} <= set(wants.values())
    rows = _rows(sim_config, _keys(AuthorizationCacheEnabled=(True, "true")), planned)["AuthorizationCacheEnabled"]
    by_outcome = {r.outcome: r for r in rows}
    assert set(by_outcome) == {OK, NOTE}
    assert by_outcome[OK].cases == sorted(c for c, v in wants.items() if v == "true")
    assert by_outcome[NOTE].cases == sorted(c for c, v in wants.items() if v == "false")
    assert "NOT_APPLICABLE" in by_outcome[NOTE].note
    # writable: nothing to say; not reported: the cases set it "if implemented"
    assert "AuthorizationCacheEnabled" not in _rows(sim_config, _keys(AuthorizationCacheEnabled=(False, "true")),
                                                    planned)
    (missing,) = _rows(sim_config, _keys(), planned)["AuthorizationCacheEnabled"]
    assert missing.outcome == NOTE and missing.charger == "not reported"


def test_a_missing_core_key_names_the_cases_that_need_it(sim_config: BenchConfig,
                                                         scenarios: dict[str, Scenario]) -> None:
    planned = [scenarios["TC_019_CS"], scenarios["TC_003_CS"]]
    rows = _rows(sim_config, _keys(HeartbeatInterval=None), planned)
    (row,) = rows["HeartbeatInterval"]
    assert row.outcome == STOP and row.cases == ["TC_019_CS"]
    assert "required Core keys" not in rows
