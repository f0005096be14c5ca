"""Test plans: appendix_c.yaml covers the catalogue, and make_plan puts the right cases in for each station."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from benchctl.config import ConfigError
from benchctl.config.pics import PICS_SCHEMA, Pics, load_pics
from benchctl.paths import ROOT, SCENARIOS
from benchctl.plan.appendix_c import load_appendix_c, section_key
from benchctl.plan.command import add_plan_parser, cmd_plan
from benchctl.plan.plan import make_plan, plan_as_records
from benchctl.record.plan_entry import PlanEntry
from benchctl.scenario.model import Scenario, load_scenario, load_scenarios

PICS_DIR = ROOT / "pics"

# The 102 Charge Point test cases of the OCTT test case document (FINAL 2024-04), in its order, copied from the
# catalogue that appendix_c.yaml was written from (the catalogue is not part of the repository).
CASE_IDS = [f"TC_{n}_CS" for n in (
    "001 002 003 004_1 004_2 068 069 005_1 005_2 005_3 007 061 010 011_1 011_2 012 013 014 015 016 017_1 017_2 "
    "018_1 018_2 019 021 070 071 023 024 026 027 028 030 031 032_1 032_2 034 036 037_1 037_2 037_3 038 039 040_1 "
    "040_2 041 042_1 042_2 043 043_1 043_2 043_3 008 044_1 044_2 044_3 045_1 045_2 046_1 046_2 047 048_1 048_2 "
    "048_3 048_4 049 050_1 050_2 050_3 050_4 051 052 053 054 055 056 057 058_1 058_2 082 066 067 072 059 060 062 "
    "073 074 075_1 075_2 076 077 078 079 080 081 083 084 085 086 087").split()]
NO_APPENDIX_C_ROW = {f"TC_{n}_CS" for n in "027 041 048_1 050_1 050_4 083 084 085 086 087".split()}
OPTIONAL = {f"TC_{n}_CS" for n in "024 030 043_3 048_4".split()}
SMART_CHARGING = {f"TC_{n}_CS" for n in "056 057 058_1 058_2 082 066 067 072 059 060".split()}


def pics(name: str) -> Pics:
    return load_pics(PICS_DIR / f"{name}.yaml")


def variant(tmp_path: Path, name: str, **answers: str) -> Pics:
    """An example PICS with some answers replaced (values as YAML text)."""
    lines = (PICS_DIR / f"{name}.yaml").read_text().splitlines()
    for key, value in answers.items():
        hits = [i for i, line in enumerate(lines) if line.startswith(f"{key}:")]
        if hits:
            lines[hits[0]] = f"{key}: {value}"
        else:
            lines.append(f"{key}: {value}")
    path = tmp_path / f"{name}-variant.yaml"
    path.write_text("\n".join(lines) + "\n")
    return load_pics(path)


def included(entries: list[PlanEntry]) -> set[str]:
    return {e.id for e in entries if e.included}


def entry(entries: list[PlanEntry], case_id: str) -> PlanEntry:
    return next(e for e in entries if e.id == case_id)


# --- appendix_c.yaml

def test_appendix_c_covers_exactly_the_catalogue_in_document_order() -> None:
    rules = load_appendix_c()
    assert [r.id for r in rules] == CASE_IDS
    sections = [section_key(r.section) for r in rules]
    assert sections == sorted(sections)


def test_certification_statuses_match_appendix_c() -> None:
    status = {r.id: r.certification for r in load_appendix_c()}
    assert {i for i, s in status.items() if s is None} == NO_APPENDIX_C_ROW
    assert {i for i, s in status.items() if s == "O"} == OPTIONAL
    assert sum(s == "M" for s in status.values()) == 57
    assert sum(s == "C" for s in status.values()) == 31
    assert status["TC_075_1_CS"] == status["TC_075_2_CS"] == "C"  # the two halves of row _075


def test_every_expression_names_only_pics_fields_and_every_c_and_o_has_one() -> None:
    for rule in load_appendix_c():
        for condition in (rule.applies_if, rule.prerequisite):
            if condition is not None:
                assert condition.names and condition.names <= set(PICS_SCHEMA.fields), rule.id
        if rule.certification in ("C", "O"):
            assert rule.applies_if is not None and rule.reason, rule.id


@pytest.mark.parametrize("path", sorted(PICS_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_every_condition_evaluates_for_every_example(path: Path) -> None:
    values = load_pics(path).values()
    for rule in load_appendix_c():
        for condition in (rule.applies_if, rule.prerequisite):
            if condition is not None:
                assert condition.holds(values) in (True, False)


def test_shipped_scenarios_agree_with_appendix_c() -> None:
    rules = {r.id: r for r in load_appendix_c()}
    for scenario in load_scenarios(SCENARIOS):
        rule = rules[scenario.id]
        assert (scenario.section, scenario.certification) == (rule.section, rule.certification), scenario.id


# --- make_plan: socket vs fixed cable

def test_socket_and_fixed_cable_differ_exactly_in_the_cable_cases() -> None:
    socket, fixed = included(make_plan(pics("socket"))), included(make_plan(pics("fixed-cable")))
    assert socket - fixed == {"TC_005_1_CS", "TC_017_1_CS", "TC_018_1_CS", "TC_024_CS", "TC_030_CS"}
    assert fixed - socket == {"TC_017_2_CS", "TC_018_2_CS"}
    # StopTransactionOnEVSideDisconnect is writable on both, so the other EV-side cases stay
    assert {"TC_005_2_CS", "TC_005_3_CS"} <= socket & fixed


def test_fixed_cable_reasons_state_the_condition() -> None:
    entries = make_plan(pics("fixed-cable"))
    unlock = entry(entries, "TC_017_1_CS")
    assert not unlock.included and unlock.certification == "C"
    assert unlock.reason.startswith("conditional: only for a detachable cable") and unlock.reason.endswith("(not met)")
    tethered = entry(entries, "TC_017_2_CS")
    assert tethered.included and tethered.reason.endswith("(met)")


def test_ev_side_disconnect_follows_the_key_accessibility(tmp_path: Path) -> None:
    def plan_with(accessibility: str) -> set[str]:
        return included(make_plan(variant(tmp_path, "socket", stop_transaction_on_ev_side_disconnect=accessibility)))

    fixed_false, fixed_true = plan_with("read_only_false"), plan_with("read_only_true")
    assert not {"TC_005_1_CS", "TC_005_2_CS", "TC_005_3_CS"} & fixed_false
    assert {"TC_005_1_CS", "TC_005_2_CS"} <= fixed_true and "TC_005_3_CS" not in fixed_true


# --- make_plan: Mode 1/2-only

def test_mode_1_2_only_station() -> None:
    entries = make_plan(pics("mode12-only"))
    plan = included(entries)
    assert not SMART_CHARGING & plan
    assert {"TC_005_1_CS", "TC_005_3_CS", "TC_017_1_CS", "TC_018_1_CS"}.isdisjoint(plan)
    # mandatory for the subtype, although the station has a socket
    assert {"TC_005_2_CS", "TC_017_2_CS", "TC_018_2_CS"} <= plan
    assert "Mode 1/2-only" in entry(entries, "TC_056_CS").reason
    assert {"TC_003_CS", "TC_042_2_CS", "TC_046_2_CS", "TC_054_CS"} <= plan


def test_mode_1_2_only_keeps_ev_side_disconnect_even_with_the_key_fixed_false(tmp_path: Path) -> None:
    station = variant(tmp_path, "mode12-only", stop_transaction_on_ev_side_disconnect="read_only_false")
    assert "TC_005_2_CS" in included(make_plan(station))


def test_smart_charging_declared_by_a_mode_1_2_only_station_still_does_not_apply(tmp_path: Path) -> None:
    station = variant(tmp_path, "mode12-only", smart_charging="true", charge_profile_max_stack_level="1",
                      charging_schedule_max_periods="5", max_charging_profiles_installed="3",
                      charging_rate_units="[A]")
    assert not SMART_CHARGING & included(make_plan(station))


# --- make_plan: no local start/stop

def test_no_local_start_stop_station() -> None:
    entries = make_plan(pics("no-local-start-stop"))
    plan = included(entries)
    local = {f"TC_{n}_CS" for n in "003 004_1 004_2 068 069 037_1 037_2 037_3 038 039 061 007".split()}
    assert not local & plan
    assert {"TC_010_CS", "TC_011_1_CS", "TC_011_2_CS", "TC_012_CS"} <= plan
    assert entry(entries, "TC_010_CS").reason.startswith("mandatory")
    assert "started and stopped at the station itself" in entry(entries, "TC_003_CS").reason
    # no local list: the NotSupported variants replace the list cases; no reservation: the optional Rejected
    assert {"TC_042_1_CS", "TC_043_1_CS", "TC_048_4_CS"} <= plan
    assert not {"TC_042_2_CS", "TC_043_CS", "TC_008_CS", "TC_046_2_CS"} & plan


def test_security_certificate_swaps_the_firmware_cases() -> None:
    plan = included(make_plan(pics("no-local-start-stop")))  # security profile 2, security certificate
    assert {"TC_079_CS", "TC_080_CS", "TC_081_CS", "TC_073_CS", "TC_075_1_CS", "TC_075_2_CS"} <= plan
    assert not {"TC_044_1_CS", "TC_044_2_CS", "TC_044_3_CS", "TC_074_CS", "TC_077_CS"} & plan
    assert {"TC_045_1_CS", "TC_045_2_CS"} <= plan


# --- make_plan: the simulator, scenarios and the rules for O and uncertified cases

def test_sim_plan() -> None:
    entries = make_plan(pics("sim"), load_scenarios(SCENARIOS))
    plan = included(entries)
    assert len(plan) == 83
    # smart charging (hil_sim/charger/smart_charging.py): the whole of 2.22, prerequisites of 066 and 072 met
    assert {f"TC_{n}_CS" for n in "056 057 058_1 058_2 082 066 067 072 059 060".split()} <= plan
    assert {"TC_042_2_CS", "TC_043_3_CS", "TC_008_CS", "TC_054_CS", "TC_017_1_CS", "TC_005_1_CS", "TC_030_CS",
            "TC_024_CS"} <= plan  # 024: the sim reports a lock failure (can_report_lock_failure); 043_3: its list
    # firmware management (045_x) and the security certificate (073-081 instead of the unsigned 044_x)
    assert {"TC_045_1_CS", "TC_045_2_CS", "TC_079_CS", "TC_080_CS", "TC_081_CS"} <= plan
    assert not {"TC_042_1_CS", "TC_043_1_CS", "TC_044_1_CS", "TC_048_4_CS",
                "TC_017_2_CS"} & plan  # 042_1/043_1: only without the local list (the no-local-list variant)
    # reservations (hil_sim/charger/reservation.py), of the whole station too; 048_4 only without the profile
    assert {f"TC_{n}_CS" for n in "046_1 046_2 047 048_2 048_3 049 050_2 050_3 051 052 053".split()} <= plan
    with_scenario = {e.id for e in entries if e.has_scenario}
    assert {"TC_001_CS", "TC_003_CS", "TC_010_CS"} <= with_scenario
    for e in entries:
        assert ("no scenario file yet" in e.reason) == (e.included and not e.has_scenario), e.id


def test_a_planned_case_without_scenario_stays_in() -> None:
    entries = make_plan(pics("sim"), scenarios=[])
    case = entry(entries, "TC_001_CS")
    assert case.included and not case.has_scenario and case.reason == "mandatory; no scenario file yet"


def test_without_scenarios_the_plan_does_not_talk_about_them() -> None:
    entries = make_plan(pics("sim"))
    assert not any(e.has_scenario for e in entries)
    assert not any("scenario" in e.reason for e in entries)
    assert entry(entries, "TC_001_CS").reason == "mandatory"


def test_optional_cases_need_the_declared_hook(tmp_path: Path) -> None:
    assert "TC_043_3_CS" not in included(make_plan(pics("socket")))
    station = variant(tmp_path, "socket", can_trigger_local_list_failure="true")
    case = entry(make_plan(station), "TC_043_3_CS")
    assert case.included and case.reason.startswith("optional: ")


def test_cases_without_appendix_c_row_only_on_request() -> None:
    station = pics("sim")
    default = make_plan(station)
    assert not NO_APPENDIX_C_ROW & included(default)
    assert entry(default, "TC_027_CS").reason == "no Appendix C row: not part of certification"
    everything = make_plan(station, include_uncertified=True)
    # the sim goes for the security certificate: the security cases without a row come in on request too
    # and it reserves connectors and the whole station: the Faulted reservation cases too
    uncertified = {"TC_027_CS", "TC_041_CS", "TC_048_1_CS", "TC_050_1_CS"} | {
        f"TC_{n}_CS" for n in "083 084 085 086 087".split()}
    assert NO_APPENDIX_C_ROW & included(everything) == uncertified
    reservation = entry(everything, "TC_050_4_CS")  # still needs what it tests: a station without the profile
    assert not reservation.included and "Reservation profile" in reservation.reason
    assert included(everything) - included(default) == uncertified


def test_unmet_prerequisite_keeps_the_case_and_says_so(tmp_path: Path) -> None:
    station = variant(tmp_path, "socket", max_charging_profiles_installed="2")
    case = entry(make_plan(station), "TC_066_CS")
    assert case.included and "prerequisite not met" in case.reason
    assert "prerequisite" not in entry(make_plan(pics("socket")), "TC_066_CS").reason


def test_plan_is_in_document_order() -> None:
    assert [e.id for e in make_plan(pics("sim"))] == CASE_IDS


def test_a_scenario_for_an_unknown_case_is_an_error() -> None:
    stray = Scenario("TC_999_CS", "Not a case", "2.99.1", "", None, "", [], [], "scenarios/TC_999_CS.yaml")
    with pytest.raises(ConfigError, match="TC_999_CS is not a Charge Point test case"):
        make_plan(pics("sim"), [stray])


def test_plan_as_records_is_what_run_json_stores() -> None:
    records = plan_as_records(make_plan(pics("sim"), load_scenarios(SCENARIOS)))
    assert len(records) == 102
    assert set(records[0]) == {"id", "title", "section", "certification", "included", "reason"}
    assert records[0] == {"id": "TC_001_CS", "title": "Cold Boot Charge Point", "section": "2.1.1",
                          "certification": "M", "included": True, "reason": "mandatory"}
    assert json.loads(json.dumps(records)) == records


# --- the plan command

def run_plan(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="benchctl")
    add_plan_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["plan", *argv])
    assert args.func is cmd_plan  # what benchctl.cli's main calls
    return cmd_plan(args)


def test_plan_command_prints_in_and_out(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    assert run_plan("--pics", str(PICS_DIR / "no-local-start-stop.yaml")) == 0
    out = capsys.readouterr().out
    rows = {line.split()[1]: line for line in out.splitlines() if line.startswith("│ TC_")}
    assert len(rows) == 102
    assert "│ out " in rows["TC_003_CS"] and "│ C " in rows["TC_003_CS"]
    assert "│ in " in rows["TC_010_CS"] and "│ M " in rows["TC_010_CS"]
    assert "54 of 102 cases in the plan" in out


def test_plan_command_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_plan("--pics", str(PICS_DIR / "sim.yaml"), "--all", "--json") == 0
    document = json.loads(capsys.readouterr().out)
    assert document["pics"] == str(PICS_DIR / "sim.yaml")
    by_id = {r["id"]: r for r in document["plan"]}
    assert by_id["TC_027_CS"]["included"] is True and by_id["TC_027_CS"]["certification"] is None


def test_plan_command_bad_pics_exits_2_with_file_and_line(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text((PICS_DIR / "sim.yaml").read_text().replace("connectors: 1 ", "connectors: one "))
    line = next(i for i, text in enumerate(bad.read_text().splitlines(), 1) if text.startswith("connectors:"))
    assert run_plan("--pics", str(bad)) == 2
    out = capsys.readouterr().out
    assert f"{bad}:{line}: connectors: expected an integer" in out


def test_plan_command_missing_scenario_folder_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_plan("--pics", str(PICS_DIR / "sim.yaml"), "--scenarios", str(tmp_path / "nowhere")) == 2
    assert "no scenario folder" in capsys.readouterr().out


def test_plan_command_requires_pics() -> None:
    with pytest.raises(SystemExit) as exited:
        run_plan()
    assert exited.value.code == 2


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("TC_*.yaml")), ids=lambda p: p.stem)
def test_scenario_metadata_agrees_with_appendix_c(path: Path) -> None:
    """A scenario's M/O/C, title and section are the ones the plan uses, so the report never disagrees."""
    scenario = load_scenario(path)
    rule = {r.id: r for r in load_appendix_c()}[scenario.id]
    assert scenario.certification == rule.certification
    assert scenario.section == rule.section
