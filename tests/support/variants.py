"""The simulator variants the e2e harness runs cases on, from the catalogue in hil_sim/variants.py.

One charger cannot pass every case: Appendix C gives some cases only to a station WITHOUT a feature (TC_042_1
without a local list, TC_048_4 without reservations) or with a fixed cable. Other variants are conforming
choices OCPP leaves open (Charging before StartTransaction, power-only smart charging, ...) on which every case
of their plan must pass as well. A variant is the default simulator (bench_configs/sim.yaml, described by
pics/sim.yaml) with some `simulator.station` settings, PICS answers, bench values and dut settings changed; its
PICS file is derived from pics/sim.yaml, so a variant can never drift from the default. In the healthy e2e run
a case runs on the first variant whose plan includes it, so the PICS answers are checked against what the
simulator really does; `run_plan` runs a chosen case list on a chosen variant.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from benchctl.bench.config import BenchConfig, load_bench
from benchctl.paths import DEFAULT_BENCH, ROOT, SCENARIOS
from benchctl.plan import load_pics
from benchctl.plan.appendix_c import load_appendix_c
from benchctl.run.results import CaseResult
from benchctl.run.rundir import RunDir
from benchctl.run.runner import run_cases
from benchctl.run.variant import apply_variant, variant_pics
from benchctl.scenario.model import load_scenario
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
        apply_variant(config, self.name, _DERIVED)
        config.pics = str(self.pics)
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


def run_plan(variant: Variant, case_ids: list[str], tmp: Path, bench: Path = DEFAULT_BENCH,
             config: BenchConfig | None = None) -> list[CaseResult]:
    """Run the cases (ids, in the order given) in ONE run on the variant, as `benchctl run --sim-variant` does;
    the run directory is made under `tmp`. A case outside the variant's plan is refused: it says nothing about
    the variant."""
    outside = sorted(set(case_ids) - in_plan(variant))
    assert not outside, f"not in the plan of variant {variant.name}: {', '.join(outside)}"
    chosen = [load_scenario(SCENARIOS / f"{case}.yaml") for case in case_ids]
    config = variant.apply(config if config is not None else load_bench(bench))
    return asyncio.run(run_cases(config, chosen, RunDir.create(tmp, "sim")))
