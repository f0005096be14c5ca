"""The mobile link of the simulated world: which generation the dongle uses, its signal and link figures.

Both dongle simulators (AT stick, HiLink) set the generation here and read the signal from here, and the
link endpoint shapes its traffic with the serving generation's figures, so switching the dongle to 2G
makes the measured link slow. Attach one to a World with `CellularLink.of(world)`: every simulator given
the same World then shares it (the World itself stays as it is).

The figures are data: pass other `profiles` (or change `coverage`) to make a different radio environment.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable

from ..world import World

GENERATIONS = ("2G", "3G", "4G")
SETTINGS = GENERATIONS + ("auto",)


@dataclass(frozen=True)
class LinkShaping:
    latency_s: float  # added to every round trip
    bandwidth_Bps: float  # bytes per second, downstream and upstream


@dataclass(frozen=True)
class CellSignal:
    """What the modem measures; None where the radio access technology has no such figure."""

    rssi_dbm: float
    rsrp_dbm: float | None = None  # LTE
    sinr_db: float | None = None  # LTE
    rsrq_db: float | None = None  # LTE
    rscp_dbm: float | None = None  # WCDMA
    ecio_db: float | None = None  # WCDMA


@dataclass(frozen=True)
class GenerationProfile:
    shaping: LinkShaping
    signal: CellSignal


# Typical figures of a fair cell of each generation (all on the grids of Huawei's ^HCSQ encoding).
DEFAULT_PROFILES: dict[str, GenerationProfile] = {
    "2G": GenerationProfile(LinkShaping(latency_s=0.400, bandwidth_Bps=5_000),
                            CellSignal(rssi_dbm=-79)),
    "3G": GenerationProfile(LinkShaping(latency_s=0.150, bandwidth_Bps=100_000),
                            CellSignal(rssi_dbm=-71, rscp_dbm=-83, ecio_db=-6.5)),
    "4G": GenerationProfile(LinkShaping(latency_s=0.040, bandwidth_Bps=1_000_000),
                            CellSignal(rssi_dbm=-67, rsrp_dbm=-95, sinr_db=12.4, rsrq_db=-10.5)),
}

Listener = Callable[[str, Any], None]
_ATTRIBUTE = "_hil_sim_cellular_link"


class CellularLink:
    """The dongle's radio link: its setting, the generations with coverage, and what each one gives."""

    def __init__(
        self,
        profiles: dict[str, GenerationProfile] | None = None,
        coverage: tuple[str, ...] = GENERATIONS,
        generation: str = "auto",
    ) -> None:
        self.profiles = dict(DEFAULT_PROFILES if profiles is None else profiles)
        missing = [g for g in GENERATIONS if g not in self.profiles]
        if missing:
            raise ValueError(f"profiles lack {', '.join(missing)}")
        self.coverage = tuple(coverage)
        self._check_setting(generation)
        self.generation = generation  # what the dongle is set to: 2G/3G/4G/auto
        self._listeners: list[Listener] = []

    @classmethod
    def of(cls, world: World) -> "CellularLink":
        """The link that belongs to this world, made on first use."""
        link = world.__dict__.get(_ATTRIBUTE)
        if link is None:
            link = cls()
            setattr(world, _ATTRIBUTE, link)
        return link

    @staticmethod
    def _check_setting(generation: str) -> None:
        if generation not in SETTINGS:
            raise ValueError(f"generation must be one of {', '.join(SETTINGS)}, not {generation!r}")

    # changes --------------------------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _tell(self, name: str, value: Any) -> None:
        for listener in list(self._listeners):
            listener(name, value)

    def set_generation(self, generation: str) -> None:
        self._check_setting(generation)
        if generation != self.generation:
            self.generation = generation
            self._tell("generation", generation)

    def set_coverage(self, *generations: str) -> None:
        """Generations the cell site offers (none: no service anywhere)."""
        for g in generations:
            if g not in GENERATIONS:
                raise ValueError(f"no generation {g!r}")
        self.coverage = tuple(generations)
        self._tell("coverage", self.coverage)

    def set_signal(self, generation: str, signal: CellSignal) -> None:
        self.profiles[generation] = replace(self.profiles[generation], signal=signal)
        self._tell("signal", generation)

    def set_shaping(self, generation: str, shaping: LinkShaping) -> None:
        self.profiles[generation] = replace(self.profiles[generation], shaping=shaping)
        self._tell("shaping", generation)

    # what the dongle gets -------------------------------------------------------------------------

    def serving(self) -> str | None:
        """The generation in use: the one set if it has coverage, the best covered one on auto, else None."""
        if self.generation == "auto":
            for g in reversed(GENERATIONS):
                if g in self.coverage:
                    return g
            return None
        return self.generation if self.generation in self.coverage else None

    def signal(self) -> CellSignal | None:
        serving = self.serving()
        return None if serving is None else self.profiles[serving].signal

    def shaping(self) -> LinkShaping | None:
        """Figures of the serving generation; None without service (nothing gets through)."""
        serving = self.serving()
        return None if serving is None else self.profiles[serving].shaping
