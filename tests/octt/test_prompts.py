"""prompts.yaml: the shipped data loads, each prompt finds its entry (quirks of a case first), and a mistake in
the data is reported with its file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchctl.config import ConfigError
from benchctl.octt.prompts import ANSWER_ONLY, ANSWER_THEN_ACT, PROMPTS_FILE, load_prompts
from octt_standin import prompts as tool_prompts

SHIPPED = PROMPTS_FILE.read_text(encoding="utf-8")


def test_every_prompt_the_stand_in_shows_is_known() -> None:
    book = load_prompts()
    texts = [tool_prompts.SETUP, tool_prompts.POWER_CYCLE, tool_prompts.PLUG_IN, tool_prompts.PRESENT_VALID,
             tool_prompts.PRESENT_INVALID, tool_prompts.UNPLUG, tool_prompts.UNPLUG_EV_SIDE,
             tool_prompts.EV_DRIVER_STOPS, tool_prompts.heartbeat_check(60, 61),
             tool_prompts.status_list([("", 1, "Preparing", "NoError", True)])]
    names = [book.find("TC_CP_V16_003", text)[0].name for text in texts]  # type: ignore[index]
    assert names == ["setup", "power_cycle", "plug_in", "present_valid", "present_invalid", "unplug",
                     "unplug_ev_side", "driver_stops", "heartbeat_interval", "expected_statuses"]
    assert book.find("TC_CP_V16_003", "Please dance") is None


def test_resume_first_then_act_and_the_case_quirks() -> None:
    book = load_prompts()
    rule, _ = book.find("TC_CP_V16_003", tool_prompts.PRESENT_VALID + "\r\n")  # type: ignore[misc]
    assert (rule.order, rule.action, rule.args) == (ANSWER_THEN_ACT, "present_id", {"id_tag": "${valid_id_tag}"})
    # TC_CP_V16_005_2: the tool asks for a card the case does not need
    quirk, _ = book.find("TC_CP_V16_005_2", tool_prompts.PRESENT_VALID)  # type: ignore[misc]
    assert (quirk.order, quirk.action, quirk.quirk is not None) == (ANSWER_ONLY, None, True)
    # TC_CP_V16_068: the first card prompt presents <Configured Valid IdTag 2>, the second the transaction's card,
    # whatever the prompts say
    first, _ = book.find("TC_CP_V16_068", tool_prompts.SWIPE_SAME_CARD, ["setup"])  # type: ignore[misc]
    second, _ = book.find("TC_CP_V16_068", tool_prompts.SWIPE_DIFFERENT_CARD,  # type: ignore[misc]
                          ["setup", "swipe_same_card"])
    assert first.args == {"id_tag": "${valid_id_tag_2}"} and second.args == {"id_tag": "${transaction_id_tag}"}
    # TC_CP_V16_069: its one card step is the group's other card, also when the prompt asks for the same card
    only, _ = book.find("TC_CP_V16_069", tool_prompts.SWIPE_SAME_CARD, [])  # type: ignore[misc]
    assert only.args == {"id_tag": "${valid_id_tag_2}"}
    assert [c.check for c in book.checks_for("TC_CP_V16_023")] == ["no_charging_current"]
    assert book.tool_case("TC_005_1_CS") == "TC_CP_V16_005_1" and book.document_case("TC_CP_V16_010") == "TC_010_CS"


@pytest.mark.parametrize("old, new, message", [
    ("    action: plug_in\n", "    action: plug_it_in\n", "unknown bench action 'plug_it_in'"),
    ('    with: {id_tag: "${invalid_id_tag}"}', '    with: {id_tag: "${bogus_tag}"}', "unknown variable ${bogus_tag}"),
    ("    order: answer_then_act\n    action: unplug\n", "    order: answer_first\n    action: unplug\n",
     "'answer_first' is not one of"),
    ("    answer: {evidence: station_idle}", "    answer: {evidence: crystal_ball}", "unknown evidence 'crystal_ball'"),
    ("    prompt: present_valid\n", "    prompt: present_vaild\n", "no prompt named 'present_vaild'"),
    ("  - name: stop_charging\n", "  - name: setup\n", "duplicate prompt name 'setup'"),
    ("    pattern: 'UnExpected StatusNotifications'", "    pattern: 'UnExpected (StatusNotifications'",
     "not a valid regular expression"),
])
def test_a_mistake_in_the_prompt_data_names_file_and_line(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in SHIPPED
    text = SHIPPED.replace(old, new, 1)
    path = tmp_path / "prompts.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_prompts(path)
    error = caught.value
    assert error.file == str(path) and message in str(error)
    changed = SHIPPED[:SHIPPED.index(old)].count("\n") + 1
    # the line of the faulty value, or of the entry that holds it
    assert error.line is not None and changed - 3 <= error.line <= changed, (error.line, changed)
    assert f"{path}:{error.line}" in str(error)


def test_an_answer_only_entry_with_an_action_is_refused(tmp_path: Path) -> None:
    text = SHIPPED.replace('    text: "Sending Remote Stop Transaction"\n    order: answer_only\n',
                           '    text: "Sending Remote Stop Transaction"\n    order: answer_only\n    action: unplug\n')
    path = tmp_path / "prompts.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"prompts\.yaml:\d+: prompts\[\d+\]\.action: order answer_only takes no "
                                          r"action"):
        load_prompts(path)
