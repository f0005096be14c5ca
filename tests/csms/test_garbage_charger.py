"""A charger that sends garbage: every frame is kept in the capture and flagged, the connection survives,
and a case waiting on that charger fails naming the frame."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import websockets

from benchctl.bench.bench import Bench
from benchctl.bench.config import BenchConfig
from benchctl.csms.capture import Capture
from benchctl.csms.server import CentralSystem
from benchctl.scenario.engine import CaseRunner
from benchctl.scenario.model import load_scenario
from drivers.steplog import StepLog


async def test_garbage_is_captured_flagged_and_answered(tmp_path: Path, sim_config: BenchConfig) -> None:
    capture = Capture(tmp_path / "capture.jsonl")
    csms = CentralSystem(capture, sim_config.values)
    await csms.start()
    try:
        async with websockets.connect(f"{csms.url}/BAD-CP", subprotocols=["ocpp1.6"]) as ws:
            await ws.send("this is not OCPP")
            await ws.send('[2, "b1", "BootNotification", {"chargePointVendor": "x"}]')
            answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert answer[0] == 4 and answer[1] == "b1"  # the ocpp library rejects it with a CALLERROR
            await ws.send('[2, "x1", "Heartbeat", {"surplus": 1}]')
            answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert answer[:3] == [4, "x1", "FormationViolation"]  # OCPP-J 1.6 4.2.3, not the 2.x FormatViolation
            await ws.send('[2, "h1", "Heartbeat", {}]')
            answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert answer[:2] == [3, "h1"] and "currentTime" in answer[2]
        link = csms.links["BAD-CP"]
        assert [f.frame.raw for f in link.invalid] == [
            "this is not OCPP", '[2, "b1", "BootNotification", {"chargePointVendor": "x"}]',
            '[2, "x1", "Heartbeat", {"surplus": 1}]']
    finally:
        await csms.stop()
        capture.close()
    records = [json.loads(line) for line in (tmp_path / "capture.jsonl").read_text().splitlines()]
    from_charger = [r for r in records if r["dir"] == "charger->csms"]
    assert [r["valid"] for r in from_charger] == [False, False, False, True]
    codes = [json.loads(r["raw"])[2] for r in records if r["dir"] == "csms->charger" and r["type"] == "CALLERROR"]
    assert codes == ["ProtocolError", "FormationViolation"]
    assert "not JSON" in from_charger[0]["error"] and from_charger[0]["raw"] == "this is not OCPP"
    assert "chargePointModel" in from_charger[1]["error"]


async def test_case_fails_naming_the_invalid_frame(tmp_path: Path, sim_config: BenchConfig) -> None:
    scenario_file = tmp_path / "TC_900_CS.yaml"
    scenario_file.write_text(
        "id: TC_900_CS\ntitle: boot only\nsection: '9.9'\nsteps:\n"
        "  - expect: BootNotification\n    step: 1\n    timeout_s: 5\n")
    scenario = load_scenario(scenario_file)
    capture = Capture(None)
    csms = CentralSystem(capture, sim_config.values)
    await csms.start()
    try:
        bench = Bench(sim_config, {}, StepLog())
        link = csms.link("BAD-CP")
        runner = asyncio.create_task(CaseRunner(scenario, bench, link).run())
        async with websockets.connect(f"{csms.url}/BAD-CP", subprotocols=["ocpp1.6"]) as ws:
            await ws.send('[2, "b1", "BootNotification", {"chargePointVendor": 42, "chargePointModel": "m"}]')
            result = await asyncio.wait_for(runner, 10)
    finally:
        await csms.stop()
    assert result.verdict == "FAIL" and result.step == 1
    assert "not valid OCPP 1.6" in result.reason and "chargePointVendor" in result.reason


async def test_connections_need_a_charge_point_id_and_the_subprotocol(sim_config: BenchConfig) -> None:
    csms = CentralSystem(Capture(None), sim_config.values)
    await csms.start()
    try:
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(f"ws://127.0.0.1:{csms.port}/elsewhere", subprotocols=["ocpp1.6"])
        assert refused.value.response.status_code == 404
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(f"{csms.url}/CP-1")  # no ocpp1.6 subprotocol offered
        assert refused.value.response.status_code == 400
        assert not csms.links
    finally:
        await csms.stop()


async def test_listens_on_loopback_only(sim_config: BenchConfig) -> None:
    csms = CentralSystem(Capture(None), sim_config.values)
    await csms.start()
    try:
        assert csms.url.startswith("ws://127.0.0.1:")
    finally:
        await csms.stop()


async def test_a_frame_over_the_size_limit_is_captured_and_named_by_the_case(tmp_path: Path,
                                                                             sim_config: BenchConfig) -> None:
    """websockets drops a frame over the limit (dut.csms.max_frame_bytes) and closes with 1009; the case must say
    so, with the frame's size, and the capture keeps the size and the close."""
    scenario_file = tmp_path / "TC_900_CS.yaml"
    scenario_file.write_text("id: TC_900_CS\ntitle: authorize\nsection: '9.9'\nsteps:\n"
                             "  - expect: Authorize\n    step: 1\n    timeout_s: 5\n")
    capture = Capture(tmp_path / "capture.jsonl")
    csms = CentralSystem(capture, sim_config.values, max_frame_bytes=100_000)
    await csms.start()
    frame = json.dumps([2, "a1", "Authorize", {"idTag": "x" * 200_000}])
    try:
        link = csms.link("BIG-CP")
        runner = asyncio.create_task(CaseRunner(load_scenario(scenario_file), Bench(sim_config, {}, StepLog()),
                                                link).run())
        async with websockets.connect(f"{csms.url}/BIG-CP", subprotocols=["ocpp1.6"], compression=None) as ws:
            await ws.send(frame)
            await asyncio.wait_for(ws.wait_closed(), 5)
            assert ws.close_code == 1009
        result = await asyncio.wait_for(runner, 5)
        # compressed, the frame's size is not known: it is dropped as it inflates past the limit
        async with websockets.connect(f"{csms.url}/BIG-CP", subprotocols=["ocpp1.6"]) as ws:
            await ws.send(frame)
            await asyncio.wait_for(ws.wait_closed(), 5)
            assert ws.close_code == 1009
        await link.wait_until(lambda: len(link.invalid) == 2, 5)
        assert "a compressed frame inflating over the size limit of 100000 bytes" in link.invalid[1].frame.error
    finally:
        await csms.stop()
        capture.close()
    assert result.verdict == "ERROR"  # the bench's limit, not a rule of the document the charger broke
    assert f"a frame of {len(frame)} bytes over the size limit of 100000 bytes" in result.reason
    assert "1009" in result.reason and "frame #1" in result.reason and "max_frame_bytes" in result.reason
    records = [json.loads(line) for line in (tmp_path / "capture.jsonl").read_text().splitlines()]
    record = next(r for r in records if r["dir"] == "charger->csms")
    assert record["valid"] is False and "size limit" in record["error"] and record["size"] == len(frame)
    closed = [r["event"] for r in records if r["type"] == "CONNECTION" and r["event"]["kind"] == "closed"]
    assert closed[0]["connection"] == 1 and closed[0]["sent"]["code"] == 1009
    assert str(len(frame)) in closed[0]["sent"]["reason"]


async def test_the_default_limit_takes_frames_over_websockets_own_1_mib(sim_config: BenchConfig) -> None:
    """A GetConfiguration answer or a DataTransfer can pass 1 MiB: the default limit is larger than websockets'."""
    csms = CentralSystem(Capture(None), sim_config.values)
    await csms.start()
    try:
        async with websockets.connect(f"{csms.url}/BIG-CP", subprotocols=["ocpp1.6"], max_size=None) as ws:
            await ws.send(json.dumps([2, "d1", "DataTransfer", {"vendorId": "v", "data": "x" * (2 << 20)}]))
            answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert answer[:2] == [3, "d1"]
        assert not csms.links["BIG-CP"].invalid
    finally:
        await csms.stop()
