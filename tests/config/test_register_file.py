"""A Modbus EV emulator's register map as YAML: inline in the bench config or in a file the role names, every
problem with the file and line it is on; the driver built from it talks to gear laid out that way."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchctl.bench import registry
from benchctl.bench.config import load_bench
from benchctl.config import ConfigError
from benchctl.config.errors import each_error
from drivers.evse_tester.modbus import ModbusEVEmulator
from drivers.evse_tester.register_map import EXAMPLE_OFFSET_MAP
from drivers.steplog import StepLog
from hil_sim.gear.modbus_gear import start_modbus_gear
from hil_sim.world import World

HEAD = "bench: {name: lab}\ndut: {charge_point_id: CP-7}\nroles:\n  ev:\n    driver: modbus_ev\n    host: 127.0.0.1\n"
OFFSET_MAP = ("# the example-offset layout\ncp_state: 100\nplug_relay: 101\ndiode_fault: 102\npp_rating_a: 103\n"
              "latch_pressed: 104\n"
              "cp_high_cv: 200\ncp_low_cv: 201\nduty_permille: 202\nfrequency_hz: 203\ncp_state_seen: null\n")


def bench(tmp_path: Path, ev_settings: str, map_text: str | None = None) -> Path:
    if map_text is not None:
        (tmp_path / "maps").mkdir(exist_ok=True)
        (tmp_path / "maps" / "ev.yaml").write_text(map_text, encoding="utf-8")
    path = tmp_path / "bench.yaml"
    path.write_text(HEAD + ev_settings, encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_bench(path)
    return [str(e) for e in each_error(caught.value)]


async def test_a_named_map_file_drives_gear_laid_out_that_way(tmp_path: Path) -> None:
    world = World()
    gear = await start_modbus_gear(world, ev_register_map=EXAMPLE_OFFSET_MAP)
    config = load_bench(bench(tmp_path, f"    port: {gear.port}\n    registers: maps/ev.yaml\n", OFFSET_MAP))
    ev = registry.spec("modbus_ev").build("ev", config.roles["ev"].settings, StepLog())
    assert isinstance(ev, ModbusEVEmulator) and ev.map == EXAMPLE_OFFSET_MAP
    try:
        await ev.set_plug(True)
        await ev.set_cp_state("B")
        assert world.connector(1).ev_state == "B"  # written to holding register 100, where this gear has it
        assert world.connector(1).plugged_ev_side  # the plug relay at 101
    finally:
        await ev.close()
        await gear.stop()


def test_problems_in_the_map_file_name_its_own_lines(tmp_path: Path) -> None:
    text = "cp_state: 100\nplug_rely: 101\ndiode_fault: 100\n"
    path = bench(tmp_path, "    registers: maps/ev.yaml\n", text)
    map_file = tmp_path / "maps" / "ev.yaml"
    assert problems(path) == [f"{map_file}:2: plug_rely: unknown key; did you mean 'plug_relay'? (known keys here: "
                              "cp_high_cv, cp_low_cv, cp_state, cp_state_seen, diode_fault, duty_permille, "
                              "frequency_hz, latch_pressed, plug_relay, pp_rating_a)"]
    (tmp_path / "maps" / "ev.yaml").write_text("cp_state: 100\nplug_relay: 101\ndiode_fault: 100\n")
    assert problems(path) == [f"{map_file}:3: diode_fault: register diode_fault: address 100 is already used by "
                              "cp_state"]
    (tmp_path / "maps" / "ev.yaml").write_text("cp_state: -1\nplug_relay: null\n")
    assert problems(path) == [f"{map_file}:1: cp_state: -1 is below the minimum 0"]
    (tmp_path / "maps" / "ev.yaml").write_text("cp_state: 100\nplug_relay: null\n")
    assert problems(path) == [f"{map_file}:2: plug_relay: register plug_relay is not optional: give its address"]


def test_a_missing_map_file_is_named(tmp_path: Path) -> None:
    path = bench(tmp_path, "    registers: maps/nope.yaml\n")
    [problem] = problems(path)
    assert problem.startswith(f"{tmp_path / 'maps' / 'nope.yaml'}: (top level): cannot read: No such file")


def test_an_inline_map_with_a_wrong_name_is_an_error_at_its_line(tmp_path: Path) -> None:
    path = bench(tmp_path, "    registers: {cp_state: 100, plug: 101}\n")
    assert problems(path) == [f"{path}:7: roles.ev.registers: unknown register 'plug'; known registers: "
                              "cp_high_cv, cp_low_cv, cp_state, cp_state_seen, diode_fault, duty_permille, "
                              "frequency_hz, latch_pressed, plug_relay, pp_rating_a"]
