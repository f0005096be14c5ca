"""Which cases a run runs, and the run's log file: shared by `benchctl run` and the fleet agent, so a job on
a bench chooses and logs exactly as the command line does."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchctl.bench.config import BenchConfig
from benchctl.config.suggest import did_you_mean_aside
from benchctl.scenario.model import Scenario, load_scenarios


class SelectionError(Exception):
    """The selection cannot run on this bench; the message says why."""


@dataclass
class Selection:
    config: BenchConfig
    scenarios: list[Scenario]
    meta: dict[str, Any]  # what run.json keeps so `--resume` can go on
    missing: list[str] = field(default_factory=list)  # cases the plan wants that have no scenario file


def select(scenarios: list[Scenario], ids: list[str], keyword: str | None,
           group: str | None = None) -> list[Scenario]:
    def wanted(s: Scenario) -> bool:
        if ids:
            short = s.id.removeprefix("TC_").removesuffix("_CS")
            if not any(i in (s.id, short) or (i.isdigit() and short.split("_")[0].lstrip("0") == i.lstrip("0")
                                               and "_" not in short) for i in ids):
                return False
        if keyword and keyword.lower() not in f"{s.id} {s.title}".lower():
            return False
        if group and group.lower() not in s.group.lower():
            return False
        return True

    return [s for s in scenarios if wanted(s)]


def unknown_cases(scenarios: list[Scenario], ids: list[str]) -> str | None:
    """What is wrong with case ids no scenario has, each with the case it probably means; None when all are
    known."""
    bad = [i for i in ids if not select(scenarios, [i], None)]
    if not bad:
        return None
    return f"unknown case{'s' if len(bad) > 1 else ''} " + ", ".join(f"{i!r}{_case_meant(i, scenarios)}" for i in bad)


def _case_meant(case: str, scenarios: list[Scenario]) -> str:
    """' (did you mean ...)' for an unknown case id: the case with its number written out (TC_37_2 is
    TC_037_2_CS), else the closest id."""
    ids = [s.id for s in scenarios]
    number = re.search(r"\d+", case)
    if number:
        padded = case[:number.start()] + number.group().zfill(3) + case[number.end():]
        written_out = "TC_" + padded.upper().removeprefix("TC_").removesuffix("_CS") + "_CS"
        if written_out in ids:
            return f" (did you mean {written_out!r}?)"
    return did_you_mean_aside(case, ids)


def choose_cases(config: BenchConfig, scenarios_dir: Path, cases: list[str], keyword: str | None,
                 group: str | None, pics_file: Path | None, sim_faults: list[str], retries: int,
                 include_uncertified: bool = False, sim_variant: str | None = None) -> Selection:
    """The cases in order: the ids / keyword / group given, or else the plan of the PICS (`pics_file`, or the
    bench's dut.pics; with `include_uncertified` also the cases Appendix C does not list). Simulator faults are
    switched on in `config`, and the simulator variant `sim_variant` applied to it (its derived PICS too)."""
    if sim_variant:
        from .variant import VariantError, apply_variant

        try:
            apply_variant(config, sim_variant)
        except VariantError as exc:
            raise SelectionError(str(exc)) from exc
    if sim_faults:
        if config.simulator is None:
            raise SelectionError(f"simulator faults ({', '.join(sim_faults)}) need a bench with a simulator; "
                                 f"{config.file} has none")
        from hil_sim.faults import unknown_faults_message

        problem = unknown_faults_message(sim_faults)
        if problem:
            raise SelectionError(problem)
        config.simulator.faults = sorted(set(config.simulator.faults) | set(sim_faults))
    available = load_scenarios(scenarios_dir)
    unknown = unknown_cases(available, cases)
    if unknown:
        raise SelectionError(unknown)
    scenarios = select(available, cases, keyword, group)
    meta: dict[str, Any] = {"scenarios_dir": str(Path(scenarios_dir).resolve()), "retries": retries}
    if sim_variant:
        meta["sim_variant"] = sim_variant  # a resumed run applies it again
    missing: list[str] = []
    pics_file = pics_file or (Path(config.pics) if config.pics else None)
    if pics_file is not None:
        from benchctl.config.pics import load_pics
        from benchctl.plan import make_plan, plan_as_records

        pics = load_pics(pics_file)
        config.pics = str(Path(pics_file).resolve())  # the scenarios' `pics.<field>` come from the same file
        plan = make_plan(pics, available, include_uncertified)
        meta.update({"pics_file": str(pics_file), "pics": pics.values(), "plan": plan_as_records(plan)})
        if not (cases or keyword or group):
            planned = {e.id for e in plan if e.included and e.has_scenario}
            scenarios = [s for s in scenarios if s.id in planned]
            missing = [e.id for e in plan if e.included and not e.has_scenario]
    if not scenarios:
        raise SelectionError("no case matches the selection")
    return Selection(config, scenarios, meta, missing)


class run_log:
    """The run directory's benchctl.log at INFO, whatever level the console shows."""

    def __init__(self, run_dir: Path) -> None:
        self.handler = logging.FileHandler(run_dir / "benchctl.log", encoding="utf-8")
        self.handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        self.handler.setLevel(logging.INFO)

    def __enter__(self) -> None:
        root = logging.getLogger()
        self.previous = root.level
        self.quiet = [(h, h.level) for h in root.handlers]
        for handler, _ in self.quiet:
            handler.setLevel(max(handler.level, self.previous))
        root.addHandler(self.handler)
        root.setLevel(min(self.previous or logging.WARNING, logging.INFO))

    def __exit__(self, *exc: object) -> None:
        root = logging.getLogger()
        root.removeHandler(self.handler)
        root.setLevel(self.previous)
        for handler, level in self.quiet:
            handler.setLevel(level)
        self.handler.close()
