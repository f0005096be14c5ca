"""Bench config validation: every error is a ConfigError naming the file, the line and the dotted field.

Each bad file is bench_configs/sim.yaml with exactly one thing changed, so each case isolates one error.
The expected line is looked up in the edited text (the line holding a marker that only occurs there), never
taken from the code under test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchctl.bench import registry
from benchctl.bench.config import load_bench
from benchctl.bench.registry import driver_names_for
from benchctl.bench.roles import resolve_refs
from benchctl.cli import main
from benchctl.config import ConfigError
from benchctl.paths import BENCH_CONFIGS, DEFAULT_BENCH

from support.bench_text import sim_bench_text

# the copies are written elsewhere, so the PICS path must not be relative
SIM_TEXT = sim_bench_text()

ENDPOINTS = {"sim.modbus.host": "127.0.0.1", "sim.modbus.port": 15020, "sim.rfid.port": "/dev/pts/7"}

EV_BLOCK = """\
  ev:
    driver: modbus_ev
    host: ${sim.modbus.host}
    port: ${sim.modbus.port}
    device_id: 1
"""
STATION_BLOCK = """\
  station:
    connectors: 1
    fixed_cable: false
    boot_delay_s: 0.3
    backup_power_s: 3.0
    energy_register_wh: 12345   # a meter that has counted before: a register that falls shows
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


