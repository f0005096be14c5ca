"""A charger that is not connected when the return to idle starts (a killed run left the network relay cut, or
its WebSocket client is stuck): the gear goes safe first, then a power cycle through `mains` brings the station
back, and the case's timeline says why the power was cut. Without `mains`, the return to idle says why it is not
idle."""

from __future__ import annotations

import json
import time
from pathlib import Path

from benchctl.bench.bench import Bench
from benchctl.bench.config import BenchConfig
from benchctl.csms.capture import Capture
from benchctl.csms.link import ChargerLink
from benchctl.report import write_reports
from benchctl.run.idle import return_to_idle
from benchctl.run.rundir import RunDir
from benchctl.run.session import open_bench
from benchctl.run.standalone import run_cases
from benchctl.scenario.model import Scenario

FAULT = "reconnect_stuck_until_power_cycle"


async def _cut_network(bench: Bench, link: ChargerLink) -> None:
    await bench.output("network").set(False)
    assert await link.wait_until(lambda: not link.connected.is_set(), 5) is not None, "the link never dropped"


async def test_a_network_relay_left_cut_is_put_back_before_waiting_out_the_charger(
        fast_sim_config: BenchConfig) -> None:
    async with open_bench(fast_sim_config, Capture(None)) as session:
        assert await session.link.wait_until(lambda: session.link.connected.is_set(), 10)
        await _cut_network(session.bench, session.link)  # what a kill -9 mid-case leaves
        problem = await return_to_idle(session.bench, session.link, timeout=4)
        cycles = [s for s in session.bench.steplog.steps if s.role == "mains" and s.command == "cycle"]
    assert problem is None, problem
    assert cycles == [], "the safe state alone brings it back: no power cycle needed"


async def test_a_charger_that_does_not_come_back_is_power_cycled(fast_sim_config: BenchConfig) -> None:
    assert fast_sim_config.simulator is not None
    fast_sim_config.simulator.faults = [FAULT]
    async with open_bench(fast_sim_config, Capture(None)) as session:
        assert await session.link.wait_until(lambda: session.link.connected.is_set(), 10)
        await _cut_network(session.bench, session.link)
        t0 = time.monotonic()
        problem = await return_to_idle(session.bench, session.link, timeout=3)
        elapsed = time.monotonic() - t0
        cycles = [s for s in session.bench.steplog.steps if s.role == "mains" and s.command == "cycle"]
        connected = session.link.connected.is_set()
    assert problem is None, problem
    assert connected
    assert len(cycles) == 1 and "not connected" in cycles[0].args["reason"], cycles
    assert elapsed < 3 * 2 + 1 + 3 * 2 + 5, elapsed  # two waits, the power cycle, the boot; never the whole night


async def test_without_mains_the_offline_charger_is_named(fast_sim_config: BenchConfig) -> None:
    assert fast_sim_config.simulator is not None
    fast_sim_config.simulator.faults = [FAULT]
    del fast_sim_config.roles["mains"]
    async with open_bench(fast_sim_config, Capture(None)) as session:
        assert await session.link.wait_until(lambda: session.link.connected.is_set(), 10)
        await _cut_network(session.bench, session.link)
        problem = await return_to_idle(session.bench, session.link, timeout=2)
        network = [s for s in session.bench.steplog.steps if s.role == "network" and s.command == "safe_state"]
    assert problem is not None and "not connected to the Central System" in problem, problem
    assert network, "the gear went safe before giving up"


async def test_the_next_case_after_an_offline_charger_runs_and_its_timeline_says_why(
        fast_sim_config: BenchConfig, scenarios: dict[str, Scenario], tmp_path: Path) -> None:
    """TC_036_CS cuts the network and restores it; this charger never dials again (the case FAILs, its fault).
    The next case's 000_RESET power-cycles it and that case PASSes, where it was ERROR before."""
    assert fast_sim_config.simulator is not None
    fast_sim_config.simulator.faults = [FAULT]
    run_dir = RunDir.create(tmp_path, "sim")
    offline, after = await run_cases(fast_sim_config, [scenarios["TC_036_CS"], scenarios["TC_003_CS"]], run_dir)
    assert offline.verdict == "FAIL", offline.reason
    assert after.verdict == "PASS", after.reason
    write_reports(run_dir.path)
    report = json.loads((run_dir.path / "report.json").read_text())
    (case,) = [c for c in report["cases"] if c["id"] == "TC_003_CS"]
    cycles = [a for a in case["reset_actions"] if a["role"] == "mains" and a["command"] == "cycle"]
    assert cycles and "the charger is not connected" in cycles[0]["args"]["reason"], case["reset_actions"]
    assert "return to idle" in (run_dir.path / "report.html").read_text()
