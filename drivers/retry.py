"""One retry and timeout policy for every driver: the words `timeout_s` and `retries` mean the same everywhere.

`timeout_s` bounds one try (one request and its answer, or one connect); `retries` is how many more tries
follow a first one that got no answer, so `retries: 0` sends once and `retries: 2` up to three times. A
refusal the gear answers (a Modbus exception, an error status) is an answer: it is never retried.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from benchctl.config.typed import setting

RETRIES_HELP = "tries after a first one that got no answer (0: send once); each try waits timeout_s"
MAX_RETRIES = 10


@dataclass(frozen=True)
class RetryPolicy:
    """How long one try may take and how many tries follow an unanswered first one."""

    timeout_s: float
    retries: int

    def __post_init__(self) -> None:
        if isinstance(self.retries, bool) or not isinstance(self.retries, int) or \
                not 0 <= self.retries <= MAX_RETRIES:
            raise ValueError(f"retries must be an integer 0..{MAX_RETRIES} (tries after the first), "
                             f"not {self.retries!r}")
        if isinstance(self.timeout_s, bool) or not isinstance(self.timeout_s, (int, float)) or \
                not self.timeout_s > 0:
            raise ValueError(f"timeout_s must be a positive number, not {self.timeout_s!r}")

    @property
    def tries(self) -> int:
        """How many times a request is sent at most: the first try and its retries."""
        return self.retries + 1

    def describe(self) -> str:
        """E.g. "3 tries of 1.0 s", for the error that ends the last one."""
        return f"{self.tries} {'try' if self.tries == 1 else 'tries'} of {self.timeout_s:g} s"


def timeout_setting(default: float, help: str = "how long one try waits for its answer") -> Any:
    """The `timeout_s` key of a driver's settings."""
    return setting(default=default, minimum=0.01, help=help)


def retries_setting(default: int = 2) -> Any:
    """The `retries` key of a driver's settings (see the module docstring)."""
    return setting(default=default, minimum=0, maximum=MAX_RETRIES, help=RETRIES_HELP)
