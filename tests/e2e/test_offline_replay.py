"""The offline cases (2.14) against a station that queues its status changes while offline and replays them,
each with its own timestamp, after reconnecting (simulator.station.offline_statuses: replay). Not yet a variant
of the catalogue (hil_sim/variants.py), whose whole plan must pass: TC_037_2 below still fails. OCPP 1.6 allows it, so Appendix D
must not blame it: every case passes, and the replayed notifications are accepted as such in the record."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from benchctl.bench.config import load_bench
from benchctl.paths import DEFAULT_BENCH
from benchctl.run.results import CaseResult
from benchctl.run.rundir import RunDir
from benchctl.run.runner import run_cases
from benchctl.scenario.model import Scenario

OFFLINE_CASES = ["TC_037_1_CS", "TC_037_2_CS", "TC_037_3_CS", "TC_038_CS", "TC_039_CS"]


@pytest.fixture(scope="module")
def replay_run(tmp_path_factory: pytest.TempPathFactory, scenarios: dict[str, Scenario]) -> dict[str, CaseResult]:
    config = load_bench(DEFAULT_BENCH)
    assert config.simulator is not None
    config.simulator.station.offline_statuses = "replay"
    run_dir = RunDir.create(Path(tmp_path_factory.mktemp("offline-replay")), "sim")
    results = asyncio.run(run_cases(config, [scenarios[c] for c in OFFLINE_CASES], run_dir))
    return {r.id: r for r in results}


# TC_037_2: the replayed SuspendedEV (the EV was still in state B when the transaction started offline) comes
# before the live SuspendedEVSE of step 5, and a plain `expect` judges the next StatusNotification, so step 5
# takes it. Appendix D accepts the replay; the engine's matching of plain expectations (not this change's to
# make) would have to pass over a frame stamped before the reconnection.
ENGINE_TAKES_THE_REPLAY = pytest.mark.xfail(strict=True, reason="a plain expect takes the replayed SuspendedEV")


@pytest.mark.parametrize("case", [pytest.param(c, marks=ENGINE_TAKES_THE_REPLAY) if c == "TC_037_2_CS" else c
                                  for c in OFFLINE_CASES])
def test_offline_case_passes_against_a_replaying_station(case: str, replay_run: dict[str, CaseResult]) -> None:
    result = replay_run[case]
    assert result.verdict == "PASS", f"{result.verdict} at step {result.step}: {result.reason} ({result.where})"


def test_the_replayed_statuses_are_judged_as_replayed(replay_run: dict[str, CaseResult]) -> None:
    """TC_039 expects no StatusNotification after the link is cut: the station's whole offline session
    (Preparing, SuspendedEV, Charging, Finishing, Available) arrives after the reconnection and is valid only as
    a replay (without the allowance the Preparing alone fails: "no Appendix D allowance applies")."""
    record = replay_run["TC_039_CS"].status_rules
    assert record is not None
    replayed = [f for f in record["findings"] if f["rule"] == "D.offline-replay"]
    assert len(replayed) >= 2, record["findings"]
    assert all(not f["fail"] for f in replayed)
