"""The simulated charger driven only through software gear: bench_configs/sim-http.yaml (every role an HTTP request
to hil_sim's REST surface) and bench_configs/sim-mqtt.yaml (every role an MQTT publish to hil_sim's hardware layer
on a real mosquitto). Both benches at once, in one event loop: `benchctl check` finds every role healthy and the
whole Core plan of the sim PICS passes on each; an action answered with an unexpected status fails its case with
the URL and status while the run goes on."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Iterator

import pytest

from benchctl.bench.config import BenchConfig, load_bench
from benchctl.csms.capture import Capture
from benchctl.plan.appendix_c import section_key
from benchctl.record.case import CaseResult
from benchctl.run.check import check_bench
from benchctl.run.rundir import RunDir
from benchctl.run.selection import choose_cases
from benchctl.run.session import open_bench
from benchctl.run.standalone import run_cases
from benchctl.scenario.model import Scenario

from support.mosquitto import Mosquitto, mosquitto_or_fail

ROOT = Path(__file__).parents[2]
# the Core profile of Appendix A is sections 2.1 to 2.16 of the test case document; the feature profiles follow
LAST_CORE_SECTION = 16
# two Core cases outside the sim PICS's plan, run as well for the gear they use: power loss with the backup supply
# holding the station up (mains), and the fault relay tripped (fault)
BEYOND_PLAN = ["TC_032_1_CS", "TC_041_CS"]
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


def _core_plan(config: BenchConfig) -> list[Scenario]:
    """The cases `benchctl run --bench <config>` plans from the bench's PICS, the Core ones, with BEYOND_PLAN, in
    document order (as a run orders them)."""
    planned = choose_cases(config, ROOT / "scenarios", [], None, None, None, [], 0).scenarios
    core = [s for s in planned if int(s.section.split(".")[1]) <= LAST_CORE_SECTION and s.id not in BEYOND_PLAN]
    extra = choose_cases(config, ROOT / "scenarios", BEYOND_PLAN, None, None, None, [], 0).scenarios
    return sorted(core + extra, key=lambda s: section_key(s.section))


async def _check_and_run(config: BenchConfig, scenarios: list[Scenario], base: Path) -> dict[str, CaseResult]:
    await _check(config)
    results = await run_cases(config, scenarios, RunDir.create(base, config.name))
    return {r.id: r for r in results}


def test_the_core_plan_passes_on_http_and_on_mqtt_gear_at_the_same_time(
        http_config: BenchConfig, mqtt_config: BenchConfig, tmp_path: Path) -> None:
    _only(http_config, "http")
    _only(mqtt_config, "mqtt")
    plans = {"http": _core_plan(http_config), "mqtt": _core_plan(mqtt_config)}
    ids = [s.id for s in plans["http"]]
    assert ids == [s.id for s in plans["mqtt"]]  # one PICS, one plan
    assert len(ids) == 42 + len(BEYOND_PLAN), ids  # the sim PICS's Core plan: a case lost from it shows here
    assert {"TC_001_CS", "TC_003_CS", "TC_005_1_CS", "TC_037_1_CS"} <= set(ids)

    async def both() -> list[dict[str, CaseResult]]:
        return list(await asyncio.gather(_check_and_run(http_config, plans["http"], tmp_path / "http"),
                                         _check_and_run(mqtt_config, plans["mqtt"], tmp_path / "mqtt")))

    started = time.monotonic()
    outcome = dict(zip(plans, asyncio.run(both())))
    print(f"Core plan ({len(ids)} cases) on HTTP and MQTT gear at once: {time.monotonic() - started:.0f} s")
    for transport, results in outcome.items():
        assert list(results) == ids, transport
        failed = {c: f"{r.verdict} at step {r.step}: {r.reason}" for c, r in results.items() if r.verdict != "PASS"}
        assert failed == {}, transport


def _run(config: BenchConfig, cases: list[str], scenarios: dict[str, Scenario],
         tmp_path: Path) -> dict[str, CaseResult]:
    run_dir = RunDir.create(tmp_path / "runs", config.name)
    results = asyncio.run(run_cases(config, [scenarios[c] for c in cases], run_dir))
    return {r.id: r for r in results}


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