def write(tmp_path: Path, text: str, name: str = "bench.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_bench(path)
    return info.value


def test_base_text_is_the_shipped_sim_bench() -> None:
    # the edits below assume these blocks; if sim.yaml changes shape, say so here rather than in 30 places
    assert EV_BLOCK in SIM_TEXT
    assert STATION_BLOCK in SIM_TEXT


# (id, old, new, marker of the offending line, field, fragments the message must contain)
BAD_BENCHES = [
    ("missing-pics-file",
     f"pics: {BENCH_CONFIGS.parent}/pics/sim.yaml", "pics: nowhere.yaml", "pics: nowhere.yaml", "dut.pics",
     ["PICS file", "nowhere.yaml", "does not exist"]),
    ("unknown-top-level-key",
     "values:\n", "extras: 1\nvalues:\n", "extras: 1", "extras",
     ["unknown key", "known keys here: bench, cards, dut, roles, simulator, values"]),
    ("unknown-key-in-bench-section",
     "  name: sim\n", "  name: sim\n  nmae: other\n", "nmae: other", "bench.nmae",
     ["unknown key", "description, name"]),
    ("unknown-key-in-role",
     "    device_id: 1\n", "    device_id: 1\n    hots: 10.0.0.5\n", "hots: 10.0.0.5", "roles.ev.hots",
     ["unknown key", "baudrate, device_id, host, parity, plug, port, registers, retries, serial_port, standard, "
      "stopbits, timeout_s, transport"]),
    ("unknown-key-in-values",
     "  power_off_s: 1.0\n", "  power_off_s: 1.0\n  power_of_s: 2.0\n", "power_of_s: 2.0", "values.power_of_s",
     ["unknown key", "power_off_s"]),
    ("unknown-key-in-simulator-station",
     "    fixed_cable: false\n", "    fixed_cable: false\n    fixed_cabel: false\n", "fixed_cabel",
     "simulator.station.fixed_cabel", ["unknown key", "fixed_cable"]),
    ("string-for-int-port",
     EV_BLOCK, EV_BLOCK.replace("port: ${sim.modbus.port}", 'port: "abc"'), 'port: "abc"', "roles.ev.port",
     ["expected an integer", "got str 'abc'"]),
    ("bool-for-int",
     "    device_id: 1\n", "    device_id: true\n", "device_id: true", "roles.ev.device_id",
     ["expected an integer", "got bool True"]),
    ("bool-for-int-in-values",
     "  heartbeat_interval_s: 3\n", "  heartbeat_interval_s: yes\n", "heartbeat_interval_s: yes",
     "values.heartbeat_interval_s", ["expected an integer", "got bool True"]),
    ("string-for-bool",
     "    coil: 0\n    safe_level: true", '    coil: 0\n    safe_level: "yes"', 'safe_level: "yes"',
     "roles.mains.safe_level", ["expected true or false", "got str 'yes'"]),
    ("string-for-number",
     "  power_off_s: 1.0\n", "  power_off_s: long\n", "power_off_s: long", "values.power_off_s",
     ["expected a number", "got str 'long'"]),
    ("number-for-string",
     "  charge_point_id: SIM-CP-1\n", "  charge_point_id: 42\n", "charge_point_id: 42", "dut.charge_point_id",
     ["expected a string", "got int 42"]),
    ("list-for-role-mapping",
     "  card:\n    driver: chameleon\n    port: ${sim.rfid.port}\n", "  card: [chameleon]\n",
     "card: [chameleon]", "roles.card", ["expected a mapping", "list"]),
    ("port-above-maximum",
     "    port: 0          #", "    port: 70000      #", "port: 70000", "dut.csms.port",
     ["70000 is above the maximum 65535"]),
    ("missing-required-bench-name",
     "  name: sim\n", "", "bench:", "bench", ["missing required key 'name'"]),
    ("missing-ev-role",
     EV_BLOCK, "", "roles:", "roles", ["missing role 'ev'", "an EV emulator"]),
    ("role-without-driver",
     "    driver: chameleon\n", "", "  card:", "roles.card",
     ["missing required key 'driver'", "drivers for this role: " + ", ".join(driver_names_for("rfid"))]),
    ("unknown-driver",
     "driver: chameleon", "driver: chamelon", "driver: chamelon", "roles.card.driver",
     ["unknown driver 'chamelon'", "known drivers: " + ", ".join(registry.names())]),
    ("driver-of-wrong-kind",
     "    driver: modbus_ev\n", "    driver: modbus_coil  # wrong kind\n", "# wrong kind", "roles.ev.driver",
     ["role 'ev' needs an EV emulator", "modbus_coil is a digital output", "use one of: " + ", ".join(driver_names_for("ev_emulator"))]),
    ("relay-role-given-an-rfid-driver",
     "  network:\n    driver: modbus_coil", "  network:\n    driver: chameleon  # wrong kind", "# wrong kind",
     "roles.network.driver", ["needs a digital output (relay)", "use one of: " + ", ".join(driver_names_for("digital_output"))]),
    ("missing-required-driver-setting",
     "    coil: 0\n", "", "  mains:", "roles.mains", ["missing required key 'coil'"]),
    ("connector-id-beyond-dut-connectors",
     "  connector_id: 1\n", "  connector_id: 2\n", "connector_id: 2", "values.connector_id",
     ["connector 2 does not exist", "dut.connectors is 1"]),
    ("connector-id-zero",
     "  connector_id: 1\n", "  connector_id: 0\n", "connector_id: 0", "values.connector_id",
     ["0 is below the minimum 1"]),
    ("unknown-simulator-fault",
     "  faults: []", "  faults: [skip_preparing, melt_down]", "faults: [skip_preparing, melt_down]",
     "simulator.faults[1]", ["unknown fault 'melt_down'", "see `benchctl faults`"]),
    ("misspelled-simulator-fault",
     "  faults: []", "  faults: [skip_prepraing]", "faults: [skip_prepraing]",
     "simulator.faults[0]", ["unknown fault 'skip_prepraing' (did you mean 'skip_preparing'?)"]),
    ("non-string-simulator-fault",
     "  faults: []", "  faults:\n    - skip_preparing\n    - 7", "    - 7", "simulator.faults[1]",
     ["expected a string", "got int 7"]),
    ("simulator-connectors-above-range",
     "    connectors: 1\n    fixed_cable", "    connectors: 3\n    fixed_cable", "connectors: 3",
     "simulator.station.connectors", ["3 is above the maximum 2"]),
    ("simulator-connectors-below-range",
     "    connectors: 1\n    fixed_cable", "    connectors: 0\n    fixed_cable", "connectors: 0",
     "simulator.station.connectors", ["0 is below the minimum 1"]),
    ("simulator-not-a-mapping",
     STATION_BLOCK + "  faults: []\n", "  - station\n", "simulator:", "simulator",
     ["expected a mapping, got list ['station']"]),
    ("duplicate-key",
     "    device_id: 1\n", "    device_id: 1\n    host: 10.0.0.9\n", "host: 10.0.0.9", "roles.ev.host",
     ["duplicate key"]),
    ("duplicate-role",
     "  network:\n", "  mains:  # again\n", "# again", "roles.mains", ["duplicate key"]),
]


@pytest.mark.parametrize(("old", "new", "marker", "field", "fragments"),
                         [pytest.param(*case[1:], id=case[0]) for case in BAD_BENCHES])
def test_bad_bench_is_a_config_error_naming_file_line_and_field(
        tmp_path: Path, old: str, new: str, marker: str, field: str, fragments: list[str]) -> None:
    text = edit(SIM_TEXT, old, new)
    path = write(tmp_path, text)

    err = load_error(path)

    assert err.file == str(path)
    assert err.field == field
    assert err.line == line_of(text, marker)
    for fragment in fragments:
        assert fragment in err.message
    assert str(err) == f"{path}:{err.line}: {field}: {err.message}"


def test_missing_roles_section_is_reported_at_the_top_level(tmp_path: Path) -> None:
    text = SIM_TEXT[: SIM_TEXT.index("roles:\n")]
    path = write(tmp_path, text)

    err = load_error(path)

    assert err.file == str(path)
    assert err.field == ""  # the missing key belongs to the document itself
    assert err.line == line_of(text, "bench:")  # where the top-level mapping starts (after the comments)
    assert err.message == "missing required key 'roles'"
    assert str(err) == f"{path}:{err.line}: (top level): missing required key 'roles'"


def test_empty_roles_section_still_needs_ev(tmp_path: Path) -> None:
    text = SIM_TEXT[: SIM_TEXT.index("roles:\n")] + "roles:\n"
    path = write(tmp_path, text)

    err = load_error(path)

    assert (err.field, err.line) == ("roles", line_of(text, "roles:"))
    assert "missing role 'ev'" in err.message


@pytest.mark.parametrize("role_block", ["  card:\n    driver: chameleon\n    port: ${sim.rfid.port}\n", EV_BLOCK],
                         ids=["card", "ev"])
def test_role_with_empty_value_is_a_config_error(tmp_path: Path, role_block: str) -> None:
    header = role_block.splitlines()[0]
    text = edit(SIM_TEXT, role_block, header + "\n")
    path = write(tmp_path, text)

    err = load_error(path)

    assert err.field == f"roles.{header.strip().rstrip(':')}"
    assert err.line == line_of(text, header)
    assert "driver" in err.message


@pytest.mark.parametrize(("old", "new", "marker"), [
    ("  name: sim\n", "  name: sim: two\n", "name: sim: two"),          # mapping values not allowed here
    ("  name: sim\n", "\tname: sim\n", "\tname: sim"),                  # tab indentation
    ("    coil: 0\n", "    coil: 0\n   bad_indent: 1\n", "bad_indent"),  # dedent inside a mapping
], ids=["colon-in-value", "tab", "bad-indentation"])
def test_yaml_syntax_error_names_the_line(tmp_path: Path, old: str, new: str, marker: str) -> None:
    text = edit(SIM_TEXT, old, new)
    path = write(tmp_path, text)

    err = load_error(path)

    assert err.file == str(path)
    assert err.line == line_of(text, marker)
    assert err.field == ""
    assert err.message.startswith("not valid YAML: ")
    assert str(err).startswith(f"{path}:{err.line}: ")


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "no_such_bench.yaml"

    err = load_error(path)

    assert err.file == str(path)
    assert err.line is None
    assert "cannot read" in err.message and "No such file" in err.message
    assert str(err).startswith(f"{path}: ")


def test_duplicate_top_level_section_names_the_second_occurrence(tmp_path: Path) -> None:
    # a duplicate top-level section: the error sits on the second occurrence, not the first
    text = SIM_TEXT + "bench:\n  name: again\n"
    path = write(tmp_path, text)

    err = load_error(path)

    assert err.field == "bench"
    assert err.line == len(text.splitlines()) - 1
    assert err.line != line_of(SIM_TEXT, "bench:")
    assert err.message == "duplicate key"


# ------------------------------------------------------------------------------------------ positive cases


def test_shipped_sim_bench_loads_with_its_roles_and_drivers() -> None:
    config = load_bench(DEFAULT_BENCH)

    assert config.name == "sim"
    assert config.charge_point_id == "SIM-CP-1"
    assert config.connectors == 1
    assert (config.csms_host, config.csms_port, config.csms_path) == ("127.0.0.1", 0, "/ocpp")
    assert {name: role.driver for name, role in config.roles.items()} == {
        "ev": "modbus_ev", "card": "chameleon", "modem": "e3372_at", "mains": "modbus_coil",
        "network": "modbus_coil", "fault": "modbus_coil", "lock_fault": "modbus_coil",
        "local_list_fault": "modbus_coil", "meter": "modbus_meter", "cable": "modbus_coil",
        "security_reset": "modbus_coil"}
    for role in config.roles.values():
        assert role.name in config.roles
        assert role.line == line_of(SIM_TEXT, f"  {role.name}:")
        kinds = {"ev": "ev_emulator", "card": "rfid", "modem": "dongle", "meter": "meter"}
        assert registry.spec(role.driver).kind == kinds.get(role.name, "digital_output")
    assert config.roles["mains"].settings["coil"] == 0
    assert config.roles["network"].settings["coil"] == 1
    assert config.roles["mains"].settings["safe_level"] is True
    assert config.simulator is not None
    assert config.simulator.station.connectors == 1
    assert config.simulator.faults == []
    assert config.cards == {}


def test_defaults_are_filled_in(tmp_path: Path) -> None:
    text = edit(SIM_TEXT, "  power_off_s: 1.0\n", "")
    text = edit(text, "  ev_ready_delay_s: 0.3\n", "")
    text = edit(text, "    boot_delay_s: 0.3\n", "")
    config = load_bench(write(tmp_path, text))

    assert config.values["power_off_s"] == 3.0
    assert config.values["ev_ready_delay_s"] == 0.5
    assert config.values["message_timeout_s"] == 10.0 and isinstance(config.values["message_timeout_s"], float)
    assert config.values["heartbeat_interval_s"] == 3  # written values win over defaults
    ev = config.roles["ev"].settings
    assert (ev["timeout_s"], ev["retries"], ev["standard"], ev["registers"]) == (1.0, 2, "iec", None)  # retries: tries after the first
    assert config.roles["card"].settings["baudrate"] == 115200
    assert config.roles["mains"].settings["invert"] is False
    assert config.simulator is not None
    assert config.simulator.station.boot_delay_s == 0.3
    assert config.simulator.station.meter_w == 7400.0


def test_minimal_bench_without_simulator_or_values(tmp_path: Path) -> None:
    text = ("bench: {name: lab}\n"
            "dut: {charge_point_id: CP-7}\n"
            "roles:\n"
            "  ev: {driver: modbus_ev, host: 192.168.1.20}\n")
    config = load_bench(write(tmp_path, text))

    assert config.simulator is None
    assert config.connectors == 1
    assert config.csms_port == 9000 and config.csms_path == "/ocpp"
    assert config.values["connector_id"] == 1 and config.values["power_off_s"] == 3.0
    assert config.roles["ev"].settings["port"] == 502
    assert list(config.roles) == ["ev"]


def test_sim_references_are_kept_on_load_and_resolved_later() -> None:
    config = load_bench(DEFAULT_BENCH)
    ev, card = config.roles["ev"], config.roles["card"]
    assert ev.settings["host"] == "${sim.modbus.host}"
    assert ev.settings["port"] == "${sim.modbus.port}"

    resolved = resolve_refs(ev, ENDPOINTS, config.file)

    assert resolved["host"] == "127.0.0.1"
    assert resolved["port"] == 15020
    assert resolved["device_id"] == 1  # plain values pass through
    assert resolve_refs(card, ENDPOINTS, config.file)["port"] == "/dev/pts/7"
    assert ev.settings["port"] == "${sim.modbus.port}"  # the config itself is left as written


def test_unknown_reference_names_the_role_field_and_lists_the_endpoints(tmp_path: Path) -> None:
    text = edit(SIM_TEXT, "    host: ${sim.modbus.host}\n    port: ${sim.modbus.port}\n    device_id: 1\n",
                "    host: ${sim.modbus.hostname}\n    port: ${sim.modbus.port}\n    device_id: 1\n")
    path = write(tmp_path, text)
    config = load_bench(path)  # a well-formed reference is accepted on load

    with pytest.raises(ConfigError) as info:
        resolve_refs(config.roles["ev"], ENDPOINTS, config.file)

    err = info.value
    assert err.file == str(path)
    assert err.field == "roles.ev.host"
    assert "unknown reference ${sim.modbus.hostname}" in err.message
    assert "available: sim.modbus.host, sim.modbus.port, sim.rfid.port" in err.message


def test_references_without_a_simulator_say_so() -> None:
    config = load_bench(DEFAULT_BENCH)
    with pytest.raises(ConfigError) as info:
        resolve_refs(config.roles["card"], {}, config.file)
    assert info.value.field == "roles.card.port"
    assert "none (no simulator)" in info.value.message


def test_resolved_reference_is_type_checked() -> None:
    config = load_bench(DEFAULT_BENCH)
    with pytest.raises(ConfigError) as info:
        resolve_refs(config.roles["ev"], {**ENDPOINTS, "sim.modbus.port": "not-a-port"}, config.file)
    assert info.value.field == "roles.ev.port"
    assert "expected an integer, got str 'not-a-port'" in info.value.message


def test_reference_is_not_accepted_where_the_field_takes_no_references(tmp_path: Path) -> None:
    text = edit(SIM_TEXT, "    device_id: 1\n", "    device_id: ${sim.modbus.port}\n")
    path = write(tmp_path, text)

    err = load_error(path)

    assert (err.field, err.line) == ("roles.ev.device_id", line_of(text, "device_id: ${sim"))
    assert "expected an integer" in err.message


def test_unknown_reference_names_the_line_of_the_setting(tmp_path: Path) -> None:
    text = edit(SIM_TEXT, "    host: ${sim.modbus.host}\n    port: ${sim.modbus.port}\n    device_id: 1\n",
                "    host: ${sim.modbus.hostname}\n    port: ${sim.modbus.port}\n    device_id: 1\n")
    config = load_bench(write(tmp_path, text))
    with pytest.raises(ConfigError) as info:
        resolve_refs(config.roles["ev"], ENDPOINTS, config.file)
    assert info.value.line == line_of(text, "${sim.modbus.hostname}")


def test_unknown_fault_in_block_list_names_the_item_line(tmp_path: Path) -> None:
    text = edit(SIM_TEXT, "  faults: []", "  faults:\n    - skip_preparing\n    - melt_down")
    err = load_error(write(tmp_path, text))
    assert "unknown fault 'melt_down'" in err.message
    assert err.field == "simulator.faults[1]"
    assert err.line == line_of(text, "- melt_down")


# ------------------------------------------------------------------------------------------------- CLI


def test_cli_validate_bad_bench_exits_2_and_prints_file_and_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)  # a short relative path, so the console never has to wrap it
    text = edit(SIM_TEXT, "    device_id: 1\n", "    device_id: 1\n    hots: 10.0.0.5\n")
    write(tmp_path, text, "bad.yaml")

    status = main(["validate", "bad.yaml"])

    out = capsys.readouterr().out
    assert status == 2
    assert f"bad.yaml:{line_of(text, 'hots:')}: roles.ev.hots: unknown key" in out
    assert "OK" not in out


