"""The EV emulator role: what a scenario may ask of any EV emulator backend."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import asdict, dataclass

from ..base import Driver

CP_STATES = ("A", "B", "C", "D", "E", "F")


@dataclass(frozen=True)
class CPMeasurement:
    """What the emulator measures on the Control Pilot line."""

    high_v: float
    low_v: float
    duty_pct: float  # 0 when there is no PWM (DC level), 100 for a constant high level
    frequency_hz: float
    state: str  # the CP state the measured high level corresponds to
    current_limit_a: float | None  # derived from the duty; None when the duty allows no charging

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class EVEmulatorProtocol(Driver):
    """An EV emulator on a tester plug."""

    @abstractmethod
    async def set_plug(self, connected: bool) -> None:
        """Close or open the plug relay (the cable reaches the EV emulator or not)."""

    @abstractmethod
    async def set_cp_state(self, state: str) -> None:
        """Switch the CP resistors for state A to F (F is a short to −12 V, E a short to 0 V)."""

    @abstractmethod
    async def set_diode_fault(self, fault: bool) -> None:
        """Short the CP diode."""

    @abstractmethod
    async def set_pp_rating(self, amps: int) -> None:
        """Select the PP resistor for a cable rating (13, 20, 32 or 63 A)."""

    @abstractmethod
    async def measure(self) -> CPMeasurement:
        """Read CP voltages, PWM duty and frequency."""
