"""Cases read against the test case document where a conforming charger may behave in more than one way, or
where a precondition only applies to some stations: each test here failed before the scenario followed the
document (issue 14, section 2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchctl.bench.config import BenchConfig
from benchctl.run.rundir import RunDir
from benchctl.run.runner import run_cases
from benchctl.scenario.model import Scenario

from support.variants import VARIANTS


def _requests(run_dir: RunDir, case: str, action: str) -> list[dict[str, Any]]:
    """The payloads of the tool's `action` requests in the case itself (its 000_RESET is labelled apart)."""
    out = []
    for line in run_dir.capture_path.read_text().splitlines():
        record = json.loads(line)
        if record["case"] == case and record["action"] == action and record["type"] == "CALL":
            out.append(json.loads(record["raw"])[3])
    return out


async def test_061_a_charger_that_waits_out_connection_timeout_passes(fast_sim_config: BenchConfig,
                                                                      scenarios: dict[str, Scenario],
                                                                      tmp_path: Path) -> None:
    """TC_061_CS step 3: the document lets the charger ignore the second swipe and wait for ConnectionTimeOut;
    with a ConnectionTimeOut longer than the message timeout that is still a PASS."""
    assert fast_sim_config.simulator is not None
    fast_sim_config.simulator.station.same_card_withdraws = False
    fast_sim_config.values["connection_timeout_s"] = 7
    assert float(fast_sim_config.values["message_timeout_s"]) < 7
    (result,) = await run_cases(fast_sim_config, [scenarios["TC_061_CS"]], RunDir.create(tmp_path, "sim"))
    assert result.verdict == "PASS", f"{result.verdict} at step {result.step}: {result.reason}"
    step_3 = [c for c in result.checks if c.step == 3]
    assert step_3 and all(c.ok for c in step_3)


async def test_offline_cases_list_the_id_tag_when_the_pics_says_local_list(fast_sim_config: BenchConfig,
                                                                           scenarios: dict[str, Scenario],
                                                                           tmp_path: Path) -> None:
    """TC_037_x and TC_039_CS: memory state IdTagLocalAuthList (2.26 Table 113) where the PICS has the local list,
    IdTagCached where it has the cache; the default simulator has both."""
    run_dir = RunDir.create(tmp_path, "sim")
    cases = [scenarios["TC_037_1_CS"], scenarios["TC_039_CS"]]
    results = await run_cases(fast_sim_config, cases, run_dir)
    values = fast_sim_config.values
    for result in results:
        assert result.verdict == "PASS", f"{result.id}: {result.verdict} at step {result.step}: {result.reason}"
        assert _requests(run_dir, result.id, "SendLocalList") == [
            {"listVersion": 1, "updateType": "Full",
             "localAuthorizationList": [{"idTag": values["valid_id_tag"], "idTagInfo": {"status": "Accepted"}}]}]
        assert _requests(run_dir, result.id, "ClearCache")  # IdTagCached ran too


async def test_offline_cases_skip_the_local_list_when_the_pics_has_none(fast_sim_config: BenchConfig,
                                                                        scenarios: dict[str, Scenario],
                                                                        tmp_path: Path) -> None:
    (variant,) = [v for v in VARIANTS if v.name == "no-local-list"]
    run_dir = RunDir.create(tmp_path, "sim")
    (result,) = await run_cases(variant.apply(fast_sim_config), [scenarios["TC_037_2_CS"]], run_dir)
    assert result.verdict == "PASS", f"{result.verdict} at step {result.step}: {result.reason}"
    assert _requests(run_dir, result.id, "SendLocalList") == []
    assert _requests(run_dir, result.id, "ClearCache")
