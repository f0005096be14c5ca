"""Language features the power-failure, offline and fault cases need: `when: {not_equals}`, `since_step`,
`{one_of: [..., null]}` (a field that may be omitted), the timestamp matchers (`earlier_than`,
`seconds_after`, `all_of`), `save_time` on actions, and `save` with each_connector.

The engine runs against a link that receives the given requests (each already answered) right after the case
starts, so each test shows exactly which messages a step finds and how it judges them.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from benchctl.config import ConfigError
from benchctl.csms.capture import TO_CHARGER, TO_CSMS, CapturedFrame
from benchctl.csms.frames import CALL, CALLRESULT, Frame
from benchctl.csms.link import ChargerLink, Received
from benchctl.csms.responder import Responder
from benchctl.paths import SCENARIOS
from benchctl.scenario.engine import CaseRunner
from benchctl.scenario.model import load_scenario
from benchctl.scenario.values import describe, satisfies

HEAD = "id: TC_900_CS\ntitle: t\nsection: '9.9'\nsteps:\n"
VALUES = {"message_timeout_s": 0.3, "timing_tolerance_s": 1.0, "connector_id": 1, "valid_id_tag": "04A1B2C3"}


def scenario(tmp_path: Path, steps: str):
    if not (tmp_path / "states").exists():
        shutil.copytree(SCENARIOS / "states", tmp_path / "states")
    path = tmp_path / "TC_900_CS.yaml"
    path.write_text(HEAD + steps, encoding="utf-8")
    return load_scenario(path)


class FakeCard:
    def __init__(self) -> None:
        self.removed = 0

    async def remove(self) -> None:
        self.removed += 1


def bench() -> Any:
    return SimpleNamespace(values=dict(VALUES), config=SimpleNamespace(connectors=1),
                           steplog=SimpleNamespace(listeners=[]), has=lambda role: True, card=FakeCard())


async def deliver(link: ChargerLink, messages: tuple[tuple[str, dict[str, Any]], ...]) -> None:
    """The charger's requests, in order, each answered with an empty payload, once the case has started."""
    await asyncio.sleep(0.05)
    for n, (action, payload) in enumerate(messages):
        uid = f"u{n}"
        request = CapturedFrame(2 * n, 0.0, float(n), TO_CSMS, "CP", Frame("", CALL, uid, action, payload), None)
        answer = CapturedFrame(2 * n + 1, 0.0, float(n), TO_CHARGER, "CP", Frame("", CALLRESULT, uid, action, {}),
                               None)
        link.answers[uid] = answer
        await link.received(Received(action, payload, request, {}))


async def run(tmp_path: Path, steps: str, *messages: tuple[str, dict[str, Any]], b: Any = None):
    b = b or bench()
    charger = ChargerLink("CP", Responder(VALUES))
    runner = CaseRunner(scenario(tmp_path, steps), b, charger)
    result, _ = await asyncio.gather(runner.run(), deliver(charger, messages))
    return result, runner


def status(connector_id: int, value: str) -> tuple[str, dict[str, Any]]:
    return "StatusNotification", {"connectorId": connector_id, "errorCode": "NoError", "status": value}


# ---------------------------------------------------------------------------------------------- when
def test_when_needs_exactly_one_of_equals_and_not_equals(tmp_path: Path) -> None:
    both = "  - wait: 0\n    when: {var: x, equals: a, not_equals: b}\n"
    neither = "  - wait: 0\n    when: {var: x}\n"
    for steps in (both, neither):
        with pytest.raises(ConfigError, match="exactly one of equals, not_equals"):
            scenario(tmp_path, steps)


@pytest.mark.parametrize(("value", "ran"), [("Charging", False), ("Finishing", True), (None, True)])
async def test_when_not_equals_runs_the_other_branch(tmp_path: Path, value: str | None, ran: bool) -> None:
    steps = "  - action: remove_card\n    when: {var: after_boot, not_equals: Charging}\n"
    b = bench()
    if value is not None:
        b.values["after_boot"] = value
    result, _ = await run(tmp_path, steps, b=b)
    assert result.verdict == "PASS", result.reason
    assert b.card.removed == (1 if ran else 0)


# ---------------------------------------------------------------------------------------------- since_step
SINCE = """\
  - expect: BootNotification
    step: 1
  - expect: StatusNotification
    step: 3
    match: {connectorId: 1, status: Finishing}
  - expect: StopTransaction
    step: 5
    {since}
"""
# the StopTransaction came between the BootNotification and the status the case looked for first
BOOT_STOP_STATUS = (("BootNotification", {}), ("StopTransaction", {"transactionId": 1, "meterStop": 0}),
                    status(1, "Finishing"))


async def test_since_step_finds_a_message_that_came_before_the_previous_match(tmp_path: Path) -> None:
    result, _ = await run(tmp_path, SINCE.replace("{since}", "since_step: 1"), *BOOT_STOP_STATUS)
    assert result.verdict == "PASS", result.reason


async def test_without_since_step_the_search_starts_after_the_previous_match(tmp_path: Path) -> None:
    result, _ = await run(tmp_path, SINCE.replace("{since}", "note: plain"), *BOOT_STOP_STATUS)
    assert (result.verdict, result.step) == ("FAIL", 5)


