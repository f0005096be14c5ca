"""A Modbus EV emulator's register map in a YAML file of its own, which a bench config names
(`registers: maps/acme-ev.yaml`): register name -> address, every problem a ConfigError with that file's line."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from benchctl.config.marked import load_marked
from benchctl.config.schema import Field, Schema, validate

from .register_map import MAX_ADDRESS, RegisterMap

_ADDRESS_HELP = "0-based register address, as on the wire"


def register_schema() -> Schema:
    """Every register of the map, optional (a file overrides the default map); a null optional register is a
    register the device does not have."""
    return Schema({f.name: Field(int, minimum=0, maximum=MAX_ADDRESS, help=_ADDRESS_HELP)
                   for f in fields(RegisterMap)})


def read_register_file(path: Path) -> dict[str, int | None]:
    """The addresses the file gives (only those: the rest keep the default map's)."""
    doc = load_marked(path)
    written = doc.data if isinstance(doc.data, dict) else None
    validated = validate(doc, register_schema())
    out = {name: validated[name] for name in (written or {})}
    for name, value in out.items():
        if value is None and name not in RegisterMap.OPTIONAL:
            raise doc.error((name,), f"register {name} is not optional: give its address")
    try:
        RegisterMap.from_dict(out)
    except ValueError as exc:  # "register <name>: ...": point at that register's line
        name = str(exc).split(":")[0].removeprefix("register ").strip()
        raise doc.error((name,) if name in out else (), str(exc)) from None
    return out
