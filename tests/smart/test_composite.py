"""benchctl's own composite schedule (benchctl.smart), table-driven: the document's expected schedules of
TC_066, TC_067 and TC_072 computed from their memory-state profiles, and the OCPP 1.6 rules one at a time."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from benchctl.smart.compare import compare
from benchctl.smart.composite import Limits, ProfileBook, Transaction, composite, limit_in_force
from benchctl.smart.profiles import ProfileError, Schedule, iso, parse_profile

T0 = datetime(2026, 3, 2, 10, 0, 0, tzinfo=timezone.utc)
LIMITS = Limits(local_limit_a=32.0, voltage_v=230.0, phases=3)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def wire(pid: int, purpose: str, stack: int, periods: list[tuple[int, float]], duration: int | None = None,
         kind: str = "Absolute", start: float | None = 0, valid: tuple[float, float] | None = None,
         unit: str = "A", **extra: Any) -> dict[str, Any]:
    """A csChargingProfiles object as a scenario sends it; times are seconds from T0."""
    schedule: dict[str, Any] = {"chargingRateUnit": unit,
                                "chargingSchedulePeriod": [{"startPeriod": s, "limit": v} for s, v in periods]}
    if duration is not None:
        schedule["duration"] = duration
    if start is not None:
        schedule["startSchedule"] = iso(at(start))
    profile = {"chargingProfileId": pid, "stackLevel": stack, "chargingProfilePurpose": purpose,
               "chargingProfileKind": kind, "chargingSchedule": schedule, **extra}
    if valid is not None:
        profile["validFrom"], profile["validTo"] = iso(at(valid[0])), iso(at(valid[1]))
    return profile


def book_of(*items: tuple[int, dict[str, Any]], tx: int | None = None) -> ProfileBook:
    book = ProfileBook()
    for connector, raw in items:
        book.install(parse_profile(connector, raw), transaction_id=tx if raw["chargingProfilePurpose"] == "TxProfile"
                     else None)
    return book


def periods(schedule: Schedule) -> list[tuple[float, float]]:
    return [(p.start_s, p.limit) for p in schedule.periods]


RUNNING = Transaction(1, 7, "04A1B2C3", at(-30), seq=1)

# the document's memory states, sent at T0 - 5 s (<Configured max time deviation> 5 s): the composite asked at
# T0 has its boundaries 5 s earlier than the profiles' own offsets (the document's "x")
DEV = 5
TC_066 = [(0, wire(1, "ChargePointMaxProfile", 0, [(0, 10)], 86400, start=-DEV)),
          (1, wire(2, "TxDefaultProfile", 0, [(0, 6), (60, 10), (120, 8), (180, 15), (260, 8)], 300, start=-DEV,
                   valid=(-DEV, 401 - DEV))),
          (1, wire(3, "TxProfile", 0, [(0, 8), (50, 11), (140, 16), (200, 6), (240, 12)], 260, start=-DEV,
                   valid=(-DEV, 401 - DEV), transactionId=7))]
TC_067 = [(1, wire(1, "TxDefaultProfile", 1, [(0, 6), (60, 8), (200, 10)], 400, start=-DEV)),
          (1, wire(2, "TxDefaultProfile", 0, [(0, 7), (100, 9)], 400, start=-DEV, valid=(-DEV, 401 - DEV))),
          (0, wire(3, "ChargePointMaxProfile", 0, [(0, 11), (200, 12)], 86400, start=-DEV, valid=(-DEV, 401 - DEV)))]
TC_072 = [(1, wire(1, "TxDefaultProfile", 0, [(0, 6), (100, 8), (200, 10)], 400, start=-DEV, valid=(-DEV, 401 - DEV))),
          (1, wire(2, "TxDefaultProfile", 1, [(0, 7), (100, 9)], 150, start=-DEV, valid=(-DEV, 401 - DEV)))]


@pytest.mark.parametrize(("case", "profiles", "running", "duration", "expected"), [
    # TC_066 step 2: the TxProfile overrules the default for the whole transaction, the station maximum caps it
    ("TC_066", TC_066, RUNNING, 400, [(0, 8), (50 - DEV, 10), (200 - DEV, 6), (240 - DEV, 10)]),
    # TC_067 step 4 (profile 1 cleared): the default at stack level 0 under the station maximum
    ("TC_067 step 4", TC_067[1:], None, 350, [(0, 7), (100 - DEV, 9)]),
    # TC_072 step 2: stack level 1 while its 150 s last, then stack level 0 again
    ("TC_072", TC_072, None, 350, [(0, 7), (100 - DEV, 9), (150 - DEV, 8), (200 - DEV, 10)]),
    # TC_067 with all three: stack level 1 wins over 0, the cap 11/12 does not bite
    ("TC_067 all", TC_067, None, 350, [(0, 6), (60 - DEV, 8), (200 - DEV, 10)]),
])
def test_the_documents_composite_schedules(case: str, profiles: list[tuple[int, dict[str, Any]]],
                                           running: Transaction | None, duration: int,
                                           expected: list[tuple[float, float]]) -> None:
    schedule = composite(book_of(*profiles, tx=7), 1, T0, duration, "A", running, LIMITS)
    assert periods(schedule) == expected, case
    assert schedule.duration_s == duration and schedule.unit == "A" and schedule.start == T0


def test_tc_067_after_the_second_clear_only_the_station_maximum_is_left() -> None:
    book = book_of(*TC_067)
    assert book.clear(profile_id=1) == 1
    assert book.clear(purpose="TxDefaultProfile", stack_level=0) == 1
    assert periods(composite(book, 1, T0, 350, "A", None, LIMITS)) == [(0, 11), (200 - DEV, 12)]
    assert book.clear() == 1  # step 9: everything
    assert periods(composite(book, 1, T0, 350, "A", None, LIMITS)) == [(0, 32)]  # the local limit
    assert book.clear() == 0  # nothing left: the charger answers Unknown


@pytest.mark.parametrize(("criteria", "left"), [
    ({"profile_id": 2}, [1, 3]),
    ({"profile_id": 2, "purpose": "ChargePointMaxProfile"}, [1, 3]),  # with an id, the id alone decides
    ({"connector_id": 0}, [1, 2]),
    ({"purpose": "TxDefaultProfile"}, [3]),
    ({"purpose": "TxDefaultProfile", "stack_level": 1}, [2, 3]),
    ({"stack_level": 0}, [1]),
    ({"profile_id": 99}, [1, 2, 3]),
])
def test_clear_charging_profile_criteria(criteria: dict[str, Any], left: list[int]) -> None:
    book = book_of(*TC_067)
    book.clear(**criteria)
    assert sorted(i.profile.profile_id for i in book.installed) == left


def test_a_profile_replaces_one_with_the_same_id_or_the_same_stack_level_and_purpose() -> None:
    book = book_of((1, wire(1, "TxDefaultProfile", 0, [(0, 6)])))
    book.install(parse_profile(1, wire(1, "TxDefaultProfile", 2, [(0, 8)])))  # same id
    assert [(i.profile.stack_level, i.profile.schedule.periods[0].limit) for i in book.installed] == [(2, 8)]
    book.install(parse_profile(1, wire(5, "TxDefaultProfile", 2, [(0, 9)])))  # same stack level and purpose
    assert [i.profile.profile_id for i in book.installed] == [5]
    book.install(parse_profile(0, wire(6, "TxDefaultProfile", 2, [(0, 10)])))  # another connector: both stay
    assert sorted(i.profile.profile_id for i in book.installed) == [5, 6]


def test_a_connectors_own_default_wins_a_tie_with_connector_0_and_connector_0_covers_the_others() -> None:
    book = book_of((0, wire(1, "TxDefaultProfile", 0, [(0, 10)])), (1, wire(2, "TxDefaultProfile", 0, [(0, 7)])))
    assert periods(composite(book, 1, T0, 60, "A", None, LIMITS)) == [(0, 7)]
    assert periods(composite(book, 2, T0, 60, "A", None, LIMITS)) == [(0, 10)]


def test_the_whole_charge_point_only_has_its_maximum() -> None:
    book = book_of(*TC_066, tx=7)
    assert periods(composite(book, 0, T0, 100, "A", RUNNING, LIMITS)) == [(0, 10)]


def test_a_tx_profile_only_applies_to_its_own_running_transaction() -> None:
    book = book_of((1, wire(1, "TxProfile", 0, [(0, 6)])), tx=8)
    assert periods(composite(book, 1, T0, 60, "A", RUNNING, LIMITS)) == [(0, 32)]  # RUNNING is transaction 7
    assert periods(composite(book, 1, T0, 60, "A", None, LIMITS)) == [(0, 32)]


def test_a_remote_start_profile_belongs_to_the_transaction_that_idtag_starts_afterwards() -> None:
    book = ProfileBook()
    book.install(parse_profile(1, wire(1, "TxProfile", 0, [(0, 10), (10, 6)], kind="Relative", start=None)),
                 pending_id_tag="04A1B2C3", seq=5)
    later = Transaction(1, 9, "04A1B2C3", at(-4), seq=6)
    assert periods(composite(book, 1, T0, 60, "A", later, LIMITS)) == [(0, 10), (6, 6)]  # relative to its start
    assert limit_in_force(book, 1, at(7), later, LIMITS) == 6
    earlier = Transaction(1, 9, "04A1B2C3", at(-4), seq=4)  # started before the remote start: not that one
    assert periods(composite(book, 1, T0, 60, "A", earlier, LIMITS)) == [(0, 32)]
    other_card = Transaction(1, 9, "04D4E5F6", at(-4), seq=6)
    assert periods(composite(book, 1, T0, 60, "A", other_card, LIMITS)) == [(0, 32)]


@pytest.mark.parametrize(("raw", "running", "expected"), [
    # Absolute without startSchedule: from the start of charging (the running transaction's)
    (wire(1, "TxDefaultProfile", 0, [(0, 6), (40, 8)], 100, start=None), RUNNING, [(0, 6), (10, 8), (70, 32)]),
    # ... and without a transaction from now, as for one starting now
    (wire(1, "TxDefaultProfile", 0, [(0, 6), (40, 8)], 100, start=None), None, [(0, 6), (40, 8), (100, 32)]),
    # Relative: the same
    (wire(1, "TxDefaultProfile", 0, [(0, 6), (40, 8)], 100, kind="Relative", start=None), RUNNING,
     [(0, 6), (10, 8), (70, 32)]),
    # not yet valid, then valid, then expired
    (wire(1, "TxDefaultProfile", 0, [(0, 6)], start=-100, valid=(20, 50)), None, [(0, 32), (20, 6), (50, 32)]),
    # a schedule that started before the composite, without a duration: its last period runs on
    (wire(1, "TxDefaultProfile", 0, [(0, 6), (50, 8)], start=-100), None, [(0, 8)]),
    # Daily recurring, 2 h schedule starting yesterday at 09:00: today 09:00-11:00 again
    (wire(1, "TxDefaultProfile", 0, [(0, 6), (3600, 10)], 7200, kind="Recurring", start=-86400 - 3600,
          recurrencyKind="Daily"), None, [(0, 10), (3600, 32)]),
    # a recurring profile before its first start says nothing
    (wire(1, "TxDefaultProfile", 0, [(0, 6)], 600, kind="Recurring", start=120, recurrencyKind="Weekly"), None,
     [(0, 32), (120, 6), (720, 32)]),
])
def test_kinds_validity_and_start(raw: dict[str, Any], running: Transaction | None,
                                  expected: list[tuple[float, float]]) -> None:
    book = book_of((1, raw))
    assert periods(composite(book, 1, T0, 7200, "A", running, LIMITS))[:len(expected)] == expected
    assert len(periods(composite(book, 1, T0, 7200, "A", running, LIMITS))) == len(expected)


def test_watts_and_amperes_convert_with_voltage_and_phases() -> None:
    book = book_of((0, wire(1, "ChargePointMaxProfile", 0, [(0, 11040)], unit="W")),
                   (1, wire(2, "TxDefaultProfile", 0, [(0, 20)])))
    # 11040 W over 3 phases of 230 V is 16 A: it caps the 20 A default
    assert periods(composite(book, 1, T0, 60, "A", None, LIMITS)) == [(0, 16)]
    assert periods(composite(book, 1, T0, 60, "W", None, LIMITS)) == [(0, 11040)]
    single = book_of((1, {**wire(1, "TxDefaultProfile", 0, [(0, 0)]), "chargingSchedule": {
        "chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 10, "numberPhases": 1}]}}))
    assert periods(composite(single, 1, T0, 60, "W", None, LIMITS)) == [(0, 2300)]
    assert limit_in_force(single, 1, T0, None, LIMITS) == 10


@pytest.mark.parametrize("raw", [
    {**wire(1, "TxDefaultProfile", 0, [(0, 6)]), "chargingProfileKind": "Recurring"},  # no recurrencyKind
    wire(1, "TxDefaultProfile", 0, [(10, 6), (0, 7)]),  # periods out of order
    {**wire(1, "TxDefaultProfile", 0, [(0, 6)]), "chargingProfilePurpose": "ChargingStationMaxProfile"},  # 2.0.1
])
def test_profiles_benchctl_cannot_follow_are_refused(raw: dict[str, Any]) -> None:
    with pytest.raises(ProfileError):
        parse_profile(1, raw)


def _returned(periods_: list[tuple[float, float]], duration: int = 350, unit: str = "A") -> dict[str, Any]:
    return {"duration": duration, "chargingRateUnit": unit, "startSchedule": iso(T0),
            "chargingSchedulePeriod": [{"startPeriod": s, "limit": v} for s, v in periods_]}


TC_072_EXPECTED = composite(book_of(*TC_072), 1, T0, 350, "A", None, LIMITS)


@pytest.mark.parametrize(("returned", "ok"), [
    (_returned([(0, 7), (95, 9), (145, 8), (195, 10)]), True),
    (_returned([(0, 7), (96, 9), (145, 8), (194, 10)]), True),  # boundaries a second off: clocks, whole seconds
    (_returned([(0, 7.0), (95, 9.0), (145, 8.0), (195, 10.0), (349, 32)]), True),  # a sliver at the end
    (_returned([(0, 7), (95, 9), (195, 10)]), False),  # the 150 s end of stack level 1 missed: 9 instead of 8
    (_returned([(0, 6), (95, 8), (195, 10)]), False),  # stack level 1 ignored
    (_returned([(0, 7), (105, 9), (145, 8), (195, 10)]), False),  # a boundary 10 s off
    (_returned([(10, 7), (95, 9), (145, 8), (195, 10)]), False),  # nothing for the first 10 s
    (_returned([(0, 7), (95, 9), (145, 8), (195, 10)], unit="W"), False),
])
def test_compare_forgives_only_small_shifts_at_the_computed_boundaries(returned: dict[str, Any], ok: bool) -> None:
    problems = compare(returned, TC_072_EXPECTED, tolerance_s=2)
    assert (problems == []) is ok, problems


# ------------------------------------------------------------------ a charger without a local limit
NO_LOCAL = Limits(local_limit_a=None, voltage_v=230.0, phases=3)


def test_without_a_local_limit_only_the_profiles_limit_and_the_rest_is_unknown() -> None:
    book = book_of((1, wire(1, "TxDefaultProfile", 0, [(0, 10)], 100)))
    expected = composite(book, 1, T0, 200, "A", None, NO_LOCAL)
    assert periods(expected) == [(0.0, 10.0), (100.0, None)]
    assert limit_in_force(book, 1, at(150), None, NO_LOCAL) is None
    assert periods(composite(book, 1, T0, 200, "A", None, LIMITS)) == [(0.0, 10.0), (100.0, 32.0)]


@pytest.mark.parametrize(("returned", "ok"), [
    ([{"startPeriod": 0, "limit": 10}], True),  # the last period runs on: nothing else limits it
    ([{"startPeriod": 0, "limit": 10}, {"startPeriod": 100, "limit": 32}], True),  # its connector's maximum
    ([{"startPeriod": 0, "limit": 16}], False),  # where the profile applies it is still judged
])
def test_a_stretch_without_any_limit_is_not_judged(returned: list[dict[str, Any]], ok: bool) -> None:
    book = book_of((1, wire(1, "TxDefaultProfile", 0, [(0, 10)], 100)))
    expected = composite(book, 1, T0, 200, "A", None, NO_LOCAL)
    problems = compare({"chargingRateUnit": "A", "chargingSchedulePeriod": returned}, expected, 1.0)
    assert (problems == []) is ok, problems


def test_no_profile_and_no_local_limit_accepts_an_empty_schedule() -> None:
    expected = composite(ProfileBook(), 1, T0, 350, "W", None, NO_LOCAL)
    assert compare({"chargingRateUnit": "W", "chargingSchedulePeriod": []}, expected, 1.0) == []
    with_limit = composite(ProfileBook(), 1, T0, 350, "W", None, LIMITS)
    assert compare({"chargingRateUnit": "W", "chargingSchedulePeriod": []}, with_limit, 1.0) != []
