"""How a case stops early: the step kinds raise these, the engine turns each into its verdict (FAIL, ERROR or
NOT_APPLICABLE). Kept apart from the engine so the step modules (steps/) can raise them without importing it."""

from __future__ import annotations

from .step import Step


class BenchLimit(Exception):
    """The bench itself could not take what the charger sent (a frame over the WebSocket size limit)."""


class ChargerContested(Exception):
    """Another client took over the charger's id without credentials: whose messages the case sees is unknown."""


class StepFailed(Exception):
    """A step the charger did not satisfy. `expected` says what the step awaited when no check of the step
    recorded it (a message that never came): the case's Checks then list the failure too."""

    def __init__(self, step: Step, number: int | None, reason: str, expected: str = "") -> None:
        super().__init__(reason)
        self.step = step
        self.number = number
        self.reason = reason
        self.expected = expected


class ConfigurationStateError(Exception):
    """The Before block of a case could not be established, so the case cannot be judged."""


class ConfigurationNotApplicable(ConfigurationStateError):
    """A key of the Configuration State is read-only on this charger and holds another value: the case does not
    apply to the charger as it is built, which says nothing about its conformance."""
