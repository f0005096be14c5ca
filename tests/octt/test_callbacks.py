"""The newer tool's SUT callbacks, answered with bench actions: the simulated gear moves (checked in the sim
world), every call is a step in the log, and what cannot be done is refused with the reason."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, AsyncIterator

import aiohttp

from benchctl.bench.config import BenchConfig, load_bench
from benchctl.csms.capture import Capture
from benchctl.octt.callbacks import ROLE, SutCallbackServer
from benchctl.octt.prompts import load_prompts
from benchctl.proxy.bench import ProxiedBench, open_proxied_bench
from benchctl.record.case import PASS
from octt_standin import StandInTool

from octt_harness import companion, fast_config, free_port


@contextlib.asynccontextmanager
async def served(config: BenchConfig) -> AsyncIterator[tuple[ProxiedBench, SutCallbackServer, list[tuple[str, Any]]]]:
    """A proxied sim bench (its charger dials the stand-in through the proxy) and the callbacks in front of it."""
    tool = StandInTool(dict(config.values))
    await tool.start()
    try:
        async with open_proxied_bench(config, Capture(None), tool.ocpp_url) as session:
            assert session.sim is not None
            changes: list[tuple[str, Any]] = []
            session.sim.world.subscribe(lambda name, value: changes.append((name, value)))
            server = SutCallbackServer(session.bench, load_prompts())
            await server.start()
            try:
                yield session, server, changes
            finally:
                await server.stop()
    finally:
        await tool.stop()


async def post(url: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.post(url) as response:
        return response.status, await response.json()


async def test_callbacks_move_the_simulated_gear_and_are_logged(tmp_path: Path) -> None:
    async with served(fast_config(tmp_path)) as (session, server, changes):
        assert server.host == "127.0.0.1" and server.url.startswith("http://127.0.0.1:")
        world = session.sim.world  # type: ignore[union-attr]
        connector = world.connector(1)
        assert (await post(f"{server.url}/plugin?connector_id=1")) == (200, {"ok": True, "callback": "/plugin",
                                                                             "actions": ["plug_in"]})
        assert connector.plugged_charger_side and connector.plugged_ev_side and connector.ev_state == "C"
        status, body = await post(f"{server.url}/start?connector_id=1")
        assert (status, body["actions"]) == (200, ["present_id"])
        assert any(name == "card_uid" and value for name, value in changes)  # a card came into the reader's field
        assert (await post(f"{server.url}/plugout?connector_id=1"))[0] == 200
        assert not connector.plugged_ev_side and not connector.plugged_charger_side and connector.ev_state == "A"
        changes.clear()
        assert (await post(f"{server.url}/reset?connector_id=1"))[0] == 200
        assert [c for c in changes if c[0] == "mains_on"] == [("mains_on", False), ("mains_on", True)]
        steps = [s for s in session.bench.steplog.steps if s.role == ROLE]
        assert [(s.command, s.args["connector_id"], s.error) for s in steps] == \
            [("/plugin", 1, None), ("/start", 1, None), ("/plugout", 1, None), ("/reset", 1, None)]
        assert steps[-1].result == {"actions": ["power_cycle"]}


async def test_an_unknown_connector_or_a_failed_action_is_refused_with_the_reason(tmp_path: Path) -> None:
    async with served(fast_config(tmp_path)) as (session, server, _):
        status, body = await post(f"{server.url}/plugin?connector_id=2")
        assert status == 404 and "unknown connector 2" in body["error"] and body["actions"] == []
        status, body = await post(f"{server.url}/plugin?connector_id=one")
        assert status == 400 and "connector_id must be a whole number" in body["error"]
        assert not session.sim.world.connector(1).plugged_ev_side  # type: ignore[union-attr]
        # the EV emulator stops answering: the action fails, the tool is told why
        await session.sim.modbus.stop()  # type: ignore[union-attr]
        status, body = await post(f"{server.url}/plugin?connector_id=1")
        assert status == 500 and body["error"].startswith("plug_in failed: ")
        failed = [s for s in session.bench.steplog.steps if s.role == ROLE][-1]
        assert failed.command == "/plugin" and failed.error == body["error"]
        async with aiohttp.ClientSession() as http, http.post(f"{server.url}/dance") as response:
            assert response.status == 404  # only the callbacks prompts.yaml lists are served


async def test_a_bench_without_the_role_refuses_with_the_role_named(tmp_path: Path) -> None:
    config = fast_config(tmp_path)
    text = Path(config.file).read_text()
    cut = text[text.index("  card:\n"):text.index("  modem:\n")]
    Path(config.file).write_text(text.replace(cut, ""))
    async with served(load_bench(config.file)) as (_, server, _):
        status, body = await post(f"{server.url}/start")
        assert status == 500 and "needs the role(s) card" in body["error"]


async def test_the_newer_tool_drives_a_case_through_the_callbacks(tmp_path: Path, scenarios) -> None:
    port = free_port()
    async with companion(tmp_path, callbacks_host="127.0.0.1", callbacks_port=port,
                         sut_api=f"http://127.0.0.1:{port}") as (run, tool):
        results = [await run.case(scenarios[case]) for case in ("TC_003_CS", "TC_001_CS")]
        logged = [s for s in run.source.session.bench.steplog.steps if s.role == ROLE]  # type: ignore[union-attr]
    for result in results:
        assert result.verdict == PASS and result.octt["benchctl_verdict"] == PASS, result.reason
        assert result.octt["prompts"] == []  # no prompt: the tool called the bench itself
    calls = [(c.callback, c.status) for c in tool.sut.calls]  # type: ignore[union-attr]
    # TC_003_CS plugs in and starts; TC_001_CS's power cycle is the reset callback (between them the tool's
    # 000_RESET may unplug, as the connector's status asks)
    assert calls[:2] == [("plugin", 200), ("start", 200)] and calls[-1] == ("reset", 200)
    assert set(calls[2:-1]) <= {("plugout", 200)}
    assert [s.command for s in logged] == [f"/{name}" for name, _ in calls]
    actions = (run.run_dir.path / "actions.jsonl").read_text()
    assert '"role": "sut_api", "command": "/plugin"' in actions
