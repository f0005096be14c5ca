"""What a run writes to run.json and what a report reads back are one type each: a plan entry and a
configuration key survive the round trip, and a hand-edited record is read as far as it can be."""

from __future__ import annotations

from benchctl.csms.config_key import ConfigKey
from benchctl.record.plan_entry import PlanEntry


def test_a_plan_entry_reads_back_what_the_run_wrote() -> None:
    entry = PlanEntry("TC_003_CS", "Regular charging", "2.3.1", "Core", "M", True, "mandatory", True)
    back = PlanEntry.from_record(entry.as_record())
    assert (back.id, back.title, back.section, back.certification, back.included, back.reason) == \
        ("TC_003_CS", "Regular charging", "2.3.1", "M", True, "mandatory")
    assert back.has_scenario is None  # run.json does not keep it: unknown, not guessed


def test_a_damaged_plan_entry_is_read_as_far_as_it_goes() -> None:
    back = PlanEntry.from_record({"title": None, "section": "", "included": False})
    assert (back.id, back.title, back.section, back.included, back.reason) == ("?", "", None, False, "")


def test_a_configuration_key_reads_back_what_the_run_wrote() -> None:
    key = ConfigKey("HeartbeatInterval", False, "60")
    assert ConfigKey.from_record(key.as_record()) == key
    assert ConfigKey.from_record({"key": "X", "value": 5}) == ConfigKey("X", False, "5")
    assert ConfigKey.from_record({"key": "Y", "readonly": True}) == ConfigKey("Y", True, None)
