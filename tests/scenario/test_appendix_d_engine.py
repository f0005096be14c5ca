"""Appendix D as the engine applies it to a case: the verdict's retest flag comes from the findings, the PICS
allowances reach the judge, and the wide transition reading is the bench's explicit, reported choice. Each runs a
scenario against a scripted charger on a real WebSocket."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from benchctl.bench.config import BenchConfig
from benchctl.config.pics import load_pics
from benchctl.record.case import CaseResult
from benchctl.run.allowances import run_pics, station_allowances
from benchctl.scenario.status_rules import Allowances

from support.pics_text import PICS_BASE
from support.scripted import ScriptedCharger, run_scripted


def status(connector: int, value: str, error: str = "NoError") -> dict[str, Any]:
    return {"connectorId": connector, "status": value, "errorCode": error}


async def _run(tmp_path: Path, config: BenchConfig, text: str, statuses: list[dict[str, Any]],
               allowances: Allowances | None = None) -> CaseResult:
    """Run the scenario while the charger sends `statuses` one after another, each answered before the next."""
    charger = ScriptedCharger({})

    async def send() -> None:
        await asyncio.sleep(0.1)
        for n, payload in enumerate(statuses):
            await charger.send([2, f"s{n}", "StatusNotification", payload])
            for _ in range(500):
                if f"s{n}" in charger.results:
                    break
                await asyncio.sleep(0.01)
            assert f"s{n}" in charger.results, f"status s{n} not answered"

    return await run_scripted(tmp_path, config, text, charger, send, allowances=allowances)


PREPARING = """\
steps:
  - expect: StatusNotification
    step: 1
    match: {status: Preparing}
  - wait: 0.5
    note: the rest of what the charger sends
"""


async def test_a_duplicate_fails_without_retest(tmp_path: Path, sim_config: BenchConfig) -> None:
    result = await _run(tmp_path, sim_config, PREPARING, [status(1, "Preparing"), status(1, "Preparing")])
    assert result.verdict == "FAIL" and "repeats frame" in result.reason
    assert result.retest is False  # the charger broke a rule: no retest, whatever the tool validations said
    # the broken rule is the case's failed check, citing the repeated frame
    (failed,) = result.failed_checks
    assert failed.description.startswith("Appendix D ") and "repeats frame" in failed.description
    assert failed.frames and failed.step is None


async def test_connector0_without_error_is_retested(tmp_path: Path, sim_config: BenchConfig) -> None:
    result = await _run(tmp_path, sim_config, PREPARING, [status(1, "Preparing"), status(0, "Unavailable")])
    assert result.verdict == "FAIL" and result.retest is True, result.reason


RESERVED = """\
group: Reservation
steps:
  - expect: StatusNotification
    step: 3
    match: {connectorId: 1, status: Reserved}
  - wait: 0.5
    note: the other connector of the EVSE reports too
"""


async def test_the_pics_evses_switch_on_the_reservation_allowance(tmp_path: Path, sim_config: BenchConfig) -> None:
    statuses = [status(1, "Reserved"), status(2, "Reserved")]
    shared = await _run(tmp_path, sim_config, RESERVED, statuses, Allowances(evses=((1, 2),)))
    assert shared.verdict == "PASS", shared.reason
    assert shared.status_rules and [f["rule"] for f in shared.status_rules["findings"]] == [
        "D.reservation-other-connector"]
    apart = await _run(tmp_path, sim_config, RESERVED, statuses, Allowances())
    assert apart.verdict == "FAIL" and "connector 2 has no expected StatusNotification" in apart.reason


MODE12 = """\
steps:
  - expect: StatusNotification
    step: 1
    match: {status: Preparing}
  - any_order:
      - expect: StatusNotification
        step: 7
        match: {status: Charging}
