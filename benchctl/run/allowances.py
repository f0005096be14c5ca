"""A run's PICS answers and the Appendix D allowances they switch on: the same for every kind of run (standalone,
follow, octt), so a followed case is judged as a run one is."""

from __future__ import annotations

from typing import Any

from benchctl.bench.config import BenchConfig
from benchctl.config.pics import MODE_1_2_ONLY, load_pics
from benchctl.scenario.status_rules import Allowances


def run_pics(config: BenchConfig, meta: dict[str, Any]) -> dict[str, Any] | None:
    """The PICS answers of a run, read once: those the plan was made with (run.json), or the bench's dut.pics."""
    if isinstance(meta.get("pics"), dict):
        return meta["pics"]
    if config.pics:
        return load_pics(config.pics).values()
    return None


def station_allowances(values: dict[str, Any] | None) -> Allowances:
    """The Appendix D allowances the run's PICS answers switch on; without a PICS, none."""
    if values is None:
        return Allowances()
    return Allowances(mode12_only=values.get("product_subtype") == MODE_1_2_ONLY,
                      evses=tuple(tuple(evse) for evse in values.get("evses") or ()))
