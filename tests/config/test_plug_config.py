"""The EV emulator's plug in a bench config: an unknown plug, settings that do not fit it, and an emulator plug the
simulated station cannot mate with are ConfigErrors naming file, line and field; leaving it out means type2."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchctl.bench.config import load_bench
from benchctl.config import ConfigError
from benchctl.paths import BENCH_CONFIGS, ROOT

from support.bench_text import sim_bench_text

EV = "    device_id: 1\n"
GPIO_EV = """\
  ev:
    driver: gpio_ev
    pins: fake
    plug_pin: 5
    state_b_pin: 6
    state_c_pin: 13
"""


def type1_text() -> str:
    text = (BENCH_CONFIGS / "sim-type1.yaml").read_text(encoding="utf-8")
    return text.replace("pics: ../pics/", f"pics: {ROOT}/pics/")


def load_error(tmp_path: Path, text: str) -> ConfigError:
    path = tmp_path / "bench.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_bench(path)
    assert info.value.file == str(path)
    return info.value


def line_of(text: str, marker: str) -> int:
    (line,) = [n for n, row in enumerate(text.splitlines(), start=1) if marker in row and not row.lstrip()
               .startswith("#")]
    return line


def ev_block(text: str) -> tuple[int, int]:
    start = text.index("  ev:\n")
    return start, text.index("  card:\n", start)


def test_existing_benches_default_to_type2(tmp_path: Path) -> None:
    path = tmp_path / "bench.yaml"
    path.write_text(sim_bench_text(), encoding="utf-8")
    assert load_bench(path).roles["ev"].settings["plug"] == "type2"
    config = load_bench(BENCH_CONFIGS / "sim-type1.yaml")
    assert config.roles["ev"].settings["plug"] == "type1"
    assert config.simulator is not None and config.simulator.station.plug == "type1"
    assert config.values["latch_press_s"] == 0.3


def test_unknown_plug(tmp_path: Path) -> None:
    text = sim_bench_text().replace(EV, EV + "    plug: type3   # here\n", 1)
    err = load_error(tmp_path, text)
    assert (err.line, err.field) == (line_of(text, "# here"), "roles.ev.plug")
    assert "type1" in err.message and "tethered" in err.message


@pytest.mark.parametrize(("extra", "field", "fragment"), [
    ("    plug: type1\n    pp_rating_a: 32   # here\n    pp_pins: {32: 23}\n", "roles.ev.pp_rating_a",
     "a type1 plug has none the bench sets"),
    ("    plug: tethered\n    pp_pins: {32: 23}   # here\n", "roles.ev.pp_pins", "a tethered plug has none"),
    ("    latch_pin: 16   # here\n", "roles.ev.latch_pin", "a type2 plug has no latch switch S3"),
])
def test_settings_that_do_not_fit_the_plug(tmp_path: Path, extra: str, field: str, fragment: str) -> None:
    base = sim_bench_text()
    start, end = ev_block(base)
    text = base[:start] + GPIO_EV + extra + base[end:]
    err = load_error(tmp_path, text)
    assert (err.line, err.field) == (line_of(text, "# here"), field)
    assert fragment in err.message


def test_type1_emulator_on_a_type2_station(tmp_path: Path) -> None:
    text = sim_bench_text().replace(EV, EV + "    plug: type1   # here\n", 1)
    err = load_error(tmp_path, text)
    assert (err.line, err.field) == (line_of(text, "# here"), "roles.ev.plug")
    assert "simulated station's is type2" in err.message


def test_tethered_emulator_on_a_socket_station(tmp_path: Path) -> None:
    text = sim_bench_text().replace(EV, EV + "    plug: tethered   # here\n", 1)
    err = load_error(tmp_path, text)
    assert (err.line, err.field) == (line_of(text, "# here"), "roles.ev.plug")
    assert "fixed_cable: false" in err.message


def test_type1_station_with_a_default_emulator(tmp_path: Path) -> None:
    base = type1_text()
    text = base.replace("    plug: type1        #", "    #", 1)
    assert text != base
    err = load_error(tmp_path, text)
    assert (err.line, err.field) == (line_of(text, "plug: type1"), "simulator.station.plug")


def test_type1_station_needs_a_tethered_cable(tmp_path: Path) -> None:
    text = type1_text().replace("fixed_cable: true", "fixed_cable: false")
    err = load_error(tmp_path, text)
    assert err.field == "simulator.station.plug" and "set fixed_cable: true" in err.message
