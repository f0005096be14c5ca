"""Appendix D of the OCA certification test procedure v1.1.4: each rule with a sequence that passes and one that
fails. Observations are numbered by their position in the sequence (their capture index); an expectation's
`matched` refers to that number.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from benchctl.csms.capture import TO_CHARGER, TO_CSMS, Capture, CapturedFrame
from benchctl.csms.frames import parse
from benchctl.scenario.status_rules import (
    CHARGE_POINT_TRANSITIONS,
    CONNECTOR_TRANSITIONS,
    Allowances,
    ExpectedStatus,
    StatusObservation,
    judge_statuses,
    observations_from_frames,
)


def sns(*rows: tuple[Any, ...]) -> list[StatusObservation]:
    """(connectorId, status[, errorCode[, info]]) per notification, indexed in order."""
    return [StatusObservation(i, row[0], row[1], *(row[2:] or ("NoError",))) for i, row in enumerate(rows)]


def exp(step: int | None, connector: int | None, status: str, matched: int | None, **kw: Any) -> ExpectedStatus:
    return ExpectedStatus(step, connector, status, matched, **kw)


# TC_003_CS as the shipped scenario writes it: the connector is not pinned; Charging is awaited with StartTransaction.
def tc003(preparing: int | None, charging: int | None) -> list[ExpectedStatus]:
    return [exp(1, None, "Preparing", preparing), exp(7, None, "Charging", charging, waiting_for="StartTransaction")]


def reboot(available: int | None, waiting_for: str | None = "boot") -> list[ExpectedStatus]:
    return [exp(9, 1, "Available", available, waiting_for=waiting_for)]


WIDE = Allowances(wide_transitions=True)  # the bench value appendix_d_wide_transitions
SHARED = Allowances(evses=((1, 2), (3,)))  # PICS evses: connectors 1 and 2 on one EVSE, 3 on its own

CASES = [
    # id, case, observed, expected, options, ok, retest, failing rules, non-failing rules
    ("regular-session", "TC_003_CS", sns((1, "Preparing"), (1, "Charging")), tc003(0, 1), {},
     True, False, [], []),
    # --- missing
    ("missing-preparing", "TC_003_CS", sns((1, "Charging")), tc003(None, 0), {},
     False, False, ["D.missing"], []),
    ("missing-charging-003", "TC_003_CS", sns((1, "Preparing")), tc003(0, None), {},
     False, False, ["D.missing"], []),
    ("missing-but-optional-in-scenario", "TC_003_CS", sns((1, "Preparing")),
     [exp(1, None, "Preparing", 0), exp(7, None, "Charging", None, optional=True)], {}, True, False, [], []),
    ("missing-charging-037_1", "TC_037_1_CS", [], [exp(3, 1, "Charging", None)], {},
     True, False, [], ["D.case-exception"]),
    ("missing-charging-037_3-short-id", "037_3", [], [exp(3, 1, "Charging", None)], {},
     True, False, [], ["D.case-exception"]),
    ("unpinned-charging-missing-037_1", "TC_037_1_CS", sns((1, "SuspendedEV")),
     [exp(3, None, "Charging", None, waiting_for="StartTransaction")], {},
     True, False, [], ["D.case-exception", "D.suspended-before-transaction"]),
    ("missing-finishing-037_3-not-excused", "TC_037_3_CS", sns((1, "Charging")),
     [exp(3, 1, "Charging", 0), exp(7, 1, "Finishing", None)], {}, False, False, ["D.missing"], []),
    ("missing-finishing-038", "TC_038_CS", [], [exp(3, 1, "Finishing", None)], {},
     True, False, [], ["D.case-exception"]),
    ("missing-finishing-039", "TC_039_CS", [], [exp(None, 1, "Finishing", None)], {},
     True, False, [], ["D.case-exception"]),
    ("missing-finishing-016-before-reset", "TC_016_CS", sns((1, "Finishing")),
     [exp(5, 1, "Finishing", None), exp(9, 1, "Finishing", 0, waiting_for="boot")], {},
     True, False, [], ["D.case-exception"]),
    ("missing-finishing-016-after-reboot", "TC_016_CS", sns((1, "Finishing")),
     [exp(5, 1, "Finishing", 0), exp(9, 1, "Finishing", None, waiting_for="boot")], {},
     False, False, ["D.missing"], []),
    ("unavailable-instead-of-finishing-015", "TC_015_CS", sns((1, "Unavailable"), (1, "Preparing")),
     [exp(5, 1, "Finishing", None), exp(9, 1, "Preparing", 1, waiting_for="boot")], {},
     True, False, [], ["D.case-exception"]),
    ("neither-finishing-nor-unavailable-015", "TC_015_CS", sns((1, "Preparing")),
     [exp(5, 1, "Finishing", None), exp(9, 1, "Preparing", 0, waiting_for="boot")], {},
     False, False, ["D.missing"], []),
    ("unavailable-instead-of-finishing-not-in-016", "TC_016_CS", sns((1, "Charging"), (1, "Unavailable")),
     [exp(None, 1, "Charging", 0), exp(9, 1, "Finishing", None)], {},
     False, False, ["D.missing", "D.unexpected-status"], []),
    ("unavailable-instead-of-finishing-not-in-016-wide", "TC_016_CS", sns((1, "Charging"), (1, "Unavailable")),
     [exp(None, 1, "Charging", 0), exp(9, 1, "Finishing", None)], {"allowances": WIDE},
     False, False, ["D.missing"], ["D.legal-transition"]),
    ("firmware-stays-available-044_1", "TC_044_1_CS", sns((1, "Available")),
     [exp(None, 1, "Unavailable", None), exp(11, 1, "Available", 0, waiting_for="boot")], {},
     True, False, [], ["D.case-exception"]),
    ("unavailable-required-outside-firmware-cases", "TC_003_CS", sns((1, "Available")),
     [exp(None, 1, "Unavailable", None), exp(None, 1, "Available", 0)], {}, False, False, ["D.missing"], []),
    # --- unexpected connector
    ("unexpected-connector-2", "TC_003_CS", sns((1, "Preparing"), (2, "Preparing"), (1, "Charging")),
     tc003(0, 2), {}, False, False, ["D.unexpected-connector"], []),
    ("connector0-faulted-no-error", "TC_003_CS", sns((1, "Preparing"), (0, "Faulted"), (1, "Charging")),
     tc003(0, 2), {}, False, True, ["D.connector0-without-error"], []),
    ("connector0-faulted-with-error", "TC_003_CS",
     sns((1, "Preparing"), (0, "Faulted", "GroundFailure"), (1, "Charging")), tc003(0, 2), {},
     True, False, [], ["D.connector0-with-error"]),
    ("connector0-with-info", "TC_003_CS", sns((1, "Preparing"), (0, "Available", "NoError", "restarted"),
                                              (1, "Charging")), tc003(0, 2), {},
     True, False, [], ["D.connector0-with-error"]),
    ("connector0-retest-plus-real-failure", "TC_003_CS", sns((0, "Faulted"), (1, "Charging")), tc003(None, 1), {},
     False, False, ["D.connector0-without-error", "D.missing"], []),
    # --- duplicates
    ("exact-duplicate", "TC_003_CS", sns((1, "Preparing"), (1, "Preparing"), (1, "Charging")), tc003(0, 2), {},
     False, False, ["D.duplicate"], []),
    ("duplicate-differing-in-info", "TC_003_CS",
     sns((1, "Preparing"), (1, "Preparing", "NoError", "cable locked"), (1, "Charging")), tc003(0, 2), {},
     True, False, [], ["D.repeat-with-new-details"]),
    ("duplicate-with-empty-info", "TC_003_CS", sns((1, "Preparing"), (1, "Preparing", "NoError", ""), (1, "Charging")),
     tc003(0, 2), {}, False, False, ["D.duplicate"], []),
    ("new-details-do-not-rescue-a-wrong-status", "TC_003_CS",
     sns((1, "Preparing"), (1, "Reserved"), (1, "Reserved", "NoError", "still"), (1, "Charging")), tc003(0, 3), {},
     False, False, ["D.unexpected-status", "D.unexpected-status"], []),
    ("duplicate-across-other-connector", "TC_003_CS",
     sns((1, "Preparing"), (0, "Faulted", "OtherError"), (1, "Preparing"), (1, "Charging")), tc003(0, 3), {},
     False, False, ["D.duplicate"], ["D.connector0-with-error"]),
    # --- expected connector, unexpected status
    ("suspended-ev-while-awaiting-start", "TC_003_CS", sns((1, "SuspendedEVSE"), (1, "Charging")),
     [exp(7, 1, "Charging", 1, waiting_for="StartTransaction")], {},
     True, False, [], ["D.suspended-before-transaction"]),
    ("suspended-ev-while-awaiting-stop", "TC_068_CS", sns((1, "SuspendedEV"), (1, "Finishing")),
     [exp(5, 1, "Finishing", 1, waiting_for="StopTransaction")], {},
     True, False, [], ["D.suspended-before-transaction"]),
    ("suspended-ev-not-awaiting-a-transaction", "TC_003_CS", sns((1, "SuspendedEVSE"), (1, "Charging")),
     [exp(7, 1, "Charging", 1)], {}, False, False, ["D.unexpected-status"], []),
    ("unavailable-before-available-after-boot", "TC_001_CS", sns((1, "Unavailable"), (1, "Available")),
     reboot(1), {}, True, False, [], ["D.unavailable-before-boot-available"]),
    ("unavailable-before-available-no-boot", "TC_001_CS", sns((1, "Unavailable"), (1, "Available")),
     reboot(1, waiting_for=None), {}, False, False, ["D.unexpected-status"], []),
    # An earlier (optional, absent) boot expectation is no longer what the tool waits for once later ones matched.
    ("boot-allowance-over-after-later-steps", "TC_003_CS", sns((1, "Preparing"), (1, "Unavailable"), (1, "Charging")),
     [exp(9, 1, "Available", None, optional=True, waiting_for="boot"), *tc003(0, 2)], {},
     False, False, ["D.unexpected-status"], []),
    # Appendix D names only the two allowances above: a legal OCPP transition alone is not one of them ...
    ("legal-intermediate-transition", "TC_003_CS",
     sns((1, "Preparing"), (1, "Available"), (1, "Preparing"), (1, "Charging")),
     tc003(0, 3), {}, False, False, ["D.unexpected-status", "D.unexpected-status"], []),
    # ... unless the bench asks for the wider reading, and then each use is a finding
    ("legal-intermediate-transition-wide", "TC_003_CS",
     sns((1, "Preparing"), (1, "Available"), (1, "Preparing"), (1, "Charging")),
     tc003(0, 3), {"allowances": WIDE}, True, False, [], ["D.legal-transition"]),
    ("illegal-intermediate-transition-wide", "TC_003_CS", sns((1, "Preparing"), (1, "Reserved"), (1, "Charging")),
     tc003(0, 2), {"allowances": WIDE}, False, False, ["D.unexpected-status"], []),
    # section 1.2 of the test case document: Charging before StartTransaction, Finishing before StopTransaction
    ("charging-before-start-transaction", "TC_037_2_CS", sns((1, "Charging"), (1, "SuspendedEVSE")),
     [exp(3, 1, "Charging", None, optional=True, waiting_for="StartTransaction"), exp(5, 1, "SuspendedEVSE", 1)],
     {}, True, False, [], ["D.reversed-with-transaction"]),
    ("finishing-before-stop-transaction", "TC_068_CS", sns((1, "Charging"), (1, "Finishing"), (1, "Available")),
     [exp(1, 1, "Charging", 0), exp(5, 1, "Available", 2, waiting_for="StopTransaction")], {},
     True, False, [], ["D.reversed-with-transaction"]),
    ("preparing-is-not-reversible", "TC_003_CS", sns((1, "Preparing"), (1, "Available"), (1, "Charging")),
     [exp(1, 1, "Preparing", 0), exp(7, 1, "Charging", 2, waiting_for="StartTransaction")], {},
     False, False, ["D.unexpected-status"], []),
    ("illegal-intermediate-transition", "TC_003_CS", sns((1, "Preparing"), (1, "Reserved"), (1, "Charging")),
     tc003(0, 2), {}, False, False, ["D.unexpected-status"], []),
    ("legal-transition-after-last-expectation", "TC_003_CS",
     sns((1, "Preparing"), (1, "Charging"), (1, "SuspendedEV")), tc003(0, 1), {},
     False, False, ["D.unexpected-status"], []),
    # --- Mode 1/2-only flow: the engine matched step 1 to the Preparing after the short power flow
    ("mode12-flow", "TC_003_CS",
     sns((1, "Preparing"), (1, "Available"), (1, "Preparing"), (1, "Charging")),
     tc003(2, 3), {"allowances": Allowances(mode12_only=True)}, True, False, [], ["D.mode12-flow"]),
    ("mode12-flow-not-a-mode12-station", "TC_003_CS",
     sns((1, "Preparing"), (1, "Available"), (1, "Preparing"), (1, "Charging")),
     tc003(2, 3), {}, False, False, ["D.unexpected-status", "D.unexpected-status"], []),
    # --- reservation, connectors 1 and 2 on one EVSE
    ("reservation-other-connector", "TC_046_1_CS", sns((1, "Reserved"), (2, "Reserved"), (2, "Unavailable")),
     [exp(3, 1, "Reserved", 0)], {"reservation_case": True, "allowances": SHARED},
     True, False, [], ["D.reservation-other-connector"]),
    ("reservation-other-connector-charging", "TC_046_1_CS", sns((1, "Reserved"), (2, "Charging")),
     [exp(3, 1, "Reserved", 0)], {"reservation_case": True, "allowances": SHARED},
     False, False, ["D.unexpected-connector"], []),
    ("reservation-connector-on-another-evse", "TC_046_1_CS", sns((1, "Reserved"), (3, "Reserved")),
     [exp(3, 1, "Reserved", 0)], {"reservation_case": True, "allowances": SHARED},
     False, False, ["D.unexpected-connector"], []),
    ("not-a-reservation-case", "TC_003_CS", sns((1, "Reserved"), (2, "Reserved")),
     [exp(3, 1, "Reserved", 0)], {"allowances": SHARED}, False, False, ["D.unexpected-connector"], []),
]


@pytest.mark.parametrize("case_id, observed, expected, options, ok, retest, failing, allowed",
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_appendix_d_rules(case_id: str, observed: list[StatusObservation], expected: list[ExpectedStatus],
                          options: dict[str, Any], ok: bool, retest: bool, failing: list[str],
                          allowed: list[str]) -> None:
    verdict = judge_statuses(case_id, observed, expected, **options)
    assert sorted(f.rule for f in verdict.findings if f.fail) == sorted(failing), verdict.findings
    assert {f.rule for f in verdict.findings if not f.fail} == set(allowed), verdict.findings
    assert (verdict.ok, verdict.retest) == (ok, retest)


@pytest.mark.parametrize("before, after, legal", [
    ("Available", "Finishing", False),  # A6 is not in the OCPP 1.6 table
    ("Finishing", "Preparing", True),  # F2: the user starts again
    ("Finishing", "Charging", False),
    ("Preparing", "Reserved", False),
    ("Reserved", "Preparing", True),
])
def test_transition_table_cells(before: str, after: str, legal: bool) -> None:
    verdict = judge_statuses("TC_003_CS", sns((1, before), (1, after), (1, "Available")),
                             [exp(1, 1, before, 0), exp(2, 1, "Available", 2)], allowances=WIDE)
    assert verdict.ok is legal, verdict.findings


def test_no_status_transitions_to_itself() -> None:
    assert all(status not in targets for table in (CONNECTOR_TRANSITIONS, CHARGE_POINT_TRANSITIONS)
               for status, targets in table.items())


def test_findings_name_the_frames_and_the_step() -> None:
    verdict = judge_statuses("TC_003_CS", sns((1, "Preparing"), (2, "Preparing"), (1, "Preparing")),
                             [exp(1, None, "Preparing", 0), exp(7, 1, "Charging", None)])
    by_rule = {f.rule: f for f in verdict.findings}
    assert by_rule["D.missing"].frames == []
    assert "step 7" in by_rule["D.missing"].message and "Charging" in by_rule["D.missing"].message
    assert by_rule["D.unexpected-connector"].frames == [1]
    assert "frame #1" in by_rule["D.unexpected-connector"].message
    # the duplicate is judged per connector: frame 1 on connector 2 sits between the two
    assert by_rule["D.duplicate"].frames == [0, 2]


def test_substitute_is_taken_once_and_only_on_its_connector() -> None:
    # Two connectors each missing Finishing in 015, only connector 2 reported Unavailable.
    verdict = judge_statuses("TC_015_CS", sns((2, "Unavailable")),
                             [exp(5, 1, "Finishing", None), exp(5, 2, "Finishing", None)])
    assert [(f.rule, f.frames) for f in verdict.findings] == [("D.missing", []), ("D.case-exception", [0])]
    assert not verdict.ok


def test_matched_frame_must_be_observed() -> None:
    with pytest.raises(ValueError, match="#5"):
        judge_statuses("TC_003_CS", sns((1, "Preparing")), tc003(0, 5))


def test_as_record_shape() -> None:
    verdict = judge_statuses("TC_003_CS", sns((1, "Preparing"), (0, "Faulted"), (1, "Charging")), tc003(0, 2))
    record = verdict.as_record()
    assert json.loads(json.dumps(record)) == record
    assert record["ok"] is False and record["retest"] is True
    assert record["findings"] == [{"rule": "D.connector0-without-error", "message": record["findings"][0]["message"],
                                   "frames": [1], "fail": True, "retest": True}]
    assert set(judge_statuses("TC_003_CS", [], []).as_record()) == {"ok", "retest", "findings"}


# ---------------------------------------------------------------------- building observations from a capture
def capture(*messages: tuple[str, list[Any]]) -> list[CapturedFrame]:
    """Real frames through the real parser, as the CSMS link records them."""
    cap, pending = Capture(None), {}
    for direction, message in messages:
        cap.add(direction, "CP_1", parse(json.dumps(message), pending))
    return cap.read()


def status_call(uid: str, connector: Any, status: str, error: str = "NoError", **extra: Any) -> list[Any]:
    return [2, uid, "StatusNotification", {"connectorId": connector, "status": status, "errorCode": error, **extra}]


def test_observations_from_frames_keeps_only_charger_status_requests() -> None:
    frames = capture(
        (TO_CSMS, [2, "b1", "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}]),
        (TO_CHARGER, [3, "b1", {"status": "Accepted", "currentTime": "2024-01-01T00:00:00Z", "interval": 300}]),
        (TO_CSMS, status_call("s1", 1, "Preparing")),
        (TO_CHARGER, [3, "s1", {}]),
        (TO_CSMS, status_call("s2", 0, "Faulted", "OtherError", info="door open", vendorErrorCode="E42")),
        (TO_CHARGER, [3, "s2", {}]),
        (TO_CHARGER, [2, "t1", "TriggerMessage", {"requestedMessage": "StatusNotification", "connectorId": 1}]),
        (TO_CSMS, [3, "t1", {"status": "Accepted"}]),
        (TO_CSMS, status_call("s3", "1", "Charging")),  # schema violation: judged elsewhere, no status to judge
    )
    assert frames[8].frame.error is not None
    assert observations_from_frames(frames) == [
        StatusObservation(2, 1, "Preparing", "NoError"),
        StatusObservation(4, 0, "Faulted", "OtherError", "door open", "E42"),
    ]


def test_capture_to_verdict() -> None:
    frames = capture(
        (TO_CSMS, status_call("s1", 1, "Preparing")),
        (TO_CHARGER, [3, "s1", {}]),
        (TO_CSMS, status_call("s2", 1, "SuspendedEV")),
        (TO_CHARGER, [3, "s2", {}]),
        (TO_CSMS, status_call("s3", 1, "Charging")),
        (TO_CHARGER, [3, "s3", {}]),
        (TO_CSMS, status_call("s4", 1, "Charging")),
    )
    verdict = judge_statuses("TC_003_CS", observations_from_frames(frames), tc003(0, 4))
    assert [(f.rule, f.frames, f.fail) for f in verdict.findings] == [
        ("D.suspended-before-transaction", [2], False), ("D.duplicate", [4, 6], True)]
    assert not verdict.ok and not verdict.retest


# ---------------------------------------------------------------------- statuses queued offline (issue 14, (a))
RECONNECT = 1000.0  # the charger's connection of the case was accepted then (epoch seconds)


def queued(index: int, connector: int, status: str, stamped: float, received: float = RECONNECT + 1) -> \
        StatusObservation:
    return StatusObservation(index, connector, status, "NoError", timestamp=stamped, received=received)


def test_a_legal_chain_queued_offline_and_replayed_is_valid() -> None:
    # the offline part of TC_039: no StatusNotification expected, the whole session comes after the reconnection
    observed = [queued(0, 1, "Preparing", 900), queued(1, 1, "Charging", 910), queued(2, 1, "Finishing", 920),
                queued(3, 1, "Available", 930)]
    verdict = judge_statuses("TC_039_CS", observed, [], reconnected=[RECONNECT])
    assert verdict.ok, verdict.findings
    assert [f.rule for f in verdict.findings] == ["D.offline-replay"] * 4
    assert "queued while the charger was offline" in verdict.findings[0].message


def test_without_the_reconnection_the_same_frames_are_unexpected() -> None:
    observed = [queued(0, 1, "Preparing", 900), queued(1, 1, "Charging", 910)]
    verdict = judge_statuses("TC_039_CS", observed, [])
    assert [f.rule for f in verdict.findings if f.fail] == ["D.unexpected-connector"] * 2


@pytest.mark.parametrize("observed, failing", [
    # stamped after the connection it came on: sent live, not queued
    ([queued(0, 1, "Preparing", RECONNECT + 0.5)], ["D.unexpected-connector"]),
    # Available -> Finishing is no OCPP 1.6 transition, so the chain breaks there
    ([queued(0, 1, "Finishing", 900)], ["D.unexpected-connector"]),
    # out of time order: Charging stamped before the Preparing sent before it
    ([queued(0, 1, "Preparing", 905), queued(1, 1, "Charging", 900)], ["D.unexpected-connector"]),
    # a replay is no excuse for an exact duplicate
    ([queued(0, 1, "Preparing", 900), queued(1, 1, "Preparing", 901)], ["D.duplicate"]),
])
def test_a_replay_must_be_queued_legal_and_in_order(observed: list[StatusObservation], failing: list[str]) -> None:
    verdict = judge_statuses("TC_039_CS", observed, [], reconnected=[RECONNECT])
    assert [f.rule for f in verdict.findings if f.fail] == failing, verdict.findings


def test_replay_in_037_2_before_the_live_suspended_evse() -> None:
    # Preparing and Charging queued offline, StartTransaction answered Invalid, then SuspendedEVSE live
    observed = [queued(0, 1, "Preparing", 900), queued(1, 1, "Charging", 910),
                queued(2, 1, "SuspendedEVSE", RECONNECT + 2, received=RECONNECT + 2)]
    expected = [exp(3, 1, "Charging", 1, optional=True, waiting_for="StartTransaction"), exp(5, 1, "SuspendedEVSE", 2)]
    verdict = judge_statuses("TC_037_2_CS", observed, expected, reconnected=[RECONNECT])
    assert verdict.ok and [f.rule for f in verdict.findings] == ["D.offline-replay"], verdict.findings


def test_observations_carry_the_timestamp_and_the_arrival() -> None:
    frames = capture((TO_CSMS, status_call("s1", 1, "Preparing", timestamp="2024-01-01T00:00:01.500Z")),
                     (TO_CSMS, status_call("s2", 1, "Charging", timestamp="not a time")))
    first, second = observations_from_frames(frames)
    assert first.timestamp == 1704067201.5 and first.received == frames[0].wall
    assert second.timestamp is None


# ---------------------------------------------------------------------- retest only where Appendix D says so (d)
@pytest.mark.parametrize("observed, expected, retest", [
    (sns((1, "Preparing"), (1, "Preparing"), (1, "Charging")), tc003(0, 2), False),  # duplicate
    (sns((1, "Preparing"), (2, "Preparing"), (1, "Charging")), tc003(0, 2), False),  # another connector
    (sns((1, "Charging")), tc003(None, 0), False),  # missing
    (sns((1, "Preparing"), (0, "Unavailable"), (1, "Charging")), tc003(0, 2), True),  # connector 0, no error
])
def test_retest_is_decided_by_the_findings(observed: list[StatusObservation], expected: list[ExpectedStatus],
                                           retest: bool) -> None:
    verdict = judge_statuses("TC_003_CS", observed, expected)
    assert not verdict.ok and verdict.retest is retest
    assert all(f.retest is (f.rule == "D.connector0-without-error") for f in verdict.findings if f.fail)