def test_cli_validate_good_bench_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["validate", str(DEFAULT_BENCH)])

    out = capsys.readouterr().out
    assert status == 0
    assert "bench 'sim' OK (ev, card, modem, mains, network, fault, lock_fault, local_list_fault, meter, cable, " \
           "security_reset)" in \
        " ".join(out.split())


def test_cli_validate_reports_every_file_and_fails_if_any_is_bad(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    text = edit(SIM_TEXT, "driver: chameleon", "driver: chamelon")
    write(tmp_path, text, "bad.yaml")

    status = main(["validate", str(DEFAULT_BENCH), "bad.yaml", "missing.yaml"])

    out = capsys.readouterr().out
    assert status == 2
    assert "bench 'sim' OK" in out
    assert f"bad.yaml:{line_of(text, 'driver: chamelon')}: roles.card.driver: unknown driver" in out
    assert "missing.yaml: (top level): cannot read" in out


def test_cli_validate_prints_file_and_line_unbroken_for_a_long_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)
    folder = tmp_path / ("bench_configs_of_the_long_named_laboratory_" * 2)
    folder.mkdir()
    text = edit(SIM_TEXT, "driver: chameleon", "driver: chamelon")
    path = write(folder, text, "bad.yaml")
    assert len(str(path)) > 80

    status = main(["validate", str(path)])

    out = capsys.readouterr().out
    assert status == 2
    assert f"{path}:{line_of(text, 'driver: chamelon')}: roles.card.driver" in out
