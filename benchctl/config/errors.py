"""The one error type of every YAML file benchctl reads."""

from __future__ import annotations


class ConfigError(Exception):
    """A file is not what benchctl expects. The message names the file, the line and the field."""

    def __init__(self, file: str, line: int | None, field: str, message: str) -> None:
        self.file = file
        self.line = line
        self.field = field
        self.message = message
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {field or '(top level)'}: {message}")
