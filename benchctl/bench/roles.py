"""A bench config's roles: each validated against its driver's declaration (drivers/base.py, found through
registry.py), and its `${sim...}` references resolved against the simulator's endpoints when the bench is built."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchctl.config import ConfigError, MarkedDoc
from benchctl.config.schema import Field, check_value, validate
from benchctl.config.suggest import did_you_mean

from . import registry
from .registry import KIND_NAMES, DriverPluginError, driver_names_for, role_kind


@dataclass
class RoleConfig:
    name: str
    driver: str
    settings: dict[str, Any]
    line: int | None
    setting_lines: dict[str, int | None] = field(default_factory=dict)


def validate_role(doc: MarkedDoc, name: str, raw: dict[str, Any], base_dir: Path) -> RoleConfig:
    path: tuple[str | int, ...] = ("roles", name)
    kind = role_kind(name)
    if not isinstance(raw, dict):
        raise doc.error(path, f"expected a mapping with 'driver' and its settings, got {raw!r}")
    if "driver" not in raw:
        raise doc.error(path, f"missing required key 'driver' (drivers for this role: "
                              f"{', '.join(driver_names_for(kind)) or 'none yet'})")
    driver = raw["driver"]
    if not isinstance(driver, str) or not registry.known(driver):
        hint = did_you_mean(driver, registry.names()) if isinstance(driver, str) else ""
        raise doc.error(path + ("driver",), f"unknown driver {driver!r}{hint}; known drivers: "
                                            f"{', '.join(registry.names())}")
    try:
        spec = registry.spec(driver)
    except DriverPluginError as exc:
        raise doc.error(path + ("driver",), str(exc)) from None
    if spec.kind != kind:
        raise doc.error(path + ("driver",), f"role '{name}' needs {KIND_NAMES[kind]}, but {driver} is "
                                            f"{KIND_NAMES[spec.kind]} (use one of: {', '.join(driver_names_for(kind))})")
    settings = validate(doc, spec.schema, {k: v for k, v in raw.items() if k != "driver"}, path)
    if (problem := spec.cls.check_settings(settings)) is not None:
        key, message = problem
        if key in raw:
            raise doc.error(path + (key,), f"{key}: {message}")
        raise doc.error(path, f"missing key '{key}': {message}")
    lines = {key: doc.line(path + (key,)) for key in settings}
    try:
        settings = spec.cls.read_files(settings, base_dir)
    except (OSError, ValueError) as exc:
        raise doc.error(path, str(exc)) from None
    return RoleConfig(name, driver, settings, doc.line(path), lines)


def resolve_refs(role: RoleConfig, endpoints: dict[str, Any], file: str) -> dict[str, Any]:
    """Replace `${sim.<gear>.<field>}` references in a role's settings with the simulator's endpoints."""
    schema = registry.spec(role.driver).schema
    out = {}
    for key, value in role.settings.items():
        if isinstance(value, str) and value.startswith("${"):
            name = value[2:-1]
            if name not in endpoints:
                raise ConfigError(file, role.setting_lines.get(key, role.line), f"roles.{role.name}.{key}",
                                  f"unknown reference {value}{did_you_mean(name, endpoints)}; available: "
                                  f"{', '.join(sorted(endpoints)) or 'none (no simulator)'}")
            field = schema.fields[key]
            assert isinstance(field, Field)
            value = check_value(field, endpoints[name],
                                lambda m: ConfigError(file, role.setting_lines.get(key, role.line),
                                                      f"roles.{role.name}.{key}", m))
        out[key] = value
    return out
