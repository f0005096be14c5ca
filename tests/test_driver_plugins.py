"""Driver plug-ins: a driver of another installed distribution, found through the `benchctl.drivers` entry-point
group, is validated, checked and used exactly like a built-in one; a broken plug-in is an error naming its
distribution and entry point.

tests/plugins/benchctl-example-relay is installed with pip into a directory put on sys.path (importlib.metadata
then sees its dist-info as it would in site-packages), and switches the simulated charger's mains over Modbus
TCP in TC_001_CS (power cycle, then the cold boot), and in `benchctl check`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchctl.bench import registry
from benchctl.bench.config import load_bench
from benchctl.cli import main
from benchctl.config import ConfigError
from benchctl.paths import SCENARIOS
from benchctl.run.rundir import RunDir
from benchctl.run.standalone import run_cases
from benchctl.scenario.model import load_scenario

from support.bench_text import sim_bench_text

PLUGIN = Path(__file__).parent / "plugins" / "benchctl-example-relay"
SIM_MAINS = ("  mains:\n    driver: modbus_coil\n    host: ${sim.modbus.host}\n    port: ${sim.modbus.port}\n"
             "    device_id: 2\n    coil: 0\n")
ACME_MAINS = ("  mains:\n    driver: acme_relay\n    host: ${sim.modbus.host}\n    port: ${sim.modbus.port}\n"
              "    device_id: 2\n    channel: 1\n")


def _on_path(directory: Path) -> Iterator[None]:
    sys.path.insert(0, str(directory))
    registry.forget()
    try:
        yield
    finally:
        sys.path.remove(str(directory))
        for name in [m for m in sys.modules if m.startswith("benchctl_example_relay") or m.startswith("bad_plugin")]:
            del sys.modules[name]
        registry.forget()


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    target = tmp_path_factory.mktemp("site")
    source = tmp_path_factory.mktemp("plugin") / PLUGIN.name  # a copy: the build leaves its files beside the source
    shutil.copytree(PLUGIN, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    result = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                             "--no-deps", "--target", str(target), str(source)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"pip install of the example plug-in failed:\n{result.stdout}{result.stderr}"
    yield from _on_path(target)


def _bench(tmp_path: Path, mains: str) -> Path:
    """The sim bench with another driver for mains (its `safe_level: true` line stays)."""
    text = sim_bench_text()
    assert SIM_MAINS in text
    text = text.replace(SIM_MAINS, mains)
    path = tmp_path / "bench.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_plug_in_is_registered_like_a_built_in_driver(installed: Path) -> None:
    assert "acme_relay" in registry.names()
    spec = registry.spec("acme_relay")
    assert (spec.kind, spec.distribution, spec.plugin) == ("digital_output", "benchctl-example-relay", True)
    assert list(spec.schema.fields)[-2:] == ["channel", "safe_level"]  # its own after the shared Modbus link's


async def test_a_case_runs_with_the_plug_in_switching_mains(installed: Path, tmp_path: Path) -> None:
    config = load_bench(_bench(tmp_path, ACME_MAINS))
    assert config.roles["mains"].driver == "acme_relay"
    run_dir = RunDir.create(tmp_path / "runs", "sim")
    (result,) = await run_cases(config, [load_scenario(SCENARIOS / "TC_001_CS.yaml")], run_dir)
    # the case starts with a power cycle: only a mains relay that really switched makes the station boot again
    assert result.verdict == "PASS", f"{result.verdict}: {result.reason}"


def test_check_shows_the_plug_in_and_its_distribution(installed: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "300")
    assert main(["check", "--bench", str(_bench(tmp_path, ACME_MAINS)), "--timeout", "5"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if " mains " in line)
    assert "acme_relay (benchctl-example-relay)" in row and "digital_output" in row and "OK" in row


def test_its_settings_are_validated_with_file_and_line(installed: Path, tmp_path: Path) -> None:
    path = _bench(tmp_path, ACME_MAINS.replace("channel: 1", "channel: 0\n    chanel: 2"))
    with pytest.raises(ConfigError) as caught:
        load_bench(path)
    text = path.read_text().splitlines()
    line = {key: i + 1 for i, row in enumerate(text) for key in ("channel: 0", "chanel: 2") if row.strip() == key}
    assert f"{path}:{line['chanel: 2']}: roles.mains.chanel: unknown key; did you mean 'channel'?" in str(caught.value)
    assert f"{path}:{line['channel: 0']}: roles.mains.channel: 0 is below the minimum 1" in str(caught.value)


BAD_PLUGINS = {
    "broken": ("broken_relay = bad_plugin_broken:Relay", "import no_such_library_for_benchctl\n",
               "driver 'broken_relay': cannot import entry point 'broken_relay = bad_plugin_broken:Relay' of distribution bad-plugin: "
               "ModuleNotFoundError: No module named 'no_such_library_for_benchctl'"),
    "undeclared": ("loose_relay = bad_plugin_undeclared:Relay",
                   "from drivers.relay.protocol import DigitalOutputProtocol\n"
                   "class Relay(DigitalOutputProtocol):\n    kind = 'digital_output'\n    settings = dict\n",
                   "driver 'loose_relay': entry point 'loose_relay = bad_plugin_undeclared:Relay' of distribution bad-plugin: "
                   "Relay.settings must be a dataclass declared with benchctl.config.typed.setting()"),
    "taken": ("modbus_coil = bad_plugin_taken:Relay", "Relay = None\n",
              "driver name 'modbus_coil' is declared by more than one entry point of group benchctl.drivers: "
              "'modbus_coil = drivers.relay.modbus_coil:ModbusCoilOutput' of distribution benchctl; "
              "'modbus_coil = bad_plugin_taken:Relay' of distribution bad-plugin; uninstall one, or rename the "
              "plug-in's entry point"),
}


@pytest.fixture(params=sorted(BAD_PLUGINS))
def bad_plugin(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A distribution as pip lays it out (a dist-info with METADATA and entry_points.txt) whose driver is broken."""
    entry, source, message = BAD_PLUGINS[request.param]
    site = tmp_path_factory.mktemp("bad")
    module = entry.split("= ")[1].split(":")[0]
    (site / f"{module}.py").write_text(source)
    info = site / "bad_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: bad-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[benchctl.drivers]\n{entry}\n")
    gen = _on_path(site)
    next(gen)
    yield entry.split(" =")[0], message
    next(gen, None)


def test_a_broken_plug_in_is_an_error_naming_its_distribution_and_entry_point(
        bad_plugin: tuple[str, str], tmp_path: Path) -> None:
    name, message = bad_plugin
    path = _bench(tmp_path, SIM_MAINS.replace("modbus_coil", name))
    with pytest.raises(ConfigError) as caught:
        load_bench(path)
    line = path.read_text().splitlines().index(f"    driver: {name}") + 1
    assert f"{path}:{line}: roles.mains.driver: {message}" in str(caught.value).splitlines()
