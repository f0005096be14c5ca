"""The simulator variants the e2e harness runs cases on.

One charger cannot pass every case: Appendix C gives some cases only to a station WITHOUT a feature (TC_042_1
without a local list, TC_048_4 without reservations) or with a fixed cable. Each variant is a PICS file that
describes it and the `simulator.station` settings that make hil_sim that station; a case runs on the first
variant whose plan includes it, so the PICS files are checked against what the simulator really does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchctl.bench.config import BenchConfig
from benchctl.paths import ROOT
from benchctl.plan import load_pics
from benchctl.plan.appendix_c import load_appendix_c
from hil_sim.settings import PROFILES

PICS_DIR = ROOT / "pics"


@dataclass(frozen=True)
class Variant:
    name: str
    pics: Path
    station: dict[str, Any] = field(default_factory=dict)  # simulator.station settings that differ from sim.yaml

    def apply(self, config: BenchConfig) -> BenchConfig:
        assert config.simulator is not None
        for name, value in self.station.items():
            assert hasattr(config.simulator.station, name), name
            setattr(config.simulator.station, name, value)
        config.pics = str(self.pics)
        return config


# the default first: a case in its plan runs there
VARIANTS = (
    Variant("sim", PICS_DIR / "sim.yaml"),
    Variant("tethered", PICS_DIR / "sim-tethered.yaml", {"fixed_cable": True}),
    Variant("backup-power", PICS_DIR / "sim-backup-power.yaml"),  # the same station, declared as TC_032_1 needs
    # a build without the Local Auth List Management profile (TC_042_1, TC_043_1)
    Variant("no-local-list", PICS_DIR / "sim-no-local-list.yaml",
            {"profiles": [p for p in PROFILES if p != "LocalAuthListManagement"]}),
    # the same station, declared without the security certificate: the unsigned firmware update cases (TC_044_x)
    Variant("no-security-cert", PICS_DIR / "sim-no-security-cert.yaml"),
    # a build without the Reservation profile that answers ReserveNow with Rejected (TC_048_4, TC_050_4)
    Variant("no-reservation", PICS_DIR / "sim-no-reservation.yaml",
            {"profiles": [p for p in PROFILES if p != "Reservation"]}),
)


def _in_plan(variant: Variant) -> set[str]:
    values = load_pics(variant.pics).values()
    return {rule.id for rule in load_appendix_c() if rule.applies_if is None or rule.applies_if.holds(values)}


def variant_of_cases(case_ids: list[str]) -> dict[str, Variant]:
    """Each case's variant; a case no variant's plan includes runs on the default one (and says so there)."""
    plans = [(variant, _in_plan(variant)) for variant in VARIANTS]
    return {case: next((v for v, plan in plans if case in plan), VARIANTS[0]) for case in case_ids}
