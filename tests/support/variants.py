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
)


def _in_plan(variant: Variant) -> set[str]:
    values = load_pics(variant.pics).values()
    return {rule.id for rule in load_appendix_c() if rule.applies_if is None or rule.applies_if.holds(values)}


def variant_of_cases(case_ids: list[str]) -> dict[str, Variant]:
    """Each case's variant; a case no variant's plan includes runs on the default one (and says so there)."""
    plans = [(variant, _in_plan(variant)) for variant in VARIANTS]
    return {case: next((v for v, plan in plans if case in plan), VARIANTS[0]) for case in case_ids}
