"""Answers from benchctl's own evidence: the capture, the EV emulator's state, the bench's step log. Each answer
carries its reason and its frames; a list benchctl cannot read entirely is answered No."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

import pytest

from benchctl.bench.bench import Bench
from benchctl.bench.config import BenchConfig
from benchctl.csms.capture import TO_CHARGER, TO_CSMS, Capture, CapturedFrame
from benchctl.csms.frames import parse
from benchctl.octt import station_facts
from benchctl.octt.evidence import Evidence, ListError, parse_status_list
from benchctl.octt.prompts import load_prompts
from benchctl.scenario.status_rules import Allowances
from drivers.steplog import Step, StepLog
from octt_standin import prompts as tool_prompts

CASE = "TC_010_CS"


class Traffic:
    """A capture filled with real frames at chosen times, as the proxy would have captured them."""

    def __init__(self) -> None:
        self.capture = Capture(None)
        self.pending: dict[str, str] = {}
        self.t = 1000.0
        self.n = 0
        self.case = CASE

    def call(self, action: str, payload: dict[str, Any], at: float | None = None) -> CapturedFrame:
        self.n += 1
        return self._add(TO_CSMS, [2, f"c{self.n}", action, payload], at)

    def answer(self, request: CapturedFrame, payload: dict[str, Any]) -> CapturedFrame:
        return self._add(TO_CHARGER, [3, request.frame.unique_id, payload], None)

    def status(self, status: str, connector: int = 1, error: str = "NoError") -> CapturedFrame:
        frame = self.call("StatusNotification", {"connectorId": connector, "status": status, "errorCode": error})
        self.answer(frame, {})
        return frame

    def _add(self, direction: str, message: list[Any], at: float | None) -> CapturedFrame:
        self.t = at if at is not None else self.t + 0.1
        frame = parse(json.dumps(message), self.pending)
        assert frame.error is None, frame.error
        self.capture.case = self.case
        return self.capture.add(direction, "SIM-CP-1", frame, wall=time.time() - 1000 + self.t, mono=self.t)


@pytest.fixture
def traffic() -> Traffic:
    return Traffic()


def evidence(traffic: Traffic, config: BenchConfig, steps: list[Step] | None = None) -> Evidence:
    bench = Bench(config, {}, StepLog(steps=list(steps or [])))  # no gear: the capture and the step log alone
    ev = Evidence(traffic.capture, bench, config.values, load_prompts())
    ev.case = CASE
    return ev


def start_transaction(traffic: Traffic, tag: str = "04A1B2C3", transaction_id: int = 7) -> None:
    start = traffic.call("StartTransaction", {"connectorId": 1, "idTag": tag, "meterStart": 0,
                                              "timestamp": "2025-01-01T00:00:00Z"})
    traffic.answer(start, {"transactionId": transaction_id, "idTagInfo": {"status": "Accepted"}})


def test_the_expected_list_is_yes_only_when_every_entry_came_and_is_in_the_capture(traffic: Traffic,
                                                                                     sim_config: BenchConfig) -> None:
    preparing, charging = traffic.status("Preparing"), traffic.status("Charging")
    ev = evidence(traffic, sim_config)
    listed = tool_prompts.status_list([("", 1, "Preparing", "NoError", True), ("", 1, "Charging", "NoError", True)])
    answer = ev.expected_statuses(listed)
    assert answer.yes and answer.frames == [preparing.index, charging.index]
    # the tool says it did not receive one
    answer = ev.expected_statuses(tool_prompts.status_list([("", 1, "Preparing", "NoError", True),
                                                            ("", 1, "SuspendedEVSE", "NoError", False)]))
    assert not answer.yes and "did not receive line 6 StatusNotification(connector 1, SuspendedEVSE" in answer.reason
    # the tool says it did, the capture disagrees: No, and why
    answer = ev.expected_statuses(tool_prompts.status_list([("", 1, "Finishing", "NoError", True)]))
    assert not answer.yes and "Finishing" in answer.reason and "capture of this case has no such" in answer.reason


def test_a_list_that_cannot_be_read_entirely_is_answered_no(traffic: Traffic, sim_config: BenchConfig) -> None:
    # an entry in a layout benchctl does not know (one line, no "ConnectorId :") is not passed over as a note
    listed = tool_prompts.status_list([("", 1, "Preparing", "NoError", True)]) + "Connector 1 CHARGING NO_ERROR\n"
    with pytest.raises(ListError, match="line 8 is not an entry benchctl can read: 'Connector 1 CHARGING NO_ERROR'"):
        parse_status_list(listed, load_prompts())
    answer = evidence(traffic, sim_config).expected_statuses(listed)
    assert not answer.yes and "cannot read the tool's list" in answer.reason
    bad_status = tool_prompts.status_list([("", 1, "Preparing", "NoError", True)]).replace("PREPARING", "SLEEPING")
    with pytest.raises(ListError, match="'SLEEPING' is not an OCPP 1.6 connector status"):
        parse_status_list(bad_status, load_prompts())


def test_charging_listed_as_unexpected_is_allowed_while_energy_flows_in_a_transaction(
        traffic: Traffic, sim_config: BenchConfig) -> None:
    traffic.status("Preparing")
    start_transaction(traffic)
    charging = traffic.status("Charging")
    listed = tool_prompts.status_list([("", 1, "Charging", "NoError", True)]).replace("Expected", "UnExpected", 1)
    flowing = [Step("ev", "set_plug", {"connected": True}, charging.wall - 5, 0.01),
               Step("ev", "set_cp_state", {"state": "C"}, charging.wall - 4, 0.01)]
    answer = evidence(traffic, sim_config, flowing).unexpected_statuses(listed)
    assert answer.yes and answer.frames == [charging.index]
    assert f"frame #{charging.index} Charging while energy flows" in answer.reason
    # the EV was never set to draw current: nothing makes it valid by itself, Appendix D decides
    answer = evidence(traffic, sim_config, flowing[:1]).unexpected_statuses(listed)
    assert "energy flows" not in answer.reason


def test_a_charging_notification_older_than_the_facts_keep_is_judged_from_the_capture(
        traffic: Traffic, sim_config: BenchConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    """The facts keep the open transactions of the latest Charging notifications only; an older one is judged
    from the capture read back, with the same answer."""
    monkeypatch.setattr(station_facts, "RECENT", 1)
    start_transaction(traffic)
    charging = traffic.status("Charging")
    flowing = [Step("ev", "set_plug", {"connected": True}, charging.wall - 5, 0.01),
               Step("ev", "set_cp_state", {"state": "C"}, charging.wall - 4, 0.01)]
    ev = evidence(traffic, sim_config, flowing)
    traffic.status("Charging", connector=2)  # pushes connector 1's out of the facts
    assert charging.index not in ev.facts.open_at
    listed = tool_prompts.status_list([("", 1, "Charging", "NoError", True)]).replace("Expected", "UnExpected", 1)
    answer = ev.unexpected_statuses(listed)
    assert f"frame #{charging.index} Charging while energy flows" in answer.reason, answer.reason


def test_an_unexpected_exact_repeat_is_invalid_by_appendix_d(traffic: Traffic, sim_config: BenchConfig) -> None:
    traffic.status("Preparing")
    repeat = traffic.status("Preparing")
    # the tool prints when it received each one: that picks the frame among equal ones
    stamp = datetime.fromtimestamp(repeat.wall).astimezone().isoformat(timespec="milliseconds")
    listed = tool_prompts.status_list([(stamp, 1, "Preparing", "NoError", True)]).replace("Expected", "UnExpected", 1)
    ev = evidence(traffic, sim_config)
    answer = ev.unexpected_statuses(listed)
    assert not answer.yes and "D.duplicate" in answer.reason and answer.frames == [repeat.index]
    # one the capture never saw cannot be judged: No
    answer = ev.unexpected_statuses(listed.replace("PREPARING", "FAULTED"))
    assert not answer.yes and "not in the capture of this case" in answer.reason


def test_intervals_are_judged_on_the_tools_figures_and_on_the_capture(traffic: Traffic,
                                                                      sim_config: BenchConfig) -> None:
    tolerance = sim_config.values["timing_tolerance_s"]
    traffic.call("Heartbeat", {}, at=2000.0)
    traffic.call("Heartbeat", {}, at=2003.0)
    ev = evidence(traffic, sim_config)
    yes = ev.interval("Heartbeat", 3, 3)
    assert yes.yes and "the capture 3.00 s" in yes.reason and len(yes.frames) == 2
    assert not ev.interval("Heartbeat", 3, 3 + tolerance + 1).yes  # the tool's own figure is off
    late = ev.interval("Heartbeat", 1, 1)  # the tool's figures agree, the capture does not
    assert not late.yes and "the capture 3.00 s" in late.reason


async def test_connector_available_comes_from_the_last_status_notification(traffic: Traffic,
                                                                           sim_config: BenchConfig) -> None:
    traffic.status("Preparing")
    ev = evidence(traffic, sim_config)
    answer = await ev.connector_available(1)
    assert not answer.yes and "last reported Preparing" in answer.reason
    available = traffic.status("Available")
    answer = await ev.connector_available(1)
    assert answer.yes and answer.frames == [available.index]
    start_transaction(traffic, tag="04D4E5F6", transaction_id=42)
    assert ev.variables()["transaction_id_tag"] == "04D4E5F6" and ev.last_transaction()[0] == 42


# A layout the stand-in tool does not print: the title, a column header, blank lines, entries, a footer note.
OTHER_LAYOUT = """Expected StatusNotifications
Received at - Connector - Status - Error code - Info - Received

