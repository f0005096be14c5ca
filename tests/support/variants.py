"""The simulator variants the e2e harness runs cases on, from the catalogue in hil_sim/variants.py.

One charger cannot pass every case: Appendix C gives some cases only to a station WITHOUT a feature (TC_042_1
without a local list, TC_048_4 without reservations) or with a fixed cable. Other variants are conforming
choices OCPP leaves open (Charging before StartTransaction, power-only smart charging, ...) on which every case
of their plan must pass as well. A variant is the default simulator (bench_configs/sim.yaml, described by
pics/sim.yaml) with some `simulator.station` settings, PICS answers, bench values and dut settings changed; its
PICS file is derived from pics/sim.yaml, so a variant can never drift from the default, and its PICS answers are
checked against what the simulator really does (tests/e2e/test_cases.py runs the whole plan of every variant).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from benchctl.bench.config import BenchConfig
from benchctl.config.pics import load_pics
from benchctl.paths import ROOT
from benchctl.plan.appendix_c import load_appendix_c
from benchctl.run.variant import apply_variant, variant_pics
from hil_sim import variants as catalogue

PICS_DIR = ROOT / "pics"
SIM_PICS = PICS_DIR / "sim.yaml"
_DERIVED = Path(tempfile.mkdtemp(prefix="benchctl-variants-"))


@dataclass(frozen=True)
class Variant:
    """A catalogue entry as the harness uses it: its derived PICS, and applied to a bench config."""

    entry: catalogue.Variant

    @property
    def name(self) -> str:
        return self.entry.name

    @property
    def answers(self) -> dict[str, Any]:
        return self.entry.answers

    @property
    def station(self) -> dict[str, Any]:
        return self.entry.station

    @cached_property
    def pics(self) -> Path:
        """pics/sim.yaml with this variant's answers, validated like any PICS file when it is loaded."""
        return variant_pics(self.entry, SIM_PICS, _DERIVED)

    def apply(self, config: BenchConfig) -> BenchConfig:
        """The variant on the sim bench: its PICS is then this variant's `pics` (derived from the bench's own)."""
        apply_variant(config, self.name, _DERIVED)
        return config


# the default first: a case in its plan runs there
VARIANTS = tuple(Variant(v) for v in catalogue.VARIANTS.values())


def variant(name: str) -> Variant:
    return next(v for v in VARIANTS if v.name == name)


def in_plan(variant: Variant) -> set[str]:
    """The case ids Appendix C puts in the plan of the variant's PICS."""
    values = load_pics(variant.pics).values()
    return {rule.id for rule in load_appendix_c() if rule.applies_if is None or rule.applies_if.holds(values)}


def variant_of_cases(case_ids: list[str]) -> dict[str, Variant]:
    """Each case's variant; a case no variant's plan includes runs on the default one (and says so there)."""
    plans = [(variant, in_plan(variant)) for variant in VARIANTS]
    return {case: next((v for v, plan in plans if case in plan), VARIANTS[0]) for case in case_ids}
