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


class ConfigErrors(ConfigError):
    """Every problem found in a file (and the files it includes), in the order found; as a ConfigError it is the
    first one, so code that handles one error handles these too. str() gives one line per problem."""

    def __init__(self, errors: list[ConfigError]) -> None:
        first = errors[0]
        super().__init__(first.file, first.line, first.field, first.message)
        self.errors = errors

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


def each_error(exc: ConfigError) -> list[ConfigError]:
    """The single problems of an error (itself when it is one)."""
    return list(exc.errors) if isinstance(exc, ConfigErrors) else [exc]


class Collector:
    """Gathers the ConfigErrors of independent checks, so a file reports all its problems, not the first."""

    def __init__(self) -> None:
        self.errors: list[ConfigError] = []

    def __enter__(self) -> "Collector":
        return self

    def __exit__(self, kind: type | None, exc: BaseException | None, tb: object) -> bool:
        if isinstance(exc, ConfigError):
            self.errors.extend(each_error(exc))
            return True  # swallowed: the caller goes on with its next check
        return False

    def add(self, error: ConfigError) -> None:
        self.errors.extend(each_error(error))

    def raise_any(self) -> None:
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise ConfigErrors(self.errors)
