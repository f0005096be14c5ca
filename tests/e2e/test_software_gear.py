"""The simulated charger driven only through software gear: bench_configs/sim-http.yaml (every role an HTTP request
to hil_sim's REST surface) and bench_configs/sim-mqtt.yaml (every role an MQTT publish to hil_sim's hardware layer
on a real mosquitto). `benchctl check` finds every role healthy, representative Core cases pass, and an action
answered with an unexpected status fails its case with the URL and status while the run goes on."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Iterator

import pytest

from benchctl.bench.config import BenchConfig, load_bench
from benchctl.csms.capture import Capture
from benchctl.record.case import CaseResult
from benchctl.run.check import check_bench
from benchctl.run.rundir import RunDir
from benchctl.run.session import open_bench
from benchctl.run.standalone import run_cases
from benchctl.scenario.model import Scenario

from support.mosquitto import Mosquitto, mosquitto_or_fail

ROOT = Path(__file__).parents[2]
# Core cases that use every kind of gear: power cycle (mains), plug and card (ev, cable, card), EV-side unplug,
# power loss during a transaction, the network cut while charging, the fault relay, meter values (meter read)
CORE = ["TC_001_CS", "TC_003_CS", "TC_005_1_CS", "TC_032_1_CS", "TC_037_1_CS", "TC_041_CS"]
ROLES = {"ev", "card", "meter", "mains", "network", "cable", "fault", "lock_fault", "local_list_fault",
         "security_reset"}


def _copy(name: str, tmp_path: Path, *replace: tuple[str, str]) -> BenchConfig:
    text = (ROOT / "bench_configs" / name).read_text().replace("pics: ../pics/", f"pics: {ROOT}/pics/")
    for old, new in replace:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text)
    return load_bench(path)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    with mosquitto_or_fail(tmp_path / "broker") as running:
        yield running


@pytest.fixture
def http_config() -> BenchConfig:
    return load_bench(ROOT / "bench_configs" / "sim-http.yaml")


@pytest.fixture
def mqtt_config(tmp_path: Path, broker: Mosquitto) -> BenchConfig:
    return _copy("sim-mqtt.yaml", tmp_path, ("port: 1883", f"port: {broker.port}"))


def _only(config: BenchConfig, transport: str) -> None:
    assert set(config.roles) == ROLES
    assert all(role.driver.startswith(f"{transport}_") for role in config.roles.values())


async def _check(config: BenchConfig) -> None:
    async with open_bench(config, Capture(None), connect=False) as session:
        checks = await check_bench(session, timeout_s=5)
    assert {c.role for c in checks} == ROLES | {"charger"}
    assert all(c.ok for c in checks), [(c.role, c.detail) for c in checks if not c.ok]


async def test_benchctl_check_finds_every_http_role_healthy(http_config: BenchConfig) -> None:
    _only(http_config, "http")
    await _check(http_config)


async def test_benchctl_check_finds_every_mqtt_role_healthy(mqtt_config: BenchConfig) -> None:
    _only(mqtt_config, "mqtt")
    await _check(mqtt_config)


def _run(config: BenchConfig, cases: list[str], scenarios: dict[str, Scenario],
         tmp_path: Path) -> dict[str, CaseResult]:
    run_dir = RunDir.create(tmp_path / "runs", config.name)
    results = asyncio.run(run_cases(config, [scenarios[c] for c in cases], run_dir))
    return {r.id: r for r in results}


@pytest.mark.parametrize("transport", ["http", "mqtt"])
def test_core_cases_pass_driven_only_through_software_gear(transport: str, request: pytest.FixtureRequest,
                                                          scenarios: dict[str, Scenario], tmp_path: Path) -> None:
    config = request.getfixturevalue(f"{transport}_config")
    _only(config, transport)
    results = _run(config, CORE, scenarios, tmp_path)
    assert list(results) == CORE
    failed = {c: f"{r.verdict} at step {r.step}: {r.reason}" for c, r in results.items() if r.verdict != "PASS"}
    assert failed == {}


def test_an_unexpected_status_fails_the_case_with_url_and_status_and_the_run_goes_on(
        tmp_path: Path, scenarios: dict[str, Scenario]) -> None:
    # the fault relay's "on" request goes to a route the API does not have; its "off" (the safe state) works
    broken = '      "on": {method: PUT, url: /api/switches/ground_faults, body: {"on": "{level}"}, status: 204}'
    config = _copy("sim-http.yaml", tmp_path,
                   ('      "on": {method: PUT, url: /api/switches/ground_fault, body: {"on": "{level}"}, status: 204}',
                    broken))
    results = _run(config, ["TC_041_CS", "TC_003_CS"], scenarios, tmp_path)
    fault = results["TC_041_CS"]
    assert fault.verdict == "ERROR", fault.reason
    assert "PUT http://127.0.0.1:" in fault.reason
    assert "/api/switches/ground_faults: status 404, expected 204" in fault.reason
    assert results["TC_003_CS"].verdict == "PASS", results["TC_003_CS"].reason

