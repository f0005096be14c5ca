"""PICS files: the shipped examples load, and every mistake names the file, the line and the field."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from benchctl.bench.config import load_bench
from benchctl.config import ConfigError
from benchctl.config.pics import PICS_SCHEMA, Pics, load_pics
from benchctl.paths import DEFAULT_BENCH, ROOT

from support.pics_text import PICS_BASE as BASE  # the tests below break one line of it at a time

PICS_DIR = ROOT / "pics"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "station.yaml"
    path.write_text(text)
    return path


def line_of(text: str, start: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith(start))


def replaced(key: str, value: str) -> str:
    assert f"\n{key}: " in f"\n{BASE}"
    return "".join(f"{key}: {value}\n" if line.startswith(f"{key}: ") else line
                   for line in BASE.splitlines(keepends=True))


def error_for(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_pics(write(tmp_path, text))
    return caught.value


@pytest.mark.parametrize("path", sorted(PICS_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_pics_loads(path: Path) -> None:
    pics = load_pics(path)
    assert pics.dut_type == "charging_station" and pics.file == str(path)


def test_the_examples_the_docs_promise_exist() -> None:
    assert {p.name for p in PICS_DIR.glob("*.yaml")} >= {"sim.yaml", "fixed-cable.yaml", "mode12-only.yaml",
                                                         "no-local-start-stop.yaml", "socket.yaml"}


def test_sim_pics_describes_the_simulator_the_sim_bench_starts() -> None:
    station = load_bench(DEFAULT_BENCH).simulator.station
    pics = load_pics(PICS_DIR / "sim.yaml")
    assert (pics.connectors, pics.fixed_cable, pics.rfid_readers) == (station.connectors, station.fixed_cable,
                                                                      station.rfid_readers)
    assert [list(evse) for evse in pics.evses] == station.evses
    # what hil_sim does not simulate must not be declared, or the plan would ask for cases it cannot pass
    assert pics.reservation and "Reservation" in station.profiles  # hil_sim/charger/reservation.py
    # hil_sim/charger/smart_charging.py, with the limits its read-only keys report
    assert pics.smart_charging and "SmartCharging" in station.profiles
    assert (pics.charge_profile_max_stack_level, pics.charging_schedule_max_periods,
            pics.max_charging_profiles_installed, set(pics.charging_rate_units)) == (8, 24, 10, {"A", "W"})
    assert pics.local_auth_list and "LocalAuthListManagement" in station.profiles  # hil_sim/charger/local_list.py
    assert pics.firmware_management and "FirmwareManagement" in station.profiles  # hil_sim/charger/firmware.py
    assert set(pics.file_transfer_protocols) == {"ftp", "http"}  # its SupportedFileTransferProtocols: FTP,HTTP
    assert pics.security_certification and pics.remote_trigger and pics.local_start_stop


def test_minimal_pics_gets_defaults_and_is_immutable(tmp_path: Path) -> None:
    pics = load_pics(write(tmp_path, BASE))
    assert pics.stop_transaction_on_ev_side_disconnect == "read_write"
    assert pics.security_profiles == () and pics.security_certification is False
    assert pics.unknown_offline_authorization is False and pics.rejects_reserve_now is False
    with pytest.raises(dataclasses.FrozenInstanceError):
        pics.fixed_cable = True  # type: ignore[misc]
    assert "file" not in pics.values() and pics.values()["connectors"] == 1


def test_schema_and_dataclass_hold_the_same_fields_each_citing_its_source() -> None:
    names = {f.name for f in dataclasses.fields(Pics)} - {"file"}
    assert names == set(PICS_SCHEMA.fields)
    for name, spec in PICS_SCHEMA.fields.items():
        assert name == name.lower() and " " not in name
        assert "App." in spec.help, f"{name} must name its Appendix A item (or the App. C row needing it)"


def test_unknown_key_names_file_line_and_key(tmp_path: Path) -> None:
    text = BASE + "fixed_cabel: true\n"
    error = error_for(tmp_path, text)
    assert str(error).startswith(f"{tmp_path / 'station.yaml'}:{line_of(text, 'fixed_cabel')}: fixed_cabel: ")
    assert "unknown key" in error.message and "fixed_cable" in error.message


def test_wrong_type_names_the_line(tmp_path: Path) -> None:
    text = replaced("connectors", "two")
    error = error_for(tmp_path, text)
    assert (error.line, error.field) == (line_of(text, "connectors"), "connectors")
    assert "expected an integer" in error.message


def test_bad_choice_lists_the_choices(tmp_path: Path) -> None:
    text = replaced("product_subtype", "ac")
    error = error_for(tmp_path, text)
    assert (error.line, error.field) == (line_of(text, "product_subtype"), "product_subtype")
    assert "standard" in error.message and "mode_1_2_only" in error.message


def test_a_csms_pics_is_refused(tmp_path: Path) -> None:
    error = error_for(tmp_path, replaced("dut_type", "csms"))
    assert error.field == "dut_type" and "charging_station" in error.message


def test_missing_required_answer_is_named(tmp_path: Path) -> None:
    text = "".join(line for line in BASE.splitlines(keepends=True) if not line.startswith("power_loss_stop"))
    error = error_for(tmp_path, text)
    assert "power_loss_stop" in error.message


def test_a_flag_written_as_a_string_is_refused(tmp_path: Path) -> None:
    error = error_for(tmp_path, replaced("local_start", '"yes"'))
    assert error.field == "local_start" and "true or false" in error.message


def test_list_items_are_checked_with_their_own_line(tmp_path: Path) -> None:
    text = BASE + "security_profiles:\n  - 2\n  - 4\n"
    error = error_for(tmp_path, text)
    assert (error.field, error.line) == ("security_profiles[1]", len(text.splitlines()))
    assert "1, 2, 3" in error.message


def test_a_profile_listed_twice_is_refused(tmp_path: Path) -> None:
    error = error_for(tmp_path, BASE + "security_profiles: [2, 2]\n")
    assert error.field == "security_profiles" and "more than once" in error.message


def test_a_supported_profile_needs_its_limits(tmp_path: Path) -> None:
    text = replaced("smart_charging", "true")
    error = error_for(tmp_path, text)
    assert (error.field, error.line) == ("smart_charging", line_of(text, "smart_charging"))
    assert "charge_profile_max_stack_level" in error.message
    limits = ("charge_profile_max_stack_level: 1\ncharging_schedule_max_periods: 5\n"
              "max_charging_profiles_installed: 3\ncharging_rate_units: []\n")
    error = error_for(tmp_path, text + limits)
    assert error.field == "charging_rate_units"
    assert load_pics(write(tmp_path, text + limits.replace("[]", "[A]"))).charging_rate_units == ("A",)


def test_firmware_management_needs_a_transfer_protocol(tmp_path: Path) -> None:
    text = replaced("firmware_management", "true") + "file_transfer_protocols: []\n"
    error = error_for(tmp_path, text)
    assert (error.field, error.line) == ("file_transfer_protocols", line_of(text, "file_transfer_protocols"))
    error = error_for(tmp_path, replaced("firmware_management", "true") + "file_transfer_protocols: [gopher]\n")
    assert error.field == "file_transfer_protocols[0]"


@pytest.mark.parametrize("extra, field", [
    ("reservation_charge_point: true\n", "reservation_charge_point"),
    ("can_trigger_local_list_failure: true\n", "can_trigger_local_list_failure"),
    ("security_profiles: [1]\nsecurity_certification: true\n", "security_certification"),
])
def test_contradicting_answers_point_at_the_one_that_cannot_stand(tmp_path: Path, extra: str, field: str) -> None:
    text = BASE + extra
    error = error_for(tmp_path, text)
    assert (error.field, error.line) == (field, line_of(text, field))


def test_lock_failure_needs_a_socket_and_reject_needs_no_reservation(tmp_path: Path) -> None:
    error = error_for(tmp_path, replaced("fixed_cable", "true") + "can_report_lock_failure: true\n")
    assert error.field == "can_report_lock_failure" and "fixed cable" in error.message
    error = error_for(tmp_path, replaced("reservation", "true") + "rejects_reserve_now: true\n")
    assert error.field == "rejects_reserve_now"


def test_unreadable_and_malformed_files_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_pics(tmp_path / "missing.yaml")
    error = error_for(tmp_path, BASE + "connectors: [1\n")
    assert error.line is not None and "YAML" in error.message


def test_evses_group_connectors_and_default_to_one_each(tmp_path: Path) -> None:
    assert load_pics(write(tmp_path, BASE)).evses == ()  # every connector its own EVSE
    text = replaced("connectors", "3") + "evses:\n  - [1, 2]\n  - [3]\n"
    assert load_pics(write(tmp_path, text)).evses == ((1, 2), (3,))


@pytest.mark.parametrize("evses, field, message", [
    ("  - [1, 4]\n", "evses[0]", "connector 4 does not exist"),
    ("  - [1, 2]\n  - [2]\n", "evses[1]", "connector 2 is already on EVSE 1"),
    ("  - []\n", "evses[0]", "at least one connector"),
    ("  - [1, 1]\n", "evses[0]", "more than once"),
    ("  - [1, x]\n", "evses[0][1]", "expected"),
])
def test_evses_mistakes_name_the_line(tmp_path: Path, evses: str, field: str, message: str) -> None:
    text = replaced("connectors", "3") + "evses:\n" + evses
    error = error_for(tmp_path, text)
    assert error.field == field and message in error.message, error
    assert error.line is not None and error.line > line_of(text, "evses")
