"""Frame parsing and OCPP 1.6 schema checks never raise; they say what is wrong."""

from __future__ import annotations

import pytest

from benchctl.csms.frames import parse


@pytest.mark.parametrize(("raw", "problem"), [
    ("not json{", "not JSON"),
    ('{"a": 1}', "not an OCPP-J message array"),
    ('[9, "1", "Heartbeat", {}]', "not an OCPP-J message array"),
    ('[2, 1, "Heartbeat", {}]', "unique id is not a string"),
    ('[2, "1", "Heartbeat"]', "CALL must be"),
    ('[2, "1", "FlyToTheMoon", {}]', "unknown action 'FlyToTheMoon'"),
    ('[2, "1", "BootNotification", {"chargePointVendor": "x"}]', "'chargePointModel' is a required property"),
    ('[2, "1", "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Sleeping"}]',
     "violates the schema at status"),
    ('[3, "nobody-asked", {}]', "unknown unique id"),
])
def test_invalid_frames_are_flagged(raw: str, problem: str) -> None:
    frame = parse(raw, {})
    assert frame.error is not None and problem in frame.error


def test_binary_frames_are_flagged() -> None:
    assert "binary" in (parse(b"\x00\x01", {}).error or "")


def test_a_result_is_checked_against_the_schema_of_its_request() -> None:
    pending: dict[str, str] = {}
    request = parse('[2, "42", "RemoteStartTransaction", {"idTag": "04A1B2C3"}]', pending)
    assert request.error is None and pending == {"42": "RemoteStartTransaction"}
    bad = parse('[3, "42", {"status": "Maybe"}]', dict(pending))
    assert bad.action == "RemoteStartTransaction" and "status" in (bad.error or "")
    good = parse('[3, "42", {"status": "Accepted"}]', pending)
    assert good.error is None and pending == {}


def test_valid_call_error_is_accepted() -> None:
    pending = {"7": "Reset"}
    frame = parse('[4, "7", "NotImplemented", "no", {}]', pending)
    assert frame.error is None and frame.action == "Reset" and frame.payload["errorCode"] == "NotImplemented"