2025-01-01T10:00:00.000+01:00  - ConnectorId : 1  -  PREPARING  -
NO_ERROR - N/A - Yes


2025-01-01T10:00:02.000+01:00  - ConnectorId : 1  -  CHARGING  -
NO_ERROR - N/A - Yes

Note: statuses marked No were not received within the timeout.
Click 'Yes' if the list is as expected.
"""


def test_header_and_footer_lines_around_the_entries_are_passed_over(traffic: Traffic,
                                                                    sim_config: BenchConfig) -> None:
    listed = parse_status_list(OTHER_LAYOUT, load_prompts())
    assert [(e.line, e.connector_id, e.status, e.error_code, e.received) for e in listed] == \
        [(4, 1, "Preparing", "NoError", True), (8, 1, "Charging", "NoError", True)]
    preparing, charging = traffic.status("Preparing"), traffic.status("Charging")
    answer = evidence(traffic, sim_config).expected_statuses(OTHER_LAYOUT)
    assert answer.yes and answer.frames == [preparing.index, charging.index], answer.reason
    # still refused: an entry whose status is no OCPP status, and an entry cut short (its second line lost)
    with pytest.raises(ListError, match="'SLEEPING' is not an OCPP 1.6 connector status"):
        parse_status_list(OTHER_LAYOUT.replace("CHARGING", "SLEEPING"), load_prompts())
    cut = OTHER_LAYOUT.replace("NO_ERROR - N/A - Yes\n\n\n", "\n\n\n", 1)
    with pytest.raises(ListError, match="line 4 is not an entry benchctl can read"):
        parse_status_list(cut, load_prompts())
    assert not evidence(traffic, sim_config).expected_statuses(cut).yes


@pytest.mark.parametrize(("evses", "reservation_case", "yes"), [
    (((1, 2),), True, True),  # PICS: both connectors on one EVSE, in a Reservation case: Appendix D allows it
    ((), True, False),  # the PICS does not say they share an EVSE
    (((1, 2),), False, False),  # the allowance is the Reservation cases' only
])
def test_the_other_connector_of_a_reserved_evse_is_judged_with_the_pics_allowance(
        traffic: Traffic, sim_config: BenchConfig, evses: tuple[tuple[int, ...], ...], reservation_case: bool,
        yes: bool) -> None:
    """TC_046_1 on a station whose two connectors share an EVSE: the tool lists connector 2's Unavailable as
    unexpected; benchctl judges it with the Appendix D allowances of the station's PICS, as `benchctl run` does."""
    traffic.case = "TC_046_1_CS"
    traffic.status("Reserved", connector=1)
    other = traffic.status("Unavailable", connector=2)
    ev = Evidence(traffic.capture, None, sim_config.values, load_prompts(), allowances=Allowances(evses=evses))
    ev.case, ev.reservation_case = "TC_046_1_CS", reservation_case
    listed = tool_prompts.status_list([("", 2, "Unavailable", "NoError", True)]).replace("Expected", "UnExpected", 1)
    answer = ev.unexpected_statuses(listed)
    assert answer.yes is yes, answer.reason
    assert answer.frames == [other.index]
