"""open_proxied_bench with the sim bench: the simulated charger boots through the proxy to a test upstream."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from benchctl.bench.actions import ACTIONS
from benchctl.bench.config import BenchConfig, load_bench
from benchctl.csms.capture import TO_CHARGER, TO_CSMS, Capture
from benchctl.proxy.bench import open_proxied_bench

from recording_upstream import RecordingUpstream
from support.bench_text import sim_bench_text

NOW = "2024-01-01T00:00:00Z"
RESULTS = {"BootNotification": {"status": "Accepted", "currentTime": NOW, "interval": 60},
           "Heartbeat": {"currentTime": NOW}}


def central_system(message: str | bytes) -> str | None:
    """Just enough of a Central System for the station to boot: accept everything it sends."""
    msg = json.loads(message)
    if msg[0] != 2:
        return None
    return json.dumps([3, msg[1], RESULTS.get(msg[2], {})])


async def test_sim_charger_boots_through_the_proxy(sim_config: BenchConfig, capture: Capture,
                                                   upstream: RecordingUpstream, tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    upstream.reply = central_system
    caplog.set_level(logging.INFO, logger="ocpp")  # the station's own record of what it sent
    async with open_proxied_bench(sim_config, capture, upstream.url) as proxied:
        assert proxied.sim is not None and proxied.config is sim_config
        assert proxied.proxy.url.startswith(f"ws://{sim_config.csms_host}:") and \
            proxied.proxy.url.endswith(sim_config.csms_path)
        side = await upstream.side(sim_config.charge_point_id, timeout=10)
        assert side.offered == ["ocpp1.6"]
        # the station reports every connector after its boot was accepted
        booted = len(await side.wait_for(1 + 1 + sim_config.connectors, timeout=10))
        boot = side.received[0]
        assert isinstance(boot, str) and json.loads(boot)[2] == "BootNotification"
        # the gear works through the drivers: plug the EV in and the station tells the upstream
        await ACTIONS["plug_in"].func(proxied.bench, ready=False)
        await side.wait_for(booted + 1, timeout=10)
        assert '"Preparing"' in str(side.received[booted])
        # byte for byte what the station put on the wire, in its order
        sent = [r.getMessage().split(" send ", 1)[1] for r in caplog.records if " send " in r.getMessage()]
        assert side.received == sent[:len(side.received)] and len(side.received) >= booted + 1
    first = capture.read()[0]
    assert (first.direction, first.charge_point_id, first.frame.action, first.frame.raw, first.frame.error) == \
        (TO_CSMS, sim_config.charge_point_id, "BootNotification", boot, None)
    answer = next(f for f in capture.read() if f.direction == TO_CHARGER)
    assert answer.frame.action == "BootNotification" and answer.frame.error is None
    # the gear was left safe on the way out: the EV unplugged again
    assert not proxied.sim.world.connectors[0].ev_connected  # type: ignore[union-attr]


async def test_gear_is_made_safe_when_the_body_fails(sim_config: BenchConfig, capture: Capture,
                                                     upstream: RecordingUpstream) -> None:
    upstream.reply = central_system
    with pytest.raises(RuntimeError, match="case blew up"):
        async with open_proxied_bench(sim_config, capture, upstream.url) as proxied:
            await ACTIONS["plug_in"].func(proxied.bench, ready=False)
            assert proxied.sim is not None and proxied.sim.world.connectors[0].ev_connected
            raise RuntimeError("case blew up")
    assert not proxied.sim.world.connectors[0].ev_connected
    with pytest.raises(AssertionError):
        proxied.proxy.port  # stopped: nothing listens any more


async def test_a_sim_bench_on_a_tls_profile_is_refused_with_its_file(tmp_path: Path, capture: Capture) -> None:
    text = sim_bench_text().replace("security_profile: 0", "security_profile: 2")
    assert "security_profile: 2" in text
    (tmp_path / "tls.yaml").write_text(text)
    config = load_bench(tmp_path / "tls.yaml")
    with pytest.raises(ValueError, match=r"tls\.yaml: dut\.csms\.security_profile 2"):
        async with open_proxied_bench(config, capture, "ws://127.0.0.1:9/ocpp"):
            pass
