"""The chapter 8 timings land in each case's result, from the run's own capture, on the sim bench."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path

from benchctl.bench.config import BenchConfig
from benchctl.perf.timings import AUTHORIZE, RESPONSE, TRIGGERED
from benchctl.report import write_reports
from benchctl.run.rundir import RunDir
from benchctl.run.standalone import run_cases
from benchctl.scenario.model import Scenario


async def test_remote_start_and_card_cases_record_their_timings(fast_sim_config: BenchConfig,
                                                                scenarios: dict[str, Scenario],
                                                                tmp_path: Path) -> None:
    run_dir = RunDir.create(tmp_path, "sim")
    remote, card = await run_cases(fast_sim_config, [scenarios["TC_010_CS"], scenarios["TC_003_CS"]], run_dir)
    assert (remote.verdict, card.verdict) == ("PASS", "PASS")
    kinds = {(t["kind"], t["name"].split(" ")[0]) for t in remote.timings}
    assert (RESPONSE, "RemoteStartTransaction") in kinds
    assert (TRIGGERED, "RemoteStartTransaction") in kinds
    assert any(t["kind"] == AUTHORIZE for t in card.timings)
    captured = {json.loads(line)["i"]: json.loads(line) for line in run_dir.capture_path.read_text().splitlines()}
    for timing in remote.timings + card.timings:
        assert 0 <= timing["ms"] < 10_000
        for index in timing["frames"]:  # every figure cites frames of its own case
            assert captured[index]["case"] in (remote.id, card.id)
    stored = [json.loads(line) for line in (run_dir.path / "results.jsonl").read_text().splitlines()]
    assert [r["timings"] for r in stored] == [remote.timings, card.timings]
    html = write_reports(run_dir.path)["html"].read_text()
    assert html.count("Timings, chapter 8") == 2
    assert "card presented -&gt; Authorize" in html


def test_a_physical_step_after_a_charger_message_waits_an_operators_pause(fast_sim_config: BenchConfig,
                                                                          scenarios: dict[str, Scenario],
                                                                          tmp_path: Path) -> None:
    """TC_003: the card is presented a tester's moment after the Preparing it follows, not within milliseconds."""
    fast_sim_config.values["operator_pause_s"] = 0.8
    run_dir = RunDir.create(tmp_path, "sim")
    (card,) = asyncio.run(run_cases(fast_sim_config, [scenarios["TC_003_CS"]], run_dir))
    assert card.verdict == "PASS", card.reason
    frames = [json.loads(line) for line in run_dir.capture_path.read_text().splitlines()]
    preparing = next(f for f in frames if f["case"] == "TC_003_CS" and f["action"] == "StatusNotification"
                     and f["type"] == "CALL" and "Preparing" in f["raw"])
    presented = next(a for a in card.actions if a["command"] == "present")
    at = datetime.fromisoformat(preparing["ts"]).timestamp()
    assert 0.8 <= presented["ts"] - at < 3.0
