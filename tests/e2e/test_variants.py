"""The behaviour variants of the simulator (hil_sim/variants.py) against the cases each one changes: a variant is
a conforming charger, so every one of these must PASS. Each variant's cases run in ONE run (support.variants
.run_plan), as `benchctl run --sim-variant NAME CASE...` runs them.

Cases benchctl still judges wrongly on a conforming variant are marked xfail(strict) with the reason, so the mark
must go when benchctl is fixed (an unexpected pass fails the test)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchctl.run.results import CaseResult

from support.variants import run_plan, variant

SMART = ["TC_056_CS", "TC_057_CS", "TC_058_1_CS", "TC_058_2_CS", "TC_059_CS", "TC_060_CS", "TC_066_CS", "TC_067_CS",
         "TC_072_CS", "TC_082_CS"]
RESERVATION = ["TC_046_1_CS", "TC_046_2_CS", "TC_047_CS", "TC_048_1_CS", "TC_048_2_CS", "TC_048_3_CS", "TC_049_CS",
               "TC_050_1_CS", "TC_050_2_CS", "TC_050_3_CS", "TC_051_CS", "TC_052_CS", "TC_053_CS"]

# the cases whose flow the variant changes: its configuration states, its status order, its units, its EVSE
AFFECTED: dict[str, list[str]] = {
    "fixed-keys": ["TC_005_1_CS", "TC_005_2_CS", "TC_007_CS", "TC_008_CS", "TC_010_CS", "TC_011_1_CS",
                   "TC_011_2_CS", "TC_012_CS", "TC_019_CS", "TC_026_CS", "TC_028_CS"],
    "charging-before-start": ["TC_003_CS", "TC_004_1_CS", "TC_004_2_CS", "TC_010_CS", "TC_011_1_CS", "TC_037_2_CS",
                              "TC_037_3_CS", "TC_046_1_CS"],
    "power-only": SMART,
    "no-local-limit": SMART,
    "station-status-last": ["TC_001_CS", "TC_002_CS", "TC_013_CS", "TC_015_CS", "TC_034_CS"],
    "shared-evse": ["TC_003_CS", "TC_010_CS", *RESERVATION],
}

# a shared EVSE reports its other connector (Unavailable, Reserved) in cases written for one connector; these
# need engine and scenario work other issue 14 items do, and fail until then:
ALLOWANCE = ("Appendix D's reservation allowance for connectors sharing an EVSE is not switched on (PICS evses, "
             "issue 14 §1b), and the reservation cases skip 'SetConnectorUnavailable for all unused connectors' "
             "(§2)")
OTHER_CONNECTOR = ("the engine judges the next StatusNotification against a connector-1 expectation even when it is "
                   "connector 2's (§1), and the reservation cases skip 'SetConnectorUnavailable for all unused "
                   "connectors' (§2)")
ONE_CONNECTOR_STATE = ("the state acts on the configured connector only, not on every connector as the document "
                       "says: fails on any two-connector station (§2)")
TOO_STRICT: dict[tuple[str, str], str] = {
    ("shared-evse", "TC_046_1_CS"): ALLOWANCE,
    ("shared-evse", "TC_052_CS"): ALLOWANCE,
    ("shared-evse", "TC_053_CS"): ALLOWANCE,
    ("shared-evse", "TC_046_2_CS"): OTHER_CONNECTOR,
    ("shared-evse", "TC_047_CS"): OTHER_CONNECTOR,
    ("shared-evse", "TC_049_CS"): OTHER_CONNECTOR,
    ("shared-evse", "TC_051_CS"): OTHER_CONNECTOR,
    ("shared-evse", "TC_050_1_CS"): ONE_CONNECTOR_STATE,
    ("shared-evse", "TC_050_2_CS"): ONE_CONNECTOR_STATE,
}

_RUNS: dict[str, dict[str, CaseResult]] = {}


def _results(name: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, CaseResult]:
    if name not in _RUNS:
        results = run_plan(variant(name), AFFECTED[name], tmp_path_factory.mktemp(f"variant-{name}"))
        _RUNS[name] = {r.id: r for r in results}
    return _RUNS[name]


def _params() -> list[object]:
    params = []
    for name, cases in AFFECTED.items():
        for case in cases:
            marks = [pytest.mark.xfail(strict=True, reason=TOO_STRICT[(name, case)])] \
                if (name, case) in TOO_STRICT else []
            params.append(pytest.param(name, case, marks=marks, id=f"{name}-{case}"))
    return params


@pytest.mark.parametrize(("name", "case"), _params())
def test_case_passes_on_the_variant(name: str, case: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    result = _results(name, tmp_path_factory)[case]
    assert result.verdict == "PASS", f"{result.verdict} at step {result.step}: {result.reason} ({result.where})"
    assert result.status_rules is not None and result.status_rules["ok"], result.status_rules


def test_every_affected_case_is_in_its_variants_plan(tmp_path: Path) -> None:
    from support.variants import in_plan

    for name, cases in AFFECTED.items():
        assert sorted(set(cases) - in_plan(variant(name))) == [], name
