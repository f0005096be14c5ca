"""The condition language of appendix_c.yaml: what it evaluates, and everything it refuses."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any

import pytest

from benchctl.config import ConfigError
from benchctl.config.pics import PICS_SCHEMA
from benchctl.plan.appendix_c import load_appendix_c
from benchctl.plan.conditions import Condition, compile_condition

VALUES: dict[str, Any] = {name: spec.default for name, spec in PICS_SCHEMA.fields.items()}
VALUES.update(dut_type="charging_station", product_subtype="standard", connectors=2, fixed_cable=False,
              rfid_readers="single", local_start=True, local_stop=False, authorization_cache=True,
              power_loss_stop="after_reboot", local_auth_list=False, reservation=True, smart_charging=False,
              firmware_management=False, remote_trigger=True, security_profiles=(2, 3))


class Refused(Exception):
    pass


def compile_(text: str) -> Condition:
    return compile_condition(text, PICS_SCHEMA.fields, Refused)


def holds(text: str) -> bool:
    return compile_(text).holds(VALUES)


@pytest.mark.parametrize("text, expected", [
    ("local_start", True),
    ("not local_stop", True),
    ("local_start and local_stop", False),
    ("local_stop or authorization_cache", True),
    ("local_start and (local_stop or reservation)", True),
    ('product_subtype == "standard"', True),
    ('product_subtype != "mode_1_2_only"', True),
    ("connectors >= 2", True),
    ("connectors < 2", False),
    ("connectors > 1 and connectors <= 2", True),
    ("3 in security_profiles", True),
    ("1 in security_profiles", False),
    ("1 not in security_profiles", True),
    ('rfid_readers in ["single", "one_per_evse"]', True),
    ("security_profiles == [2, 3]", True),
    ("security_profiles != []", True),
    ("fixed_cable == False", True),
])
def test_allowed_expressions_evaluate(text: str, expected: bool) -> None:
    assert holds(text) is expected


def test_names_are_collected() -> None:
    assert compile_("not fixed_cable and 2 in security_profiles").names == {"fixed_cable", "security_profiles"}


@pytest.mark.parametrize("text, words", [
    ("__import__('os').system('true')", "function call"),
    ("open('/etc/passwd')", "function call"),
    ("fixed_cable.__class__", "attribute access"),
    ("security_profiles[0] == 2", "indexing"),
    ("connectors + 1 >= 2", "arithmetic"),
    ("(lambda: True)", "lambda"),
    ("local_start if fixed_cable else local_stop", "if-expression"),
    ("(x := True)", "assignment"),
    ("f'{connectors}' == '1'", "JoinedStr"),
    ("fixed_cabel", "unknown name 'fixed_cabel'"),
    ("eval", "unknown name 'eval'"),
    ("true", "write True or False"),
    ('product_subtype == "mode12"', "'mode12' is not a possible value"),
    ('"ac" == product_subtype', "'ac' is not a possible value"),
    ("4 in security_profiles", "4 is not a possible value"),
    ('rfid_readers in ["single", "two"]', "'two' is not a possible value"),
    ("connectors", "must be true or false"),
    ("fixed_cable and connectors", "needs true/false"),
    ("not security_profiles", "needs true/false"),
    ("connectors == True", "'==' between a number and true/false"),
    ('product_subtype < "z"', "compares numbers"),
    ("fixed_cable in connectors", "needs a list on its right"),
    ("1 < connectors < 3", "one comparison at a time"),
    ("connectors is 1", "Is is not allowed"),
    ("connectors >= 1.5", "literal 1.5 not allowed"),
    ("fixed_cable == None", "literal None not allowed"),
    ("security_profiles == [1, 'a']", "mixes kinds"),
    ("security_profiles == [connectors]", "only hold literals"),
    ("-connectors < 0", "this operator"),
    ("fixed_cable and", "not a valid expression"),
    ("fixed_cable; import os", "not a valid expression"),
    ("   ", "empty"),
])
def test_everything_else_is_refused_with_a_reason(text: str, words: str) -> None:
    with pytest.raises(Refused) as caught:
        compile_(text)
    assert words in str(caught.value)


def test_evaluation_never_uses_eval(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object) -> None:
        raise AssertionError("eval() called")

    monkeypatch.setattr(builtins, "eval", refuse)
    monkeypatch.setattr(builtins, "exec", refuse)
    assert compile_("local_start and 2 in security_profiles and connectors >= 2").holds(VALUES) is True


def _appendix(tmp_path: Path, applies_if: str) -> Path:
    path = tmp_path / "appendix_c.yaml"
    path.write_text(
        "cases:\n"
        "  - id: TC_001_CS\n    section: '2.1.1'\n    title: Cold Boot\n    group: Boot\n    certification: M\n"
        "  - id: TC_003_CS\n    section: '2.2.1'\n    title: Plugin First\n    group: Start\n    certification: C\n"
        f"    applies_if: {applies_if}\n    reason: only with local start\n")
    return path


def test_a_bad_name_in_appendix_c_names_the_file_line_and_name(tmp_path: Path) -> None:
    path = _appendix(tmp_path, "local_start and fixed_cabel")
    with pytest.raises(ConfigError) as caught:
        load_appendix_c(path)
    assert str(caught.value).startswith(f"{path}:12: cases[1].applies_if: unknown name 'fixed_cabel'")


def test_unsafe_input_in_appendix_c_is_a_config_error(tmp_path: Path) -> None:
    path = _appendix(tmp_path, "\"__import__('os').system('touch pwned')\"")
    with pytest.raises(ConfigError, match="function call"):
        load_appendix_c(path)
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()


@pytest.mark.parametrize("old, new, words", [
    ("    applies_if: local_start\n    reason: only with local start\n", "", "a C case needs applies_if"),
    ("    reason: only with local start\n", "", "applies_if needs a reason"),
    ("'2.2.1'", "'2.0.1'", "keep the document order"),
    ("id: TC_003_CS", "id: TC_001_CS", "listed twice"),
    ("id: TC_003_CS", "id: TC_003_CSMS", "not a Charge Point test case id"),
    ("certification: C", "certification: X", "not one of: M, O, C"),
])
def test_appendix_c_structure_is_checked(tmp_path: Path, old: str, new: str, words: str) -> None:
    path = _appendix(tmp_path, "local_start")
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    with pytest.raises(ConfigError, match=words):
        load_appendix_c(path)