"""
# the engine takes the Preparing of step 1 first; the flow's Available and second Preparing are in between
FLOW = [status(1, "Preparing"), status(1, "Available"), status(1, "Preparing"), status(1, "Charging")]


async def test_the_pics_mode12_subtype_switches_on_its_flow(tmp_path: Path, sim_config: BenchConfig) -> None:
    standard = await _run(tmp_path, sim_config, MODE12, FLOW, Allowances())
    assert standard.verdict == "FAIL" and "no Appendix D allowance applies" in standard.reason
    mode12 = await _run(tmp_path, sim_config, MODE12, FLOW, Allowances(mode12_only=True))
    assert mode12.verdict == "PASS", mode12.reason


async def test_wide_transitions_only_on_the_benchs_say_so_and_reported(tmp_path: Path,
                                                                       sim_config: BenchConfig) -> None:
    narrow = await _run(tmp_path, sim_config, MODE12, FLOW)
    assert narrow.verdict == "FAIL" and not narrow.retest
    wide_config = dataclasses.replace(sim_config, values={**sim_config.values, "appendix_d_wide_transitions": True})
    wide = await _run(tmp_path, wide_config, MODE12, FLOW)
    assert wide.verdict == "PASS", wide.reason
    rules = [f for f in wide.status_rules["findings"]] if wide.status_rules else []
    assert [f["rule"] for f in rules] == ["D.legal-transition", "D.legal-transition"]
    assert all("appendix_d_wide_transitions" in f["message"] for f in rules)


def test_the_run_takes_the_allowances_from_its_pics(tmp_path: Path, sim_config: BenchConfig) -> None:
    pics = tmp_path / "station.yaml"
    pics.write_text(PICS_BASE.replace("connectors: 1", "connectors: 3").replace(
        "product_subtype: standard", "product_subtype: mode_1_2_only") + "evses: [[1, 2]]\n")

    def allowances(config: BenchConfig, meta: dict[str, Any] | None = None) -> Allowances:
        return station_allowances(run_pics(config, meta or {}))

    assert allowances(dataclasses.replace(sim_config, pics=str(pics))) == \
        Allowances(mode12_only=True, evses=((1, 2),))
    # a run planned with --pics judges by that PICS (the run's meta), not the bench's
    assert allowances(sim_config, {"pics": load_pics(pics).values()}).evses == ((1, 2),)
    assert allowances(dataclasses.replace(sim_config, pics=None)) == Allowances()


async def test_a_status_answering_the_cases_last_message_is_not_the_cases(tmp_path: Path,
                                                                          fast_sim_config: BenchConfig) -> None:
    """TC_061 ends with the Authorize.conf of step 8; the Preparing the charger sends in answer to it belongs to
    the return to idle, however fast it comes (it made TC_061 flaky under load)."""
    charger = ScriptedCharger({})

    async def send() -> None:
        await charger.send([2, "a1", "Authorize", {"idTag": "04A1B2C3"}])
        await charger.send([2, "p1", "StatusNotification", {"connectorId": 1, "errorCode": "NoError",
                                                            "status": "Preparing"}])

    steps = ("steps:\n  - expect: Authorize\n    step: 7\n    answer: {idTagInfo: {status: Accepted}}\n"
             "    answer_step: 8\n")
    for _ in range(5):  # the Preparing lands before or after the case ends: the verdict must not depend on it
        result = await run_scripted(tmp_path, fast_sim_config, steps, charger, send)
        assert (result.verdict, result.reason) == ("PASS", ""), result.reason


FAULTED_STAGE = """\
steps:
  - expect: StatusNotification
    step: 1
    each_connector: evse
    timeout_s: 1
    match: {status: Faulted}
"""


@pytest.mark.parametrize(("evses", "statuses", "verdict"), [
    ((), [status(1, "Faulted")], "PASS"),  # its own EVSE: only the configured connector
    (((1, 2),), [status(2, "Faulted"), status(1, "Faulted")], "PASS"),  # one power stage: both, in any order
    (((1, 2),), [status(1, "Faulted")], "PASS"),  # the fault is the one connector's: the station's choice
    ((), [status(2, "Faulted"), status(1, "Faulted")], "FAIL"),  # not on one EVSE: connector 2 is unexpected
])
async def test_each_connector_evse_stands_for_the_connectors_of_the_power_stage(
        tmp_path: Path, sim_config: BenchConfig, evses: tuple[tuple[int, ...], ...], statuses: list[dict[str, Any]],
        verdict: str) -> None:
    config = dataclasses.replace(sim_config, connectors=2)
    result = await _run(tmp_path, config, FAULTED_STAGE, statuses, allowances=Allowances(evses=evses))
    assert result.verdict == verdict, result.reason
    if verdict == "FAIL":
        assert result.reason.startswith("Appendix D") and "connector 2, Faulted" in result.reason