async def test_since_step_on_any_order_and_a_consumed_message_is_not_taken_twice(tmp_path: Path) -> None:
    steps = """\
  - expect: BootNotification
    step: 1
  - any_order:
      - expect: StatusNotification
        step: 3
        match: {connectorId: 1, status: Preparing}
  - any_order:
      - expect: StatusNotification
        step: 7
        match: {connectorId: 1, status: {one_of: [Preparing, Finishing]}}
    since_step: 1
"""
    once = await run(tmp_path, steps, ("BootNotification", {}), status(1, "Preparing"))
    assert (once[0].verdict, once[0].step) == ("FAIL", 7)
    twice = await run(tmp_path, steps, ("BootNotification", {}), status(1, "Finishing"), status(1, "Preparing"))
    assert twice[0].verdict == "PASS", twice[0].reason


# ---------------------------------------------------------------------------------------------- one_of null
STOP_LOCAL_OR_OMITTED = """\
  - expect: StopTransaction
    step: 3
    match: {reason: {one_of: [Local, null]}}
"""


@pytest.mark.parametrize(("payload", "verdict"), [({}, "PASS"), ({"reason": "Local"}, "PASS"),
                                                  ({"reason": "Remote"}, "FAIL")])
async def test_one_of_with_null_accepts_an_omitted_field(tmp_path: Path, payload: dict[str, Any],
                                                         verdict: str) -> None:
    result, _ = await run(tmp_path, STOP_LOCAL_OR_OMITTED, ("StopTransaction", {"transactionId": 1, **payload}))
    assert result.verdict == verdict, result.reason
    if verdict == "FAIL":
        assert result.step == 3 and "'Local' or omitted" in result.reason


# ---------------------------------------------------------------------------------------------- timestamps
def test_earlier_than() -> None:
    assert satisfies("2026-01-01T10:00:04.900Z", {"earlier_than": "2026-01-01T10:00:05.000Z"})
    assert not satisfies("2026-01-01T10:00:05.000Z", {"earlier_than": "2026-01-01T10:00:05.000Z"})
    assert not satisfies("yesterday", {"earlier_than": "2026-01-01T10:00:05.000Z"})
    assert not satisfies("2026-01-01T10:00:04", {"earlier_than": "2026-01-01T10:00:05Z"}), "no offset: no instant"


def test_seconds_after_with_tolerance_and_offsets() -> None:
    after = {"seconds_after": {"than": "2026-01-01T10:00:00Z", "seconds": 5, "tolerance_s": 1.0}}
    assert satisfies("2026-01-01T10:00:05.900Z", after)
    assert satisfies("2026-01-01T11:00:04+01:00", after), "the same instant in another offset"
    assert not satisfies("2026-01-01T10:00:06.100Z", after)
    assert not satisfies("2026-01-01T09:59:55Z", after), "before is not after"
    assert "5 ± 1.0 s after 2026-01-01T10:00:00Z" in describe(after)


def test_all_of_needs_every_matcher() -> None:
    both = {"all_of": [{"earlier_than": "2026-01-01T10:00:10Z"},
                       {"seconds_after": {"than": "2026-01-01T10:00:00Z", "seconds": 5, "tolerance_s": 1}}]}
    assert satisfies("2026-01-01T10:00:05Z", both)
    assert not satisfies("2026-01-01T10:00:11Z", {"all_of": [{"earlier_than": "2026-01-01T10:00:10Z"},
                                                             {"present": True}]})
    assert not satisfies("2026-01-01T10:00:08Z", both)
    assert " and " in describe(both)


async def test_save_time_gives_an_instant_the_timestamp_matchers_compare_with(tmp_path: Path) -> None:
    steps = """\
  - action: remove_card
    save_time: acted_at
  - expect: MeterValues
    step: 1
    match: {"meterValue[0].timestamp": {earlier_than: "${acted_at}"}}
"""
    sampled_before = ("MeterValues", {"connectorId": 1, "meterValue": [{"timestamp": "2000-01-01T00:00:00Z"}]})
    result, runner = await run(tmp_path, steps, sampled_before)
    assert result.verdict == "PASS", result.reason
    assert str(runner.vars["acted_at"]).endswith("Z")
    sampled_after = ("MeterValues", {"connectorId": 1, "meterValue": [{"timestamp": "2999-01-01T00:00:00Z"}]})
    result, _ = await run(tmp_path, steps, sampled_after)
    assert (result.verdict, result.step) == ("FAIL", 1)


# ---------------------------------------------------------------------------------------------- each_connector save
async def test_each_connector_saves_from_the_configured_connector(tmp_path: Path) -> None:
    steps = """\
  - expect: StatusNotification
    step: 3
    each_connector: true
    match: {status: Available}
    configured_connector_match: {status: {one_of: [Preparing, Finishing, Charging]}}
    save: {after_boot: status}
"""
    result, runner = await run(tmp_path, steps, status(1, "Finishing"), status(0, "Available"))
    assert result.verdict == "PASS", result.reason
    assert runner.vars["after_boot"] == "Finishing"
