"""An `optional` expect is satisfied by a matching frame in its window or skipped; a frame of its action that does
not match is left for the steps after it (Appendix D makes statuses such as Charging optional, test case document
section 1.2 lets Charging come before StartTransaction). Judged against a scripted charger on a real WebSocket."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchctl.bench.config import BenchConfig

from support.scripted import ScriptedCharger, run_scripted

STEPS = """\
steps:
  - expect: StatusNotification
    step: 3
    match: {connectorId: 1, status: Charging}
    optional: true
  - expect: StatusNotification
    step: 5
    match: {connectorId: 1, status: SuspendedEVSE}
"""


def status(uid: str, value: str) -> list[Any]:
    return [2, uid, "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": value}]


async def _statuses(tmp_path: Path, config: BenchConfig, *values: str) -> Any:
    charger = ScriptedCharger({})

    async def send() -> None:
        for n, value in enumerate(values):
            await charger.send(status(f"s{n}", value))

    return await run_scripted(tmp_path, config, STEPS, charger, send)


async def test_an_optional_step_skips_a_frame_that_does_not_match(tmp_path: Path, fast_sim_config: BenchConfig) -> None:
    result = await _statuses(tmp_path, fast_sim_config, "SuspendedEVSE")
    assert result.verdict == "PASS", result.reason
    skipped = [c for c in result.checks if c.step == 3]
    assert [c.ok for c in skipped] == [True] and "not sent" in skipped[0].description
    assert [c.observed for c in result.checks if c.step == 5 and "status" in c.description] == ["SuspendedEVSE"]


async def test_an_optional_step_takes_its_matching_frame(tmp_path: Path, fast_sim_config: BenchConfig) -> None:
    result = await _statuses(tmp_path, fast_sim_config, "Charging", "SuspendedEVSE")
    assert result.verdict == "PASS", result.reason
    assert [c.observed for c in result.checks if c.step == 3 and "status" in c.description] == ["Charging"]


async def test_the_step_after_a_skipped_optional_one_still_judges(tmp_path: Path,
                                                                  fast_sim_config: BenchConfig) -> None:
    result = await _statuses(tmp_path, fast_sim_config, "Finishing")
    assert (result.verdict, result.step) == ("FAIL", 5), result.reason
    assert "Finishing" in result.reason


async def test_a_status_step_leaves_another_connectors_status_to_appendix_d(tmp_path: Path,
                                                                           fast_sim_config: BenchConfig) -> None:
    """Connector 2 reports while the step waits for connector 1's status: the step takes connector 1's, and
    Appendix D (not the step) judges connector 2's."""
    charger = ScriptedCharger({})

    async def send() -> None:
        await charger.send([2, "o1", "StatusNotification", {"connectorId": 2, "errorCode": "NoError",
                                                            "status": "Unavailable"}])
        await charger.send(status("s1", "Charging"))

    one_step = "steps:\n  - expect: StatusNotification\n    step: 3\n    match: {connectorId: 1, status: Charging}\n"
    result = await run_scripted(tmp_path, fast_sim_config, one_step, charger, send)
    assert [c.observed for c in result.checks if c.step == 3 and "status" in c.description] == ["Charging"]
    assert result.reason.startswith("Appendix D"), result.reason


async def test_a_status_replayed_from_before_the_reconnection_is_passed_over(tmp_path: Path,
                                                                            fast_sim_config: BenchConfig) -> None:
    """TC_037_2 on a station that queues its statuses offline: the SuspendedEV stamped while it was offline comes
    after the reconnection, before the live SuspendedEVSE the step waits for; Appendix D judges the replay."""
    charger = ScriptedCharger({})

    async def send() -> None:
        queued = dict(status("q1", "SuspendedEV")[3], timestamp="2020-01-01T00:00:00Z")
        await charger.send([2, "q1", "StatusNotification", queued])
        await charger.send(status("s1", "SuspendedEVSE"))

    one_step = "steps:\n  - expect: StatusNotification\n    step: 5\n    match: {connectorId: 1, status: SuspendedEVSE}\n"
    result = await run_scripted(tmp_path, fast_sim_config, one_step, charger, send)
    assert [c.observed for c in result.checks if c.step == 5 and "status" in c.description] == ["SuspendedEVSE"]
    assert result.step != 5, result.reason
