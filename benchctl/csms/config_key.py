"""A configuration key as the charger reports it in GetConfiguration.conf: written to run.json by the run that read
it, read back by the reports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ConfigKey:
    key: str
    readonly: bool
    value: str | None

    def as_record(self) -> dict[str, Any]:
        return {"key": self.key, "readonly": self.readonly, "value": self.value}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "ConfigKey":
        """A configurationKey entry, or a run.json record of one (tolerating a hand-edited file)."""
        value = record.get("value")
        return cls(str(record.get("key", "")), bool(record.get("readonly", False)), None if value is None else str(value))
