"""The EV emulator role: what a scenario may ask of any EV emulator backend."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import asdict, dataclass

from ..base import Driver
from ..errors import DriverError
from .proximity import PLUG_NAMES

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
    """An EV emulator on a tester plug; `plug` (type1, type2 or tethered, see proximity.py) is set by the driver."""

    plug: str = "type2"

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

    async def set_latch(self, pressed: bool) -> None:
        """Press (True) or release the Type 1 coupler's latch release button, opening or closing S3.

        A backend that can press it overrides this; this one says why it cannot.
        """
        raise self.no_latch(f"the {self.backend} backend has no way to press the latch")

    def no_latch(self, why: str) -> DriverError:
        """The error for a latch this emulator cannot press: it names the driver, its plug and the reason."""
        return self.error(f"{why} (plug: {PLUG_NAMES.get(self.plug, self.plug)})")

    def latch_check(self) -> None:
        """Only a Type 1 coupler has the latch switch S3."""
        if self.plug != "type1":
            raise self.no_latch("only a Type 1 (SAE J1772) coupler has the latch switch S3")

    def pp_rating_check(self) -> None:
        """Only a Type 2 tester cable carries a PP resistor the emulator selects."""
        if self.plug != "type2":
            raise self.error(f"a PP cable rating is selected on a Type 2 tester cable only; this emulator's plug is "
                             f"{PLUG_NAMES.get(self.plug, self.plug)}, whose PP the bench does not set")
