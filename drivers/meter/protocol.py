"""The energy meter role: what a scenario may ask of any reference meter backend."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import asdict, dataclass

from ..base import Driver


@dataclass(frozen=True)
class MeterReading:
    """One reading of a reference meter. Per-phase lists are in phase order (L1, L2, L3)."""

    voltage_v: list[float]  # line-to-neutral voltage per phase
    current_a: list[float]  # current per phase
    power_w: float  # total active power, all phases
    energy_wh: float  # total active energy the meter has counted
    frequency_hz: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class EnergyMeterProtocol(Driver):
    """A reference energy meter between the supply and the charger.

    A meter only measures: it has no outputs, so `safe_state()` has nothing to do and must not touch the
    gear; a bench can call it on every role without a meter ever being written to.
    """

    @abstractmethod
    async def read(self) -> MeterReading:
        """Read voltages, currents, power, energy and frequency at once."""

    async def safe_state(self) -> None:
        """Nothing: a meter has no outputs to leave harmless."""
