"""Language features added for the reservation cases: `{now_plus_s: N}` (a dateTime N seconds from when the value
is used, e.g. a ReserveNow expiryDate) and the matcher `{any: true}` (a state parameter the including case leaves
open: nothing is checked or reported), and the link keeping the reservations the tool made (for 000_RESET)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import websockets

from benchctl.bench.bench import Bench
from benchctl.bench.config import BenchConfig
from benchctl.csms.capture import Capture
from benchctl.csms.server import CentralSystem
from benchctl.paths import SCENARIOS
from benchctl.scenario.engine import CaseRunner
from benchctl.scenario.model import load_scenario
from benchctl.scenario.values import describe, mismatches, satisfies, substitute
from drivers.steplog import StepLog

from support.scripted import ScriptedCharger, run_scripted


def test_now_plus_s_is_an_ocpp_datetime_that_many_seconds_on() -> None:
    before = datetime.now(timezone.utc)
    value = substitute({"expiryDate": {"now_plus_s": "${offset}"}, "idTag": "${tag}"}, {"offset": 90, "tag": "A"})
    assert value["idTag"] == "A"
    assert value["expiryDate"].endswith("Z")
    at = datetime.fromisoformat(value["expiryDate"])
    assert 89.9 <= (at - before).total_seconds() <= 91


def test_any_matches_whatever_is_there_and_says_so() -> None:
    assert satisfies(5, {"any": True})
    assert mismatches({}, {"reservationId": {"any": True}}) == []
    assert mismatches({"reservationId": 3}, {"reservationId": {"any": True}}) == []
    assert "not checked" in describe({"any": True})
    assert mismatches({}, {"reservationId": 3}) == ["reservationId is missing, expected 3"]


SCENARIO = """\
id: TC_903_CS
title: reservation language
section: '9.9'
steps:
  - send: ReserveNow
    step: 1
    payload:
      connectorId: 1
      expiryDate: {now_plus_s: "${offset}"}
      idTag: "${valid_id_tag}"
      reservationId: 5
    response: {status: Accepted}
    response_step: 2
  - expect: StartTransaction
    step: 9
    timeout_s: 5
    match: {idTag: "${valid_id_tag}", reservationId: "${rid}"}
"""


async def _run(tmp_path: Path, config: BenchConfig, rid: Any, start: dict[str, Any]) -> tuple[Any, ...]:
    (tmp_path / "TC_903_CS.yaml").write_text(SCENARIO)
    scenario = load_scenario(tmp_path / "TC_903_CS.yaml")
    config.values.update(offset=120, rid=rid)
    csms = CentralSystem(Capture(None), config.values)
    await csms.start()
    try:
        link = csms.link("CP-9")
        async with websockets.connect(f"{csms.url}/CP-9", subprotocols=["ocpp1.6"]) as ws:
            await link.wait_until(lambda: link.connected.is_set(), 5)
            runner = asyncio.create_task(CaseRunner(scenario, Bench(config, {}, StepLog()), link).run())
            request = json.loads(await asyncio.wait_for(ws.recv(), 5))
            await ws.send(json.dumps([3, request[1], {"status": "Accepted"}]))
            for _ in range(100):  # the tool records it once the answer is in (no link event to wait for)
                if link.reservations:
                    break
                await asyncio.sleep(0.02)
            reservations_after_reserve = dict(link.reservations)
            payload = {"connectorId": 1, "idTag": config.values["valid_id_tag"], "meterStart": 0,
                       "timestamp": "2024-04-01T10:00:00Z", **start}
            await ws.send(json.dumps([2, "s1", "StartTransaction", payload]))
            await asyncio.wait_for(ws.recv(), 5)
            result = await asyncio.wait_for(runner, 10)
    finally:
        await csms.stop()
    return request[3], reservations_after_reserve, dict(link.reservations), result


async def test_an_open_parameter_is_neither_checked_nor_reported(tmp_path: Path, sim_config: BenchConfig) -> None:
    request, reserved, after, result = await _run(tmp_path, sim_config, {"any": True}, {})
    assert result.verdict == "PASS", result.reason
    assert [c.description for c in result.checks if "reservationId" in c.description] == []
    expiry = datetime.fromisoformat(request["expiryDate"])
    assert 115 <= (expiry - datetime.now(timezone.utc)).total_seconds() <= 121
    assert reserved == {5: 1}
    assert after == {5: 1}  # a start without its reservationId does not end it for the tool


@pytest.mark.parametrize(("rid", "start", "verdict"), [
    (5, {"reservationId": 5}, "PASS"),
    (5, {}, "FAIL"),
    ({"present": False}, {"reservationId": 5}, "FAIL"),
    ({"present": False}, {}, "PASS"),
])
async def test_a_given_parameter_is_checked(tmp_path: Path, sim_config: BenchConfig, rid: Any,
                                            start: dict[str, Any], verdict: str) -> None:
    _, _, after, result = await _run(tmp_path, sim_config, rid, start)
    assert result.verdict == verdict, result.reason
    assert [c.ok for c in result.checks if "reservationId" in c.description] == [verdict == "PASS"]
    if verdict == "FAIL":
        assert result.step == 9
    assert after == ({} if start else {5: 1})  # the start that names the reservation ends it for the tool


class _AvailabilityCharger(ScriptedCharger):
    """Accepts every ChangeAvailability and reports the connector it named Unavailable."""

    async def serve(self, ws: Any) -> None:
        self.ws = ws
        async for raw in ws:
            frame = json.loads(raw)
            if frame[0] == 2 and frame[2] == "ChangeAvailability":
                self.calls.append((frame[2], frame[3]))
                await ws.send(json.dumps([3, frame[1], {"status": "Accepted"}]))
                status = {"connectorId": frame[3]["connectorId"], "status": "Unavailable", "errorCode": "NoError"}
                await ws.send(json.dumps([2, f"s{len(self.calls)}", "StatusNotification", status]))


@pytest.mark.parametrize(("connectors", "configured"), [(1, 1), (2, 1), (12, 3)])
async def test_unused_connectors_unavailable_covers_every_other_connector(
        tmp_path: Path, sim_config: BenchConfig, connectors: int, configured: int) -> None:
    """"SetConnectorUnavailable for all unused connectors" (each_other_connector): every connector of the station
    but the configured one, however many the station has."""
    (tmp_path / "states").symlink_to(SCENARIOS / "states")
    config = dataclasses.replace(sim_config, connectors=connectors, values={**sim_config.values,
                                                                            "connector_id": configured})
    charger = _AvailabilityCharger({})
    result = await run_scripted(tmp_path, config, "steps:\n  - state: UnusedConnectorsUnavailable\n", charger)
    assert result.verdict == "PASS", result.reason
    assert [payload["connectorId"] for _, payload in charger.calls] == \
        [n for n in range(1, connectors + 1) if n != configured]
