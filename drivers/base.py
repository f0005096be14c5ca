"""What every driver has: a role name, a backend name, an address, a step log and a lifecycle."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from .errors import DriverError
from .steplog import StepLog


class Driver(ABC):
    """Base of every driver. Subclasses set `backend` and implement connect/close/safe_state/self_test."""

    backend: str = "driver"

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
