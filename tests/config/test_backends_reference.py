"""docs/backends.md is generated from the drivers' declarations, and every built-in driver is declared."""

from __future__ import annotations

import tomllib
from pathlib import Path

from benchctl.bench import registry
from benchctl.bench.reference import COMMAND, reference

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_reference_is_current() -> None:
    committed = (ROOT / "docs" / "backends.md").read_text(encoding="utf-8")
    assert committed == reference(), f"docs/backends.md is stale: regenerate it with `{COMMAND}`"


def test_every_built_in_driver_of_pyproject_is_registered_and_documented() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["benchctl.drivers"]
    specs = registry.all_specs()
    assert set(declared) <= set(specs), "reinstall (./dev does it when pyproject.toml changes): pip install -e ."
    text = reference()
    for name, target in declared.items():
        spec = specs[name]
        assert (spec.target, spec.distribution, spec.plugin) == (target, "benchctl", False)
        assert f"## `{name}`" in text
        for key in spec.schema.fields:
            assert f"| `{key}` |" in text, (name, key)


def test_a_setting_added_to_a_declaration_shows_in_the_reference_and_the_schema() -> None:
    from drivers.rfid.settings import ChameleonSettings

    spec = registry.spec("chameleon")
    assert spec.cls.settings is ChameleonSettings
    assert list(spec.schema.fields) == ["port", "baudrate", "timeout_s", "retries"]
    assert "| `retries` | integer >= 0 <= 10 | default `2` | tries after a first one that got no answer" in reference()
