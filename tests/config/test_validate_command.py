"""`benchctl validate`: each file validated as what it is (bench config, PICS, scenario, reusable state), and
every error of a file reported, one FILE:LINE line each, not only the first.

Before, a PICS was validated as a scenario (and rejected), a state file too, and a file with three mistakes
needed three rounds of validate.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchctl.bench.config import load_bench
from benchctl.cli import main
from benchctl.config import ConfigError
from benchctl.config.errors import ConfigErrors
from benchctl.config.pics import load_pics
from benchctl.paths import DEFAULT_BENCH, ROOT, SCENARIOS
from benchctl.scenario.model import load_scenario

from support.bench_text import sim_bench_text
from support.pics_text import PICS_BASE

TC_003 = (SCENARIOS / "TC_003_CS.yaml").read_text(encoding="utf-8")


def validate(capsys: pytest.CaptureFixture[str], *files: Path) -> tuple[int, list[str]]:
    status = main(["validate", *map(str, files)])
    return status, capsys.readouterr().out.splitlines()


def edit(text: str, *changes: tuple[str, str]) -> str:
    for old, new in changes:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def line_of(text: str, marker: str) -> int:
    hits = [n for n, line in enumerate(text.splitlines(), 1) if marker in line]
    assert len(hits) == 1, (marker, hits)
    return hits[0]


def test_a_pics_is_validated_as_a_pics(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = validate(capsys, ROOT / "pics" / "sim.yaml")
    assert status == 0
    assert out == [f"{ROOT / 'pics' / 'sim.yaml'}: PICS OK (standard, 1 connector(s))"]


def test_a_broken_pics_gets_pics_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = edit(PICS_BASE, ("rfid_readers: single\n", "rfid_readers: singel\n"))
    path = tmp_path / "station.yaml"
    path.write_text(text)

    status, out = validate(capsys, path)

    assert status == 2
    assert out == [f"{path}:{line_of(text, 'singel')}: rfid_readers: 'singel' is not one of: none, single, "
                   f"one_per_evse; did you mean 'single'?"]


def test_every_shipped_file_validates_as_what_it_is(capsys: pytest.CaptureFixture[str]) -> None:
    files = [DEFAULT_BENCH, *sorted((ROOT / "pics").glob("*.yaml")), *sorted(SCENARIOS.glob("TC_*.yaml")),
             *sorted((SCENARIOS / "states").glob("*.yaml"))]

    status, out = validate(capsys, *files)

    assert status == 0, [line for line in out if " OK " not in line]
    kinds = [line.split(": ", 1)[1].split(" ")[0] for line in out]
    assert kinds.count("bench") == 1 and kinds.count("PICS") == len(list((ROOT / "pics").glob("*.yaml")))
    assert kinds.count("reusable") == len(list((SCENARIOS / "states").glob("*.yaml")))


def test_a_file_of_no_known_kind_says_what_it_could_be(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "notes.yaml"
    path.write_text("shopping: [milk]\n")

    status, out = validate(capsys, path)

    assert status == 2
    assert out == [f"{path}: (top level): not a bench config (bench:, dut:, roles:), PICS (dut_type:, "
                   f"product_subtype:, ...), scenario (id:, title:, steps:) or reusable state (state:, steps:)"]


# --- every error of a file


def test_every_error_of_a_scenario(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(SCENARIOS / "states", tmp_path / "states")
    text = edit(TC_003,
                ("title: Regular Charging Session - Plugin First\n", "titel: Regular Charging Session\n"),
                ("    match: {status: Preparing}\n", "    match: {status: Preparing}\n    timeout_s: .inf\n"),
                ("  - expect: Authorize\n", "  - expect: Authorise\n"),
                ("        step: 7\n", "        step: seven\n"))
    path = tmp_path / "TC_003_CS.yaml"
    path.write_text(text)

    status, out = validate(capsys, path)

    assert status == 2
    assert out == [
        f"{path}:{line_of(text, 'titel')}: titel: unknown key; did you mean 'title'? (known keys here: "
        "certification, condition, configuration, file_server, group, id, roles, section, steps, title)",
        f"{path}:{line_of(text, 'id: TC_003_CS')}: (top level): missing required key 'title'",
        f"{path}:{line_of(text, '.inf')}: steps[1].timeout_s: expected a finite number, got .nan or .inf",
        f"{path}:{line_of(text, 'Authorise')}: steps[3].expect: 'Authorise' is not an OCPP 1.6 action; "
        "did you mean 'Authorize'?",
        f"{path}:{line_of(text, 'seven')}: steps[4].any_order[1].step: expected an integer, got str 'seven'",
    ]
    with pytest.raises(ConfigErrors) as caught:
        load_scenario(path)
    assert [e.line for e in caught.value.errors] == [int(line.split(":")[1]) for line in out]
    assert (caught.value.line, caught.value.field) == (line_of(text, "titel"), "titel")  # as one error: the first


def test_every_error_of_a_bench_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = edit(sim_bench_text(), ("message_timeout_s: 10", "message_timeout_s: -1"),
                ("  name: sim\n", "  name: ../sim\n"), ("    port: 0", "    port: 70000"))
    path = tmp_path / "bench.yaml"
    path.write_text(text)

    status, out = validate(capsys, path)

    assert status == 2
    assert [line.split(": ", 2)[:2] for line in out] == [
        [f"{path}:{line_of(text, '../sim')}", "bench.name"],
        [f"{path}:{line_of(text, 'port: 70000')}", "dut.csms.port"],
        [f"{path}:{line_of(text, 'message_timeout_s')}", "values.message_timeout_s"],
    ]
    with pytest.raises(ConfigErrors):
        load_bench(path)


def test_every_contradiction_of_a_pics(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = PICS_BASE + "reservation_charge_point: true\ncan_report_lock_failure: true\n"
    text = edit(text, ("fixed_cable: false", "fixed_cable: true"))
    path = tmp_path / "station.yaml"
    path.write_text(text)

    status, out = validate(capsys, path)

    assert status == 2
    assert [line.split(": ", 2)[:2] for line in out] == [
        [f"{path}:{line_of(text, 'reservation_charge_point')}", "reservation_charge_point"],
        [f"{path}:{line_of(text, 'can_report_lock_failure')}", "can_report_lock_failure"],
    ]
    with pytest.raises(ConfigErrors):
        load_pics(path)


def test_one_error_is_still_a_plain_config_error(tmp_path: Path) -> None:
    text = edit(PICS_BASE, ("connectors: 1", "connectors: 0"))
    path = tmp_path / "station.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_pics(path)
    assert type(caught.value) is ConfigError


def test_several_files_each_get_their_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "station.yaml"
    broken.write_text(edit(PICS_BASE, ("connectors: 1", "connectors: 0"), ("local_stop: true", "local_stop: 1")))

    status, out = validate(capsys, DEFAULT_BENCH, broken, ROOT / "pics" / "sim.yaml")

    assert status == 2
    assert [line.split(":")[0] for line in out] == [str(DEFAULT_BENCH), str(broken), str(broken),
                                                    str(ROOT / "pics" / "sim.yaml")]
