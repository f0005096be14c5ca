"""Language features of the smart charging cases: `rate_unit` on a send, `{sum: ...}` values, the response
matcher `{composite_schedule: ...}` (benchctl's own composite of the profiles the case sent) and the `pwm` step
(the current the Control Pilot offers, measured by the EV emulator)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import websockets

from benchctl.bench.bench import Bench
from benchctl.bench.config import BenchConfig
from benchctl.config import ConfigError
from benchctl.csms.capture import Capture
from benchctl.csms.server import CentralSystem
from benchctl.record.case import CaseResult
from benchctl.scenario.engine import CaseRunner
from benchctl.scenario.model import load_scenario
from benchctl.scenario.values import number, substitute
from benchctl.smart.profiles import in_rate_unit
from drivers.evse_tester.iec61851 import duty_to_current
from drivers.evse_tester.protocol import CPMeasurement, EVEmulatorProtocol
from drivers.steplog import StepLog

PROFILE_STEPS = """\
  - send: SetChargingProfile
    step: 1
    payload:
      connectorId: 1
      csChargingProfiles:
        chargingProfileId: 1
        stackLevel: 0
        chargingProfilePurpose: TxDefaultProfile
        chargingProfileKind: Absolute
        chargingSchedule:
          startSchedule: {now_plus_s: "-${offset}"}
          chargingSchedulePeriod: [{startPeriod: 0, limit: 6}, {startPeriod: 70, limit: 10}]
    rate_unit: "${unit}"
    response: {status: Accepted}
    response_step: 2
"""
COMPOSITE_STEPS = """\
  - send: GetCompositeSchedule
    step: 3
    payload: {connectorId: 1, duration: 120, chargingRateUnit: "${unit}"}
    response_step: 4
    response:
      status: Accepted
      chargingSchedule: {composite_schedule: {}}
