"""Charging schedule limits are checked against `multipleOf: 0.1` as decimals: 21.4 A is a valid limit, 6.66 A
is not (the ocpp library shares its validator cache with benchctl's frame checks, so both must agree)."""

from __future__ import annotations

import pytest
from ocpp.messages import get_validator

from benchctl.csms.frames import CALL, CALLRESULT, schema_error


def _composite(limit: float) -> dict[str, object]:
    return {"status": "Accepted", "chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [
        {"startPeriod": 0, "limit": limit}]}}


def _set(limit: float) -> dict[str, object]:
    return {"connectorId": 1, "csChargingProfiles": {
        "chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute", "chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [
            {"startPeriod": 0, "limit": limit}]}}}


@pytest.mark.parametrize("limit", [6, 6.0, 0.7, 4.3, 8.7, 21.4, 13.8])
def test_limits_with_one_decimal_are_valid(limit: float) -> None:
    assert schema_error(CALLRESULT, "GetCompositeSchedule", _composite(limit)) is None
    assert schema_error(CALL, "SetChargingProfile", _set(limit)) is None


@pytest.mark.parametrize("limit", [6.66, 0.05])
def test_limits_with_more_decimals_are_not(limit: float) -> None:
    assert "multiple of 0.1" in (schema_error(CALLRESULT, "GetCompositeSchedule", _composite(limit)) or "")
    assert "multiple of 0.1" in (schema_error(CALL, "SetChargingProfile", _set(limit)) or "")


def test_the_shared_validator_cache_holds_the_decimal_schemas() -> None:
    schema_error(CALL, "SetChargingProfile", _set(6))
    validator = get_validator(CALL, "SetChargingProfile", "1.6")  # what the ocpp library gets from the cache
    limit = validator.schema["properties"]["csChargingProfiles"]["properties"]["chargingSchedule"]["properties"][
        "chargingSchedulePeriod"]["items"]["properties"]["limit"]
    assert type(limit["multipleOf"]).__name__ == "Decimal"
