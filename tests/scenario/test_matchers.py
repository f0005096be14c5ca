"""Field matchers of the scenario language: plain values and the operators the document's validations need
("status is Unlocked OR NotSupported", "the idTag is present", "is different from")."""

from __future__ import annotations

import pytest

from benchctl.scenario.values import describe, mismatches

PAYLOAD = {"status": "Unlocked", "idTag": "04A1B2C3", "meterValue": [{"sampledValue": [{"value": "12"}]}]}


@pytest.mark.parametrize(("match", "problems"), [
    ({"status": "Unlocked"}, []),
    ({"status": "NotSupported"}, ["status is 'Unlocked', expected 'NotSupported'"]),
    ({"status": {"one_of": ["Unlocked", "NotSupported"]}}, []),
    ({"status": {"one_of": ["UnlockFailed", "NotSupported"]}},
     ["status is 'Unlocked', expected 'UnlockFailed' or 'NotSupported'"]),
    ({"idTag": {"present": True}}, []),
    ({"reason": {"present": True}}, ["reason is missing, expected present"]),
    ({"reason": {"present": False}}, []),
    ({"idTag": {"present": False}}, ["idTag is '04A1B2C3', expected absent"]),
    ({"idTag": {"not": "0BADCAFE"}}, []),
    ({"idTag": {"not": "04A1B2C3"}}, ["idTag is '04A1B2C3', expected not '04A1B2C3'"]),
    ({"reason": {"not": "Local"}}, []),  # absent is "not Local"
    ({"meterValue[0].sampledValue[0].value": "12"}, []),
])
def test_matchers(match: dict, problems: list[str]) -> None:
    assert mismatches(PAYLOAD, match) == problems


def test_a_mapping_with_other_keys_is_a_plain_value() -> None:
    assert describe({"status": "Accepted"}) == "{'status': 'Accepted'}"
    assert mismatches({"idTagInfo": {"status": "Accepted"}}, {"idTagInfo": {"status": "Accepted"}}) == []


@pytest.mark.parametrize(("duration", "ok"), [(300, True), (299, True), (295, True), (294, False), (306, False),
                                              ("300", False), (None, False)])
def test_near_allows_a_running_clock_its_deviation(duration: object, ok: bool) -> None:
    """TC_059: a charger that counts the composite schedule's duration from when it got the request answers 299."""
    response = {"chargingSchedule": {} if duration is None else {"duration": duration}}
    match = {"chargingSchedule.duration": {"near": {"value": "300", "tolerance": 5.0}}}
    assert (mismatches(response, match) == []) is ok
    if not ok and duration is not None:
        assert mismatches(response, match) == [f"chargingSchedule.duration is {duration!r}, expected 300 ± 5.0"]


@pytest.mark.parametrize(("path", "problem"), [
    ("configurationKey[key=ConnectorPhaseRotation].readonly",
     "configurationKey has no entry with key ConnectorPhaseRotation "
     "(expected configurationKey[key=ConnectorPhaseRotation].readonly False)"),
    ("configurationKey[3].readonly", "configurationKey has no item 3 (expected configurationKey[3].readonly False)"),
    ("unknownKey[0].x", "unknownKey is missing (expected unknownKey[0].x False)"),
    ("configurationKey[key=HeartbeatInterval].value", "configurationKey[key=HeartbeatInterval].value is missing, "
                                                      "expected False"),
])
def test_a_missing_field_names_what_is_missing(path: str, problem: str) -> None:
    """TC_019: a charger without a required key is told the key is missing, not that its readonly is."""
    response = {"configurationKey": [{"key": "HeartbeatInterval", "readonly": False}]}
    assert mismatches(response, {path: False}) == [problem]
