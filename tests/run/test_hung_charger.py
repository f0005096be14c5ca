"""A charger that is connected but answers no request (requests_hang_until_power_cycle): the return to idle
notices the first unanswered request, power-cycles the station through `mains`, and the run goes on with one
timeout lost, not one per request of every following case. Without a `mains` role it says why it is not idle."""

from __future__ import annotations

import json
import time
from pathlib import Path

from benchctl.bench.config import BenchConfig
from benchctl.csms.capture import Capture
from benchctl.run.idle import return_to_idle
from benchctl.run.rundir import RunDir
from benchctl.run.session import open_bench
from benchctl.run.standalone import run_cases
from benchctl.scenario.model import Scenario

FAULT = "requests_hang_until_power_cycle"


async def test_a_hung_charger_is_power_cycled_before_the_first_case(fast_sim_config: BenchConfig,
                                                                     scenarios: dict[str, Scenario],
                                                                     tmp_path: Path) -> None:
    assert fast_sim_config.simulator is not None
    fast_sim_config.simulator.faults = [FAULT]
    run_dir = RunDir.create(tmp_path, "sim")
    t0 = time.monotonic()
    (result,) = await run_cases(fast_sim_config, [scenarios["TC_010_CS"]], run_dir)  # a remote start: it needs answers
    elapsed = time.monotonic() - t0
    assert result.verdict == "PASS", result.reason
    actions = [json.loads(line) for line in (run_dir.path / "actions.jsonl").read_text().splitlines()]
    assert [a for a in actions if a.get("role") == "mains" and a.get("command") == "cycle"], actions
    meta = json.loads((run_dir.path / "run.json").read_text())
    assert meta["configuration"], "the baseline was read after the power cycle"
    assert meta["dut_profile"]["contradictions"] == []
    # one unanswered request (message_timeout_s 4), a power cycle and the case; not a timeout per request
    assert elapsed < 4 * 4, elapsed


async def test_without_mains_the_return_to_idle_names_the_silent_charger(fast_sim_config: BenchConfig) -> None:
    assert fast_sim_config.simulator is not None
    fast_sim_config.simulator.faults = [FAULT]
    del fast_sim_config.roles["mains"]
    async with open_bench(fast_sim_config, Capture(None)) as session:
        t0 = time.monotonic()
        problem = await return_to_idle(session.bench, session.link, timeout=4)
        elapsed = time.monotonic() - t0
    assert problem is not None and "connected but answers no request" in problem, problem
    assert "TriggerMessage: no answer" in problem  # the request it left unanswered, named
    assert elapsed < 4 * 2, elapsed  # the first unanswered request decides; the others are not waited out
