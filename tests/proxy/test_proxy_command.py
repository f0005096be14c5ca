"""`benchctl proxy`: the sim bench's charger through the proxy to an upstream, captured into a run directory."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import sys
from pathlib import Path

import pytest
from test_proxied_bench import central_system
from websockets.asyncio.client import connect

from benchctl.cli import main

from recording_upstream import RecordingUpstream
from support.bench_text import sim_bench_text


async def test_proxy_command_captures_the_sim_charger_until_sigterm(upstream: RecordingUpstream,
                                                                    tmp_path: Path) -> None:
    upstream.reply = central_system
    run_dir = tmp_path / "run"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchctl.cli", "proxy", "--upstream", upstream.url, "--run-dir", str(run_dir),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env={**os.environ, "COLUMNS": "200"})
    assert process.stdout is not None
    try:
        announced = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        side = await upstream.side("SIM-CP-1", timeout=10)
        await side.wait_for(3, timeout=10)  # BootNotification and the status of connector 0 and 1
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), 20)
    text = announced + output.decode()
    assert process.returncode == 143, text
    assert announced.startswith("proxy ws://127.0.0.1:") and f"-> {upstream.url}/<chargePointId>" in announced
    assert "frame(s) captured (0 not valid OCPP)" in text
    captured = [json.loads(line) for line in (run_dir / "capture.jsonl").read_text().splitlines()]
    assert [r["raw"] for r in captured if r["dir"] == "charger->csms"][:3] == side.received[:3]
    assert captured[0]["action"] == "BootNotification" and captured[0]["valid"]
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["command"] == "proxy" and meta["upstream"] == upstream.url
    assert meta["proxy_url"].startswith("ws://127.0.0.1:") and meta["finished"] >= meta["started"]
    await asyncio.wait_for(side.ended.wait(), 5)  # the upstream saw the charger go when the proxy stopped


@pytest.mark.parametrize("argv, message", [
    (["--upstream", "http://127.0.0.1:1/ocpp"], "expected a ws:// or wss:// URL"),
    (["--upstream", "wss://127.0.0.1:1/ocpp", "--cafile", "/nonexistent/ca.pem"], "--cafile /nonexistent/ca.pem"),
    (["--upstream", "ws://127.0.0.1:1/ocpp", "--insecure"], "ws:// but TLS options"),
])
def test_proxy_command_rejects_bad_options(argv: list[str], message: str, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["proxy", *argv, "--run-dir", str(tmp_path / "run")]) == 2
    assert message in capsys.readouterr().out
    assert not (tmp_path / "run").exists()


async def test_proxy_command_on_a_bench_without_simulator_until_ctrl_c(upstream: RecordingUpstream,
                                                                      tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # a lab's bench: no simulator; the real charger is configured to dial the fixed dut.csms port
    text = re.sub(r"\nsimulator:\n(?:  .*\n|\s*\n)*?(?=\S)", "\n", sim_bench_text())
    assert "simulator:" not in text and "\n    port: 0" in text
    bench = tmp_path / "lab.yaml"
    bench.write_text(text.replace("\n    port: 0", f"\n    port: {port}", 1))
    run_dir = tmp_path / "run"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchctl.cli", "proxy", "--bench", str(bench), "--upstream", upstream.url,
        "--run-dir", str(run_dir), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    assert process.stdout is not None
    try:
        announced = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        assert announced.startswith(f"proxy ws://127.0.0.1:{port}/ocpp/<chargePointId>"), announced
        async with connect(f"ws://127.0.0.1:{port}/ocpp/LAB-CP", subprotocols=["ocpp1.6"]) as charger:
            await charger.send('[2,"1","Heartbeat",{}]')
            side = await upstream.side("LAB-CP")
            assert await side.wait_for(1) == ['[2,"1","Heartbeat",{}]']
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 0, output.decode()
    assert "1 frame(s) captured" in output.decode()
    assert json.loads((run_dir / "capture.jsonl").read_text())["cp"] == "LAB-CP"
