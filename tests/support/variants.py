"""The simulator variants the e2e harness runs cases on.

One charger cannot pass every case: Appendix C gives some cases only to a station WITHOUT a feature (TC_042_1
without a local list, TC_048_4 without reservations) or with a fixed cable. A variant is the default
simulator (bench_configs/sim.yaml, described by pics/sim.yaml) with a few `simulator.station` settings changed
and the PICS answers that change with them. Its PICS file is derived from pics/sim.yaml, so a variant can never
drift from the default; a case runs on the first variant whose plan includes it, so the PICS answers are
checked against what the simulator really does.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from benchctl.bench.config import BenchConfig
from benchctl.paths import ROOT
from benchctl.plan import load_pics
from benchctl.plan.appendix_c import load_appendix_c
from hil_sim.settings import PROFILES

PICS_DIR = ROOT / "pics"
SIM_PICS = PICS_DIR / "sim.yaml"
_DERIVED = Path(tempfile.mkdtemp(prefix="benchctl-variants-"))


@dataclass(frozen=True)
class Variant:
    name: str
    answers: dict[str, Any] = field(default_factory=dict)  # PICS answers that differ from pics/sim.yaml
    station: dict[str, Any] = field(default_factory=dict)  # simulator.station settings that differ from sim.yaml

    @cached_property
    def pics(self) -> Path:
        """pics/sim.yaml with this variant's answers, validated like any PICS file when it is loaded."""
        if not self.answers:
            return SIM_PICS
        data = yaml.safe_load(SIM_PICS.read_text(encoding="utf-8"))
        unknown = sorted(set(self.answers) - set(data))
        assert not unknown, f"variant {self.name}: pics/sim.yaml has no answer {unknown}"
        path = _DERIVED / f"sim-{self.name}.yaml"
        path.write_text(f"# pics/sim.yaml as the {self.name} variant of the simulator answers\n"
                        + yaml.safe_dump({**data, **self.answers}, sort_keys=False), encoding="utf-8")
        return path

    def apply(self, config: BenchConfig) -> BenchConfig:
        assert config.simulator is not None
        for name, value in self.station.items():
            assert hasattr(config.simulator.station, name), name
            setattr(config.simulator.station, name, value)
        config.pics = str(self.pics)
        return config


def _without(profile: str) -> list[str]:
    return [p for p in PROFILES if p != profile]


# the default first: a case in its plan runs there
VARIANTS = (
    Variant("sim"),
    # a tethered cable: no socket lock to open or to jam (TC_017_2, TC_018_2)
    Variant("tethered", {"fixed_cable": True, "can_report_lock_failure": False,
                         "can_trigger_unlock_failure": False}, {"fixed_cable": True}),
    # the same station declared as stopping transactions before it goes down: its backup supply holds it up
    # while it does, once StopTransactionsBeforePowerDown is set (TC_032_1)
    Variant("backup-power", {"power_loss_stop": "before_power_down"}),
    # a build without the Local Auth List Management profile (TC_042_1, TC_043_1)
    Variant("no-local-list", {"local_auth_list": False, "can_trigger_local_list_failure": False},
            {"profiles": _without("LocalAuthListManagement")}),
    # the same station declared without the security certificate: the unsigned firmware update cases (TC_044_x)
    Variant("no-security-cert", {"security_certification": False}),
    # a build without the Reservation profile that answers ReserveNow with Rejected (TC_048_4, TC_050_4)
    Variant("no-reservation", {"reservation": False, "reservation_charge_point": False,
                               "rejects_reserve_now": True}, {"profiles": _without("Reservation")}),
)


def variant(name: str) -> Variant:
    return next(v for v in VARIANTS if v.name == name)


def plan_of(variant: Variant) -> set[str]:
    """The cases Appendix C gives the variant's PICS."""
    values = load_pics(variant.pics).values()
    return {rule.id for rule in load_appendix_c() if rule.applies_if is None or rule.applies_if.holds(values)}


def variant_of_cases(case_ids: list[str]) -> dict[str, Variant]:
    """Each case's variant; a case no variant's plan includes runs on the default one (and says so there)."""
    plans = [(variant, plan_of(variant)) for variant in VARIANTS]
    return {case: next((v for v, plan in plans if case in plan), VARIANTS[0]) for case in case_ids}
