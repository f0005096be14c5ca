"""The whole document is covered: every Charge Point case has a scenario, a full PICS plans each case in or
out with a reason, and `benchctl run --all` takes the cases outside certification too."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from benchctl.config.pics import load_pics
from benchctl.paths import ROOT, SCENARIOS
from benchctl.plan import make_plan
from benchctl.plan.plan import NO_SCENARIO
from benchctl.scenario.model import load_scenarios

from support.python_env import python_cache_env

CATALOG = ROOT.parent / "shared" / "catalog" / "cs_test_cases.yaml"


def _catalog_ids() -> list[str]:
    if CATALOG.exists():
        data = yaml.safe_load(CATALOG.read_text(encoding="utf-8"))
        cases = data["test_cases"] if isinstance(data, dict) else data
        return [c["id"] for c in cases]
    from benchctl.plan.appendix_c import load_appendix_c  # our own list of the document's 102 cases

    return [rule.id for rule in load_appendix_c()]


def test_every_charge_point_case_of_the_document_has_a_scenario() -> None:
    ids = _catalog_ids()
    assert len(ids) == 102
    assert sorted(set(ids) - {p.stem for p in SCENARIOS.glob("TC_*.yaml")}) == []


def test_the_sim_plan_puts_every_case_in_or_out_with_a_reason() -> None:
    plan = make_plan(load_pics(ROOT / "pics" / "sim.yaml"), load_scenarios(SCENARIOS), include_uncertified=True)
    assert len(plan) == 102
    for entry in plan:
        assert entry.reason, entry.id
        assert NO_SCENARIO not in entry.reason, entry.id
        assert not entry.included or entry.has_scenario, entry.id


def _listed(*args: str, tmp_path: Path) -> str:
    out = subprocess.run([sys.executable, "-m", "benchctl.cli", "run", "--list", *args], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120,
                         env={**python_cache_env(), "COLUMNS": "250", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_run_all_adds_the_cases_outside_certification(tmp_path: Path) -> None:
    certification, everything = _listed(tmp_path=tmp_path), _listed("--all", tmp_path=tmp_path)
    for case in ("TC_027_CS", "TC_083_CS", "TC_087_CS"):  # no Appendix C row, but the simulator has them
        assert case not in certification and case in everything
    assert "TC_003_CS" in certification and "TC_003_CS" in everything
    assert "TC_048_4_CS" not in everything  # only for a station without reservations: still out
