"""The drivers a bench config may name: every entry point of the `benchctl.drivers` group, built-in or plug-in.

The built-in drivers are entry points of benchctl's own distribution (pyproject.toml), a plug-in's are entry
points of its own, so both are found, validated and checked the same way. Names come from the installed
metadata without importing anything; a driver's module is imported when a bench uses it (so a hardware library
is needed only on the bench that has that hardware), or when a listing needs every declaration (the kind
check's hint, docs/backends.md). A plug-in that cannot be imported, is no valid declaration, or takes a name
another distribution declares too is a DriverPluginError naming its distribution and entry point.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from benchctl.config.schema import Schema
from benchctl.config.typed import build
from drivers.base import Driver
from drivers.steplog import StepLog

GROUP = "benchctl.drivers"
BUILT_IN = "benchctl"  # the distribution of the built-in drivers

# The kind of gear each well-known role name must be; any other role name is a digital output (relay).
ROLE_KINDS = {"ev": "ev_emulator", "card": "rfid", "modem": "dongle", "meter": "meter"}
KIND_NAMES = {"ev_emulator": "an EV emulator", "rfid": "an RFID presenter", "dongle": "a dongle",
              "meter": "an energy meter", "digital_output": "a digital output (relay)"}


class DriverPluginError(Exception):
    """A `benchctl.drivers` entry point that is no usable driver; the message names the distribution and the
    entry point."""


def role_kind(role: str) -> str:
    return ROLE_KINDS.get(role, "digital_output")


@dataclass(frozen=True)
class DriverSpec:
    """One registered driver: its entry point and the declaration its class carries."""

    name: str
    cls: type[Driver]
    distribution: str
    target: str  # the entry point's "module:Class"

    @property
    def kind(self) -> str:
        return self.cls.kind

    @property
    def help(self) -> str:
        return self.cls.summary

    @property
    def plugin(self) -> bool:
        return self.distribution != BUILT_IN

    @property
    def schema(self) -> Schema:
        return self.cls.schema()

    def origin(self) -> str:
        return f"entry point '{self.name} = {self.target}' of distribution {self.distribution}"

    def build(self, role: str, settings: dict[str, Any], steplog: StepLog) -> Driver:
        """The driver of `role` from settings the schema validated (references resolved)."""
        assert self.cls.settings is not None
        return self.cls.create(role, build(self.cls.settings, settings), steplog)


def _distribution(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return dist.metadata["Name"] if dist is not None else "(unknown distribution)"


@cache
def _entry_points() -> dict[str, list[EntryPoint]]:
    found: dict[str, list[EntryPoint]] = {}
    for ep in entry_points(group=GROUP):
        same = [o for o in found.get(ep.name, []) if o.value == ep.value and _distribution(o) == _distribution(ep)]
        if not same:  # one distribution seen twice on the path (an editable install beside a built one) is one
            found.setdefault(ep.name, []).append(ep)
    return found


def names() -> list[str]:
    """Every registered driver name; imports nothing."""
    return sorted(_entry_points())


def known(name: str) -> bool:
    return name in _entry_points()


@cache
def spec(name: str) -> DriverSpec:
    """The declaration registered as `name` (KeyError when none is)."""
    eps = _entry_points()[name]
    if len(eps) > 1:
        eps = sorted(eps, key=lambda ep: (_distribution(ep) != BUILT_IN, _distribution(ep)))
        taken = "; ".join(f"'{ep.name} = {ep.value}' of distribution {_distribution(ep)}" for ep in eps)
        raise DriverPluginError(f"driver name '{name}' is declared by more than one entry point of group "
                                f"{GROUP}: {taken}; uninstall one, or rename the plug-in's entry point")
    ep = eps[0]
    where = f"entry point '{ep.name} = {ep.value}' of distribution {_distribution(ep)}"
    try:
        cls = ep.load()
    except Exception as exc:  # a plug-in may fail in any way while importing; say whose it is
        raise DriverPluginError(f"driver '{name}': cannot import {where}: {type(exc).__name__}: {exc}") from exc
    problem = declaration_problem(cls)
    if problem is not None:
        raise DriverPluginError(f"driver '{name}': {where}: {problem}")
    return DriverSpec(name, cls, _distribution(ep), ep.value)


def declaration_problem(cls: object) -> str | None:
    """What makes `cls` no driver declaration, else None."""
    if not isinstance(cls, type) or not issubclass(cls, Driver):
        return f"{cls!r} is not a subclass of drivers.base.Driver"
    if cls.kind not in KIND_NAMES:
        return f"{cls.__name__}.kind is {cls.kind!r}, not one of: {', '.join(KIND_NAMES)}"
    if cls.settings is None or not dataclasses.is_dataclass(cls.settings):
        return f"{cls.__name__}.settings must be a dataclass declared with benchctl.config.typed.setting()"
    try:
        cls.schema()
    except Exception as exc:  # a declaration schema_of cannot read: show why
        return f"{cls.__name__}.settings is not a valid settings declaration: {type(exc).__name__}: {exc}"
    return None


def all_specs() -> dict[str, DriverSpec]:
    """Every driver's declaration, importing each (the first broken plug-in raises)."""
    return {name: spec(name) for name in names()}


def driver_names_for(kind: str) -> list[str]:
    """The drivers of a kind, leaving out plug-ins that cannot be loaded (this only feeds hints)."""
    out = []
    for name in names():
        try:
            if spec(name).kind == kind:
                out.append(name)
        except DriverPluginError:
            continue
    return out


def forget() -> None:
    """Read the installed entry points again (after installing a plug-in in the running process)."""
    _entry_points.cache_clear()
    spec.cache_clear()
