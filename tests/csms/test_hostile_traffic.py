"""Hostile and broken traffic over the real wire: a second client claiming the charger's id, ids that could escape
a path or a log line, a charger coming back after a half-open socket, and the `ocpp` library's tracebacks."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
import websockets

from benchctl.bench.bench import Bench
from benchctl.bench.config import BenchConfig
from benchctl.csms.capture import Capture
from benchctl.csms.security import CsmsSecurity
from benchctl.csms.server import CentralSystem
from benchctl.record.case import CaseResult
from benchctl.report import load_run
from benchctl.report.html import render_html
from benchctl.scenario.engine import CaseRunner
from benchctl.scenario.model import load_scenario
from drivers.steplog import StepLog

KEY = b"hil_sim lab key 0001".hex().upper()
OTHER_KEY = b"OCA_OCTT_admin_test!".hex().upper()
BOOT = {"chargePointVendor": "v", "chargePointModel": "m"}


def basic(cp_id: str, key_hex: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(cp_id.encode() + b":" + bytes.fromhex(key_hex)).decode()}


async def connect(csms: CentralSystem, cp_id: str = "CP-1", **options: Any) -> Any:
    return await websockets.connect(f"{csms.url}/{cp_id}", subprotocols=["ocpp1.6"], open_timeout=5, **options)


async def call(ws: Any, unique_id: str, action: str, payload: dict[str, Any]) -> list[Any]:
    await ws.send(json.dumps([2, unique_id, action, payload]))
    return json.loads(await asyncio.wait_for(ws.recv(), 5))


def two_step_case(tmp_path: Path, sim_config: BenchConfig, csms: CentralSystem,
                  cp_id: str = "CP-1") -> asyncio.Task[CaseResult]:
    """A case waiting for a BootNotification, then a Heartbeat."""
    path = tmp_path / "TC_900_CS.yaml"
    path.write_text("id: TC_900_CS\ntitle: boot, heartbeat\nsection: '9.9'\nsteps:\n"
                    "  - expect: BootNotification\n    step: 1\n    timeout_s: 10\n"
                    "  - expect: Heartbeat\n    step: 2\n    timeout_s: 10\n")
    runner = CaseRunner(load_scenario(path), Bench(sim_config, {}, StepLog()), csms.link(cp_id))
    return asyncio.create_task(runner.run())


def events(path: Path) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in path.read_text().splitlines()]
    return [r["event"] | {"case": r["case"], "cp": r["cp"]} for r in records if r["type"] == "CONNECTION"]


async def test_a_second_live_connection_without_credentials_ends_the_case_as_error(
        tmp_path: Path, sim_config: BenchConfig) -> None:
    capture = Capture(tmp_path / "capture.jsonl")
    csms = CentralSystem(capture, sim_config.values)
    await csms.start()
    try:
        capture.case = "TC_900_CS"
        case = two_step_case(tmp_path, sim_config, csms)
        charger = await connect(csms)
        assert (await call(charger, "b1", "BootNotification", BOOT))[0] == 3
        impostor = await connect(csms)
        assert (await call(impostor, "h1", "Heartbeat", {}))[0] == 3  # the newcomer is served, but not judged
        result = await asyncio.wait_for(case, 10)
        await asyncio.wait_for(charger.wait_closed(), 5)
        assert charger.close_code == 1008 and "took over charge point CP-1" in charger.close_reason

        # while the id is contested, a case cannot judge whoever holds it
        capture.case = "TC_901_CS"
        assert (await asyncio.wait_for(two_step_case(tmp_path, sim_config, csms), 10)).verdict == "ERROR"

        # the impostor leaves; the charger comes back and the next case is judged again
        await impostor.close()
        await csms.link("CP-1").wait_until(lambda: not csms.link("CP-1").connected.is_set(), 5)
        capture.case = "TC_902_CS"
        case = two_step_case(tmp_path, sim_config, csms)
        async with await connect(csms) as charger:
            await call(charger, "b2", "BootNotification", BOOT)
            await call(charger, "h2", "Heartbeat", {})
            again = await asyncio.wait_for(case, 10)
    finally:
        await csms.stop()
        capture.close()
    assert result.verdict == "ERROR" and result.step is None  # never a FAIL of the charger
    assert result.reason.startswith("another connection took over charge point CP-1: connection #2 from 127.0.0.1:")
    assert "while connection #1 from 127.0.0.1:" in result.reason and "security profile 0" in result.reason
    assert again.verdict == "PASS", again.reason
    seen = events(tmp_path / "capture.jsonl")
    assert [(e["kind"], e["connection"], e["case"]) for e in seen if e["case"] == "TC_900_CS"] == [
        ("open", 1, "TC_900_CS"), ("open", 2, "TC_900_CS"), ("takeover", 2, "TC_900_CS"), ("closed", 1, "TC_900_CS")]
    takeover = next(e for e in seen if e["kind"] == "takeover")
    assert takeover["previous"] == 1 and takeover["contested"] is True
    assert takeover["peer"] != takeover["previous_peer"]  # each connection with its own peer
    assert [e["connection"] for e in seen if e["kind"] == "open" and e["case"] == "TC_902_CS"] == [3]

    # the report's case shows both connections, in the case's timeline
    (tmp_path / "results.jsonl").write_text(json.dumps(result.as_record()) + "\n")
    html = render_html(load_run(tmp_path))
    section = html[html.index('<section class="case c-ERROR"'):]
    section = section[:section.index("</section>")]
    assert "another connection took over charge point CP-1" in section
    opened = re.findall(r"connection #(\d) from 127\.0\.0\.1:\d+: security profile 0, accepted", section)
    assert opened == ["1", "2"]
    assert "connection #1 closed: the Central System sent 1008" in section


async def test_a_charger_back_after_a_half_open_socket_gets_through(tmp_path: Path, sim_config: BenchConfig) -> None:
    """Its old socket still looks open to the Central System but no longer answers a ping: not a takeover."""
    capture = Capture(tmp_path / "capture.jsonl")
    csms = CentralSystem(capture, sim_config.values, takeover_probe_s=0.5)
    await csms.start()
    try:
        case = two_step_case(tmp_path, sim_config, csms)
        old = await connect(csms)
        await call(old, "b1", "BootNotification", BOOT)
        old.transport.pause_reading()  # the link died: nothing of this socket answers any more
        async with await connect(csms) as charger:
            assert (await call(charger, "h1", "Heartbeat", {}))[0] == 3
            result = await asyncio.wait_for(case, 10)
        old.transport.abort()
    finally:
        await csms.stop()
        capture.close()
    assert result.verdict == "PASS", result.reason
    assert not csms.link("CP-1").takeovers
    assert [(e["kind"], e["connection"]) for e in events(tmp_path / "capture.jsonl")][:3] == [
        ("open", 1), ("open", 2), ("replaced", 2)]


async def test_with_credentials_the_credentials_decide(tmp_path: Path, sim_config: BenchConfig) -> None:
    """Profile 1: a client without the station's password is refused and the case goes on with the charger; one
    with it is the station reconnecting, even while the old connection still answers."""
    capture = Capture(None)
    csms = CentralSystem(capture, sim_config.values, security=CsmsSecurity(1, KEY))
    await csms.start()
    try:
        case = two_step_case(tmp_path, sim_config, csms)
        charger = await connect(csms, additional_headers=basic("CP-1", KEY))
        await call(charger, "b1", "BootNotification", BOOT)
        with pytest.raises(websockets.InvalidStatus) as refused:
            await connect(csms, additional_headers=basic("CP-1", OTHER_KEY))
        assert refused.value.response.status_code == 401
        async with await connect(csms, additional_headers=basic("CP-1", KEY)) as again:
            assert (await call(again, "h1", "Heartbeat", {}))[0] == 3
            result = await asyncio.wait_for(case, 10)
        await charger.close()
    finally:
        await csms.stop()
    assert result.verdict == "PASS", result.reason
    (takeover,) = csms.link("CP-1").takeovers
    assert takeover["contested"] is False and "presented the station's credentials" in takeover["text"]


@pytest.mark.parametrize("cp_id, status", [
    ("a%2Fb", 400), ("..", 400), ("CP..1", 400), ("CP%0A1", 400), ("CP%001", 400), ("C" * 49, 400),
    ("", 404)])
async def test_unusable_charge_point_ids_are_refused_at_the_handshake(
        tmp_path: Path, sim_config: BenchConfig, caplog: pytest.LogCaptureFixture, cp_id: str, status: int) -> None:
    capture = Capture(tmp_path / "capture.jsonl")
    csms = CentralSystem(capture, sim_config.values)
    await csms.start()
    try:
        with pytest.raises(websockets.InvalidStatus) as refused:
            await connect(csms, cp_id)
        assert refused.value.response.status_code == status
        async with await connect(csms, "C" * 48):  # the longest id OCPP allows still connects
            pass
    finally:
        await csms.stop()
        capture.close()
    assert list(csms.links) == ["C" * 48]
    (record,) = csms.refused
    assert record["status"] == status and record["connection"] == 1 and record["peer"].startswith("127.0.0.1:")
    assert any("connection #1" in r.getMessage() and "refused" in r.getMessage() for r in caplog.records
               if r.levelno == logging.WARNING)
    assert events(tmp_path / "capture.jsonl")[0]["kind"] == "refused"


async def test_the_ocpp_library_s_tracebacks_stay_off_the_console(sim_config: BenchConfig,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    csms = CentralSystem(Capture(None), sim_config.values)
    await csms.start()
    try:
        async with await connect(csms) as ws:
            await ws.send("[2, 'not json'")
            await ws.send(json.dumps([2, "b1", "BootNotification", {"chargePointVendor": "v"}]))
            assert (json.loads(await asyncio.wait_for(ws.recv(), 5)))[0] == 4
            assert (await call(ws, "x1", "Frobnicate", {}))[0] == 4
            assert (await call(ws, "h1", "Heartbeat", {}))[0] == 3
    finally:
        await csms.stop()
    assert len(csms.link("CP-1").invalid) == 3  # the capture flags every one of them
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert not loud, [r.getMessage() for r in loud]


async def test_each_charge_point_id_may_have_its_own_key(sim_config: BenchConfig) -> None:
    csms = CentralSystem(Capture(None), sim_config.values,
                         security=CsmsSecurity(1, KEY, authorization_keys={"CP-B": OTHER_KEY}))
    await csms.start()

    async def status(cp_id: str, key: str) -> int:
        try:
            async with await connect(csms, cp_id, additional_headers=basic(cp_id, key)):
                return 101
        except websockets.InvalidStatus as exc:
            return exc.response.status_code
    try:
        assert await status("CP-B", OTHER_KEY) == 101
        assert await status("CP-B", KEY) == 401  # the bench's key is not CP-B's
        assert await status("CP-A", KEY) == 101  # an id without a key of its own has the bench's
        assert await status("CP-A", OTHER_KEY) == 401
    finally:
        await csms.stop()
    assert csms.link("CP-B").security.config.scenario_values("CP-B")["authorization_key"] == OTHER_KEY
