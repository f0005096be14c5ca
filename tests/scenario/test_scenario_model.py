"""Scenario validation: every error is a ConfigError naming the file, the line and the dotted field.

Each bad file is a shipped scenario (TC_003_CS.yaml unless said otherwise) with exactly one thing changed,
written under tmp_path next to a copy of scenarios/states/, so each case isolates one error. The expected
line is looked up in the edited text, never taken from the code under test.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchctl.bench.actions import ACTIONS
from benchctl.cli import main
from benchctl.config import ConfigError
from benchctl.paths import SCENARIOS
from benchctl.scenario.model import STEP_KINDS, Step, load_scenario, load_scenarios

TC_003 = (SCENARIOS / "TC_003_CS.yaml").read_text(encoding="utf-8")
TC_010 = (SCENARIOS / "TC_010_CS.yaml").read_text(encoding="utf-8")
STATUS_CHARGING_CHILD = """\
      - expect: StatusNotification
        step: 7
        match: {status: Charging}
"""


def edit(text: str, old: str, new: str) -> str:
    """Replace `old`, which must occur exactly once, so an edit never silently misses or hits twice."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in the base text"
    return text.replace(old, new)


def line_of(text: str, marker: str) -> int:
    """1-based number of the only line containing `marker` (whole-line comments do not count)."""
    hits = [n for n, line in enumerate(text.splitlines(), start=1)
            if marker in line and not line.lstrip().startswith("#")]
    assert len(hits) == 1, f"marker {marker!r} is on lines {hits}"
    return hits[0]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A scenario folder with the shipped reusable states."""
    shutil.copytree(SCENARIOS / "states", tmp_path / "states")
    return tmp_path


def write(folder: Path, text: str, name: str = "TC_003_CS.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    return info.value


def walk(steps: list[Step]) -> list[Step]:
    out = []
    for step in steps:
        out.append(step)
        out.extend(walk(step.children))
    return out


def test_base_text_is_the_shipped_scenario() -> None:
    assert STATUS_CHARGING_CHILD in TC_003
    assert TC_003.count("  - action: plug_in\n") == 1


# (id, old, new, marker of the offending line, field, fragments the message must contain)
BAD_SCENARIOS = [
    ("unknown-step-kind",
     "  - action: plug_in\n", "  - click: plug_in\n", "click: plug_in", "steps[0]",
     ["needs exactly one of " + ", ".join(STEP_KINDS), "found none", "keys: click"]),
    ("step-with-two-kinds",
     "  - action: plug_in\n", "  - action: plug_in\n    wait: 1\n", "action: plug_in", "steps[0]",
     ["needs exactly one of", "found action, wait"]),
    ("step-that-is-not-a-mapping",
     "  - action: plug_in\n", "  - plug_in\n", "- plug_in", "steps[0]", ["a step must be a mapping"]),
    ("unknown-bench-action",
     "action: plug_in", "action: plug_it", "action: plug_it", "steps[0].action",
     ["unknown bench action 'plug_it'", "known: " + ", ".join(sorted(ACTIONS))]),
    ("unknown-bench-action-inside-any-order",
     STATUS_CHARGING_CHILD, STATUS_CHARGING_CHILD + "      - action: teleport\n", "action: teleport",
     "steps[4].any_order[2].action", ["unknown bench action 'teleport'"]),
    ("unknown-reusable-state",
     "  - action: plug_in\n", "  - state: Charged\n", "state: Charged", "steps[0].state",
     ["unknown reusable state 'Charged'", "known states: ", "Charging"]),
    ("bad-certification",
     "certification: C", "certification: X", "certification: X", "certification",
     ["'X' is not one of: M, O, C"]),
    ("certification-is-case-sensitive",
     "certification: C", "certification: c", "certification: c", "certification", ["'c' is not one of"]),
    ("id-not-matching-file-name",
     "id: TC_003_CS", "id: TC_004_CS", "id: TC_004_CS", "id",
     ["id TC_004_CS does not match the file name TC_003_CS.yaml"]),
    ("unknown-top-level-key",
     "group: Start", "grupo: x\ngroup: Start", "grupo: x", "grupo",
     ["unknown key", "certification, condition, configuration, file_server, group, id, roles, section, steps, title"]),
    ("unknown-key-in-step",
     "    match: {status: Preparing}", "    matches: {status: Preparing}", "matches:", "steps[1].matches",
     ["unknown key", "match"]),
    ("wrong-type-step-number",
     "    step: 1\n", "    step: one\n", "step: one", "steps[1].step", ["expected an integer, got str 'one'"]),
    ("wrong-type-any-order",
     "  - any_order:\n", "  - any_order: true\n  - any_order:\n", "any_order: true", "steps[4].any_order",
     ["expected a list, got bool True"]),
    ("each-connector-unknown-scope",
     "    match: {status: Preparing}", "    each_connector: stage\n    match: {status: Preparing}",
     "each_connector: stage", "steps[1].each_connector", ["expected true, false or evse, got 'stage'"]),
    ("missing-title",
     "title: Regular Charging Session - Plugin First\n", "", "id: TC_003_CS", "",
     ["missing required key 'title'"]),
    ("duplicate-key",
     "    step: 1\n", "    step: 1\n    step: 2\n", "step: 2", "steps[1].step", ["duplicate key"]),
    ("yaml-syntax-error",
     "  - action: plug_in\n", "  - action: plug_in: now\n", "plug_in: now", "",
     ["not valid YAML: mapping values are not allowed here"]),
    ("yaml-tab-indentation",
     "    step: 1\n", "\tstep: 1\n", "\tstep: 1", "", ["not valid YAML"]),
]


@pytest.mark.parametrize(("old", "new", "marker", "field", "fragments"),
                         [pytest.param(*case[1:], id=case[0]) for case in BAD_SCENARIOS])
def test_bad_scenario_is_a_config_error_naming_file_line_and_field(
        folder: Path, old: str, new: str, marker: str, field: str, fragments: list[str]) -> None:
    text = edit(TC_003, old, new)
    path = write(folder, text)

    err = load_error(path)

    assert err.file == str(path)
    assert err.field == field
    assert err.line == line_of(text, marker)
    for fragment in fragments:
        assert fragment in err.message
    assert str(err) == f"{path}:{err.line}: {field or '(top level)'}: {err.message}"


def test_any_order_with_a_non_expect_step_is_an_error_at_that_step(folder: Path) -> None:
    text = edit(TC_003, STATUS_CHARGING_CHILD, "      - action: remove_card\n        note: not an expect\n")
    path = write(folder, text)

    err = load_error(path)

    assert err.file == str(path)
    assert err.line == line_of(text, "- action: remove_card")
    assert err.message == "only expect steps may be reordered, not action"


def test_any_order_with_a_non_expect_step_names_its_dotted_path(folder: Path) -> None:
    text = edit(TC_003, STATUS_CHARGING_CHILD, "      - action: remove_card\n        note: not an expect\n")
    err = load_error(write(folder, text))
    assert err.field == "steps[4].any_order[1]"


@pytest.mark.parametrize("bad_id", ["TC_00", "TC_0", "''"])
def test_id_that_is_only_a_prefix_of_the_file_name_is_rejected(folder: Path, bad_id: str) -> None:
    text = edit(TC_003, "id: TC_003_CS", f"id: {bad_id}")
    err = load_error(write(folder, text))
    assert err.field == "id"


def test_error_inside_a_reusable_state_names_the_state_file(folder: Path) -> None:
    state_text = "state: Broken\nsection: '2.25'\nsteps:\n  - action: plug_in\n  - action: levitate\n"
    state_file = folder / "states" / "Broken.yaml"
    state_file.write_text(state_text, encoding="utf-8")
    path = write(folder, edit(TC_010, "  - state: Charging\n", "  - state: Broken\n"), "TC_010_CS.yaml")

    err = load_error(path)

    assert err.file == str(state_file)
    assert err.line == line_of(state_text, "levitate")
    assert err.field == "steps[1].action"
    assert "unknown bench action 'levitate'" in err.message


def test_state_that_includes_itself_is_an_error(folder: Path) -> None:
    (folder / "states" / "Loop.yaml").write_text("state: Loop\nsection: '2.25'\nsteps:\n  - state: Loop\n")
    path = write(folder, edit(TC_010, "  - state: Charging\n", "  - state: Loop\n"), "TC_010_CS.yaml")

    err = load_error(path)

    assert err.file == str(folder / "states" / "Loop.yaml")
    assert "includes itself (Loop -> Loop)" in err.message


def test_missing_scenario_file_names_the_file(folder: Path) -> None:
    path = folder / "TC_999_CS.yaml"
    err = load_error(path)
    assert err.file == str(path)
    assert err.line is None
    assert "cannot read" in err.message


# ------------------------------------------------------------------------------------------ positive cases


def test_every_shipped_scenario_loads_in_document_order() -> None:
    scenarios = load_scenarios(SCENARIOS)

    ids = [s.id for s in scenarios]
    assert ids[0] == "TC_001_CS" and ids.index("TC_003_CS") < ids.index("TC_010_CS")
    sections = [[int(n) for n in s.section.split(".")] for s in scenarios]
    assert sections == sorted(sections)
    for s in scenarios:
        assert Path(s.file).stem == s.id
        assert s.steps


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("TC_*.yaml")), ids=lambda p: p.stem)
def test_each_shipped_scenario_loads_on_its_own(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.id == path.stem
    assert scenario.certification in ("M", "O", "C", None)  # None: the case has no Appendix C row


def test_tc_010_expands_the_charging_state() -> None:
    scenario = load_scenario(SCENARIOS / "TC_010_CS.yaml")

    assert [s.kind for s in scenario.steps] == ["state"]
    state = scenario.steps[0]
    assert state.data["state"] == "Charging"
    assert state.children, "the state's steps were not loaded"
    sends = [s for s in walk(state.children) if s.kind == "send"]
    assert [(s.data["send"], s.number) for s in sends] == [("GetConfiguration", 1), ("RemoteStartTransaction", 5)]
    remote = sends[1]
    assert remote.data["response"] == {"status": "Accepted"}
    assert remote.file == str(SCENARIOS / "states" / "Charging.yaml")
    charging_text = (SCENARIOS / "states" / "Charging.yaml").read_text(encoding="utf-8")
    assert remote.line == line_of(charging_text, "send: RemoteStartTransaction")
    # the any_order group of the state is expanded too
    groups = [s for s in state.children if s.kind == "any_order"]
    assert [[c.number for c in g.children] for g in groups] == [[11, 13]]


@pytest.mark.parametrize(("case", "roles"), [
    ("TC_001_CS", ["mains"]),
    ("TC_003_CS", ["card", "ev"]),
    ("TC_010_CS", ["ev"]),  # plug_in inside the Charging state
])
def test_roles_are_derived_from_the_actions(case: str, roles: list[str]) -> None:
    assert load_scenario(SCENARIOS / f"{case}.yaml").roles == roles


def test_roles_written_in_the_file_are_added_to_the_derived_ones(folder: Path) -> None:
    text = edit(TC_003, "steps:\n", "roles: [meter]\nsteps:\n")
    scenario = load_scenario(write(folder, text))
    assert scenario.roles == ["card", "ev", "meter"]


def test_step_defaults_are_filled_and_lines_recorded() -> None:
    scenario = load_scenario(SCENARIOS / "TC_003_CS.yaml")
    first_expect = scenario.steps[1]
    assert first_expect.kind == "expect"
    assert first_expect.number == 1
    assert first_expect.data["each_connector"] is False
    assert first_expect.data["answer"] is None and first_expect.data["after"] is None
    assert first_expect.line == TC_003.splitlines().index("  - expect: StatusNotification") + 1
    group = scenario.steps[4]
    assert group.kind == "any_order"
    assert [c.line for c in group.children] == [
        n for n, line in enumerate(TC_003.splitlines(), start=1) if line.startswith("      - expect: ")]


# ------------------------------------------------------------------------------------------------- CLI


def test_cli_validate_bad_scenario_exits_2_and_prints_file_and_line(
        folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(folder)  # a short relative path, so the console never has to wrap it
    text = edit(TC_003, "action: plug_in", "action: plug_it")
    write(folder, text)

    status = main(["validate", "TC_003_CS.yaml"])

    out = capsys.readouterr().out
    assert status == 2
    assert f"TC_003_CS.yaml:{line_of(text, 'plug_it')}: steps[0].action: unknown bench action" in out


def test_cli_validate_yaml_syntax_error_exits_2(
        folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(folder)
    text = edit(TC_003, "  - action: plug_in\n", "  - action: plug_in: now\n")
    write(folder, text)

    status = main(["validate", "TC_003_CS.yaml"])

    out = capsys.readouterr().out
    assert status == 2
    assert f"TC_003_CS.yaml:{line_of(text, 'plug_in: now')}: (top level): not valid YAML" in out


def test_cli_validate_good_scenarios_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(SCENARIOS.glob("TC_*.yaml"))
    assert len(files) >= 3

    status = main(["validate", *map(str, files)])

    out = " ".join(capsys.readouterr().out.split())
    assert status == 0
    assert "TC_001_CS OK (6 steps)" in out
    assert "TC_003_CS OK (5 steps)" in out
    assert "TC_010_CS OK (1 steps)" in out


def test_unknown_state_parameter_names_the_with_line_and_lists_the_parameters(folder: Path) -> None:
    text = edit(TC_010, "  - state: Charging\n", "  - state: Charging\n    with: {conector_id: 1}\n")
    err = load_error(write(folder, text, "TC_010_CS.yaml"))
    assert err.line == line_of(text, "conector_id") and err.field == "steps[0].with"
    assert "no parameter conector_id" in err.message


def test_state_parameters_default_and_are_overridden(folder: Path) -> None:
    text = edit(TC_010, "  - state: Charging\n", "  - state: Charging\n    with: {id_tag_info: OTHER}\n")
    (step,) = load_scenario(write(folder, text, "TC_010_CS.yaml")).steps
    assert step.data["with"]["id_tag_info"] == "OTHER"
    (default,) = load_scenario(SCENARIOS / "TC_010_CS.yaml").steps
    assert default.data["with"]["id_tag_info"] == {"status": "Accepted"}


def test_absent_step_needs_its_window(folder: Path) -> None:
    text = edit(TC_003, "  - action: plug_in\n", "  - action: plug_in\n  - absent: Authorize\n    step: 2\n")
    err = load_error(write(folder, text))
    assert err.line == line_of(text, "absent: Authorize") and "for_s" in err.message