"""


def _scenario(tmp_path: Path, steps: str) -> Path:
    path = tmp_path / "TC_902_CS.yaml"
    path.write_text("id: TC_902_CS\ntitle: smart\nsection: '9.9'\nsteps:\n" + steps)
    return path


def _stamp(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class FakeEV(EVEmulatorProtocol):
    """An EV emulator that measures the duties it is given, one per measurement (the last one repeats)."""

    def __init__(self, duties: list[float]) -> None:
        super().__init__("ev", "fake")
        self.duties = list(duties)
        self.measured = 0

    async def set_plug(self, connected: bool) -> None: ...
    async def set_cp_state(self, state: str) -> None: ...
    async def set_diode_fault(self, fault: bool) -> None: ...
    async def set_pp_rating(self, amps: int) -> None: ...
    async def safe_state(self) -> None: ...

    async def self_test(self) -> dict[str, Any]:
        return {}

    async def measure(self) -> CPMeasurement:
        duty = self.duties[min(self.measured, len(self.duties) - 1)]
        self.measured += 1
        return CPMeasurement(6.0, -12.0, duty, 1000.0, "C", duty_to_current(duty))


async def _run(tmp_path: Path, config: BenchConfig, steps: str, composite: list[tuple[int, float]] | None = None,
               start_offset_s: float = 0.0, duties: list[float] | None = None,
               values: dict[str, Any] | None = None) -> tuple[CaseResult, list[dict[str, Any]]]:
    """Run the steps against a scripted charger that accepts every request and answers GetCompositeSchedule with
    `composite` (starting now + start_offset_s); returns the result and the requests the charger got."""
    config.values.update({"offset": 10, "unit": "A", **(values or {})})
    scenario = load_scenario(_scenario(tmp_path, steps))
    csms = CentralSystem(Capture(None), config.values)
    await csms.start()
    received: list[dict[str, Any]] = []
    try:
        async with websockets.connect(f"{csms.url}/CP-9", subprotocols=["ocpp1.6"]) as ws:
            link = csms.link("CP-9")
            await link.wait_until(lambda: link.session is not None, 5)
            drivers = {"ev": FakeEV(duties or [100.0])}
            runner = asyncio.create_task(CaseRunner(scenario, Bench(config, drivers, StepLog()), link).run())

            async def charger() -> None:
                while True:
                    _, unique_id, action, payload = json.loads(await ws.recv())
                    received.append({"action": action, **payload})
                    answer: dict[str, Any] = {"status": "Accepted"}
                    if action == "GetCompositeSchedule":
                        answer.update(connectorId=payload["connectorId"], chargingSchedule={
                            "duration": payload["duration"], "chargingRateUnit": payload["chargingRateUnit"],
                            "startSchedule": _stamp(datetime.now(timezone.utc) + timedelta(seconds=start_offset_s)),
                            "chargingSchedulePeriod": [{"startPeriod": s, "limit": v} for s, v in composite or []]})
                    await ws.send(json.dumps([3, unique_id, answer]))

            answering = asyncio.create_task(charger())
            result = await asyncio.wait_for(runner, 15)
            answering.cancel()
    finally:
        await csms.stop()
    return result, received


# the profile started 10 s ago: 6 A until 60 s from now, then 10 A; no duration, so it runs on
@pytest.mark.parametrize(("composite", "start_offset_s", "verdict"), [
    ([(0, 6), (60, 10)], 0.0, ("PASS", None)),
    ([(0, 6), (59, 10)], 0.0, ("PASS", None)),  # the boundary in whole seconds, a little early
    ([(0, 6), (63, 10)], 0.0, ("FAIL", 4)),  # three seconds late: more than timing_tolerance_s
    ([(0, 6)], 0.0, ("FAIL", 4)),  # the period of 10 A missing
    ([(0, 6), (60, 10)], 30.0, ("FAIL", 4)),  # a schedule that does not start now
    ([(0, 32)], 0.0, ("FAIL", 4)),  # the profile not taken into account
])
async def test_composite_schedule_is_judged_against_the_profiles_sent(
        tmp_path: Path, sim_config: BenchConfig, composite: list[tuple[int, float]], start_offset_s: float,
        verdict: tuple[str, int | None]) -> None:
    result, _ = await _run(tmp_path, sim_config, PROFILE_STEPS + COMPOSITE_STEPS, composite, start_offset_s)
    assert (result.verdict, result.step) == verdict, result.reason
    (check,) = [c for c in result.checks if "composite" in c.description]
    # computed from the charger's own start: the profile's 70 s boundary, 10 s after it started
    assert check.observed["benchctl"] == [[0.0, 6.0], [pytest.approx(60 - start_offset_s, abs=0.5), 10.0]]


async def test_a_rejected_profile_is_not_installed(tmp_path: Path, sim_config: BenchConfig) -> None:
    steps = PROFILE_STEPS.replace("response: {status: Accepted}", "response: {status: Rejected}") + COMPOSITE_STEPS
    result, _ = await _run(tmp_path, sim_config, steps, [(0, 32)])
    assert result.step == 2  # the scripted charger accepted: the send fails, nothing installed
    result, _ = await _run(tmp_path, sim_config, COMPOSITE_STEPS, [(0, 32)])
    assert result.verdict == "PASS", result.reason  # no profile sent: the local limit (bench value local_limit_a)


async def test_rate_unit_sends_the_documents_amperes_as_watts(tmp_path: Path, sim_config: BenchConfig) -> None:
    result, received = await _run(tmp_path, sim_config, PROFILE_STEPS + COMPOSITE_STEPS,
                                  [(0, 6000), (60, 10000)], values={"unit": "W"})
    assert result.verdict == "PASS", result.reason
    schedule = received[0]["csChargingProfiles"]["chargingSchedule"]
    assert schedule["chargingRateUnit"] == "W" and [p["limit"] for p in schedule["chargingSchedulePeriod"]] == [
        6000, 10000]


@pytest.mark.parametrize(("step", "duties", "verdict"), [
    ("pwm: 10", [16.7], ("PASS", None)),  # 16.7 % is 10.02 A
    ("pwm: 10", [53.3], ("FAIL", 5)),  # the full 32 A
    ("pwm: 10", [53.3, 53.3, 16.7], ("PASS", None)),  # applied a moment later, within within_s
    ("pwm: 10\n    within_s: 0", [53.3, 16.7], ("FAIL", 5)),
    ("pwm: in_force", [10.0], ("PASS", None)),  # the profile's 6 A now (the case sent it)
    ("pwm: in_force", [16.7], ("FAIL", 5)),
    ("pwm: 3", [100.0], ("PASS", None)),  # below 6 A: no current may be offered
    ("pwm: 3", [10.0], ("FAIL", 5)),
])
async def test_pwm_step_measures_the_current_the_control_pilot_offers(
        tmp_path: Path, sim_config: BenchConfig, step: str, duties: list[float],
        verdict: tuple[str, int | None]) -> None:
    steps = PROFILE_STEPS + f"  - {step}\n    step: 5\n"
    result, _ = await _run(tmp_path, sim_config, steps, duties=duties, values={"pwm_settle_s": 1.0})
    assert (result.verdict, result.step) == verdict, result.reason
    (check,) = [c for c in result.checks if c.step == 5]
    assert check.observed["duty_pct"] in duties


def test_pwm_step_needs_the_ev_role_and_a_current_or_in_force(tmp_path: Path) -> None:
    assert load_scenario(_scenario(tmp_path, "  - pwm: 6\n")).roles == ["ev"]
    with pytest.raises(ConfigError, match="in_force"):
        load_scenario(_scenario(tmp_path, "  - pwm: later\n"))


def test_sums_and_rate_units() -> None:
    assert substitute({"transactionId": {"sum": "${transaction_id} + 1"}}, {"transaction_id": 41}) == {
        "transactionId": 42}
    assert number("401 - 5") == 396 and number(" -5 ") == -5 and number(2.5) == 2.5
    for text in ("", "4 4", "4 +", "x"):
        with pytest.raises(ValueError):
            number(text)
    later = datetime.fromisoformat(substitute({"now_plus_s": "401 - ${d}"}, {"d": 1}))
    assert abs((later - datetime.now(timezone.utc)).total_seconds() - 400) < 2
    profile = {"chargingSchedule": {"chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6.5}]}}
    assert in_rate_unit({"csChargingProfiles": profile}, "W") == {"csChargingProfiles": {"chargingSchedule": {
        "chargingRateUnit": "W", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6500}]}}}
    assert in_rate_unit(profile, "A")["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] == 6.5
    with pytest.raises(ValueError):
        in_rate_unit(profile, "kW")


@pytest.mark.parametrize(("duties", "verdict"), [([53.3], ("PASS", None)), ([100.0], ("FAIL", 5))])
async def test_pwm_in_force_without_any_limit_wants_some_current(tmp_path: Path, sim_config: BenchConfig,
                                                                 duties: list[float],
                                                                 verdict: tuple[str, int | None]) -> None:
    """No profile sent and a station without a local limit (local_limit_a null): the station's own maximum applies,
    so any current offered is right and none at all is not."""
    result, _ = await _run(tmp_path, sim_config, "  - pwm: in_force\n    step: 5\n", duties=duties,
                           values={"pwm_settle_s": 0.3, "local_limit_a": None})
    assert (result.verdict, result.step) == verdict, result.reason
