"""What every driver has: a role name, a backend name, an address, a step log and a lifecycle, and the
declaration a bench config is checked against (its kind and its settings, one dataclass).

A driver is declared once: the class names its `kind`, a one-line `summary`, what the gear does when the
controller disappears (`on_lost`), and `settings`, a dataclass whose fields are declared with
`benchctl.config.typed.setting()` (type, default, choices, bounds, help). It is registered by name in the
`benchctl.drivers` entry-point group (pyproject.toml for the built-in ones, a plug-in's own for others);
benchctl validates the bench config, shows `benchctl check` and writes docs/backends.md from that alone.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from benchctl.config.schema import Schema
from benchctl.config.typed import schema_of

from .errors import DriverError
from .steplog import StepLog


class Driver(ABC):
    """Base of every driver. Subclasses set `backend` and implement connect/close/safe_state/self_test."""

    backend: str = "driver"

    # the declaration (see the module docstring); a subclass that is no bench driver leaves `kind` empty
    kind: ClassVar[str] = ""
    settings: ClassVar[type | None] = None
    summary: ClassVar[str] = ""
    on_lost: ClassVar[str] = ""
    extra: ClassVar[str | None] = None  # the pyproject extra that holds its hardware library
    docs: ClassVar[str | None] = None  # the page under docs/ that tells more

    @classmethod
    def schema(cls) -> Schema:
        """What a bench config's role is validated against: the settings dataclass's schema."""
        assert cls.settings is not None, f"{cls.__name__} declares no settings"
        return schema_of(cls.settings)

    @classmethod
    def check_settings(cls, settings: dict[str, Any]) -> tuple[str, str] | None:
        """Settings that only make sense together, checked on load: (setting, message) for what is missing
        or misplaced, else None. Only presence may be judged: `${sim...}` references are not resolved yet."""
        return None

    @classmethod
    def read_files(cls, settings: dict[str, Any], base_dir: Path) -> dict[str, Any]:
        """The validated settings with the files they name (relative to the bench config) read in; a problem
        in such a file is a ConfigError naming its own file and line."""
        return settings

    @classmethod
    def create(cls, role: str, settings: Any, steplog: StepLog) -> "Driver":
        """The driver of `role` from its typed settings (an instance of `settings`): by default the constructor
        takes them as they are, `Driver(role, settings, steplog=...)`."""
        return cls(role, settings, steplog=steplog)  # type: ignore[call-arg]

    def __init__(self, role: str, address: str, steplog: StepLog | None = None) -> None:
        self.role = role
        self.address = address
        self.steplog = steplog if steplog is not None else StepLog()

    def error(self, message: str) -> DriverError:
        return DriverError(self.role, self.backend, self.address, message)

    async def connect(self) -> None:
        """Open the connection to the gear. Idempotent."""

    async def close(self) -> None:
        """Release the connection. Never raises for an already closed driver."""

    @abstractmethod
    async def safe_state(self) -> None:
        """Leave the gear harmless (EV unplugged, card removed, relays at their safe level)."""

    @abstractmethod
    async def self_test(self) -> dict[str, Any]:
        """Probe the gear and return what was read; raise DriverError when it does not answer."""
