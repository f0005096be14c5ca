"""TC_039 against a station that queues its status changes while offline and replays them, each with its own
timestamp, after reconnecting (the offline-replay variant; tests/e2e/test_cases.py runs its whole plan): OCPP 1.6
allows it, so Appendix D must judge those notifications as a replay, not as unexpected statuses."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from benchctl.bench.config import load_bench
from benchctl.paths import DEFAULT_BENCH
from benchctl.record.case import CaseResult
from benchctl.run.rundir import RunDir
from benchctl.run.standalone import run_cases
from benchctl.scenario.model import Scenario

from support.variants import variant


@pytest.fixture(scope="module")
def replay_run(tmp_path_factory: pytest.TempPathFactory, scenarios: dict[str, Scenario]) -> dict[str, CaseResult]:
    config = variant("offline-replay").apply(load_bench(DEFAULT_BENCH))
    run_dir = RunDir.create(Path(tmp_path_factory.mktemp("offline-replay")), "sim")
    results = asyncio.run(run_cases(config, [scenarios["TC_039_CS"]], run_dir))
    return {r.id: r for r in results}


def test_the_replayed_statuses_are_judged_as_replayed(replay_run: dict[str, CaseResult]) -> None:
    """TC_039 expects no StatusNotification after the link is cut: the station's whole offline session
    (Preparing, SuspendedEV, Charging, Finishing, Available) arrives after the reconnection and is valid only as
    a replay (without the allowance the Preparing alone fails: "no Appendix D allowance applies")."""
    result = replay_run["TC_039_CS"]
    assert result.verdict == "PASS", result.reason
    record = result.status_rules
    assert record is not None
    replayed = [f for f in record["findings"] if f["rule"] == "D.offline-replay"]
    assert len(replayed) >= 2, record["findings"]
    assert all(not f["fail"] for f in replayed)
