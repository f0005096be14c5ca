"""Cases read against the test case document where a conforming charger may behave in more than one way, or
where a precondition only applies to some stations: each test here failed before the scenario followed the
document (issue 14, section 2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchctl.bench.config import BenchConfig, load_bench
from benchctl.run.rundir import RunDir
from benchctl.run.standalone import run_cases
from benchctl.scenario.model import Scenario

from support.bench_text import sim_bench_text
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


RESERVATION_CASES = ("TC_046_1_CS", "TC_047_CS", "TC_049_CS", "TC_053_CS")


def _two_connector_config(tmp_path: Path) -> BenchConfig:
    """The fast sim bench with a two-connector station (simulator and dut agree)."""
    text = sim_bench_text().replace("message_timeout_s: 10", "message_timeout_s: 4")
    station, dut = "    connectors: 1\n", "  connectors: 1\n"
    assert text.count(station) == 1 and text.count(dut) == 2  # the station's line contains the dut's
    text = text.replace(station, "    connectors: 2\n").replace(dut, "  connectors: 2\n")
    path = tmp_path / "sim-2.yaml"
    path.write_text(text)
    config = load_bench(path)
    assert config.connectors == 2 and config.simulator is not None and config.simulator.station.connectors == 2
    return config


async def test_reservation_cases_set_the_unused_connector_unavailable_on_two_connectors(
        scenarios: dict[str, Scenario], tmp_path: Path) -> None:
    """The Before of 046_1, 047, 049 and 053, "SetConnectorUnavailable for all unused connectors": connector 2 is
    set Inoperative before each case, and the return to idle makes it Operative again for the next one."""
    run_dir = RunDir.create(tmp_path, "sim")
    results = await run_cases(_two_connector_config(tmp_path), [scenarios[c] for c in RESERVATION_CASES], run_dir)
    for result in results:
        assert result.verdict == "PASS", f"{result.id}: {result.verdict} at step {result.step}: {result.reason}"
        assert _requests(run_dir, result.id, "ChangeAvailability") == [{"connectorId": 2, "type": "Inoperative"}]
        assert {"connectorId": 2, "status": "Unavailable"}.items() <= \
            _requests(run_dir, result.id, "StatusNotification")[0].items()
    for case in RESERVATION_CASES[1:]:  # each case after the first started from connector 2 made Operative
        assert {"connectorId": 2, "type": "Operative"} in _requests(run_dir, f"{case}:reset", "ChangeAvailability")


async def test_reservation_cases_set_nothing_unavailable_on_one_connector(fast_sim_config: BenchConfig,
                                                                         scenarios: dict[str, Scenario],
                                                                         tmp_path: Path) -> None:
    run_dir = RunDir.create(tmp_path, "sim")
    (result,) = await run_cases(fast_sim_config, [scenarios["TC_046_1_CS"]], run_dir)
    assert result.verdict == "PASS", f"{result.verdict} at step {result.step}: {result.reason}"
    assert _requests(run_dir, result.id, "ChangeAvailability") == []
