"""The verdict banner at the top of report.html: what a lab or a vendor opens the report for, in one box.

The exit status is `benchctl run`'s rule (benchctl/run/command.py) read back from the run directory: 0 only
when every case run passed, 1 when one did not, 5 when the DUT profile check stopped the run before its first
case, 128+N when signal N stopped it (run.json's `stopped`); a run that never wrote its finish time was cut off,
and its exit status is not known from the directory.
"""

from __future__ import annotations

from typing import Any

from benchctl.record.case import ERROR, FAIL, PASS
from benchctl.record.run import RunRecord

from .cases import EXCLUDED, NO_RESULT, NOT_SELECTED, OUTCOMES

INCOMPLETE, STOPPED, NOT_PASSED = "INCOMPLETE", "STOPPED", "NOT_PASSED"
_EXIT_FAILED, _EXIT_PROFILE = 1, 5


def banner(record: RunRecord, counts: dict[str, int]) -> dict[str, Any]:
    selected = counts["total"] - counts[NOT_SELECTED] - counts[EXCLUDED]
    overall, exit_status = _overall(record, counts)
    dut = record.dut or {}
    return {
        "overall": overall,
        "css": overall if overall in OUTCOMES else (FAIL if overall == NOT_PASSED else ERROR),
        "counts": [(o, counts[o]) for o in OUTCOMES if counts[o] and o not in (NOT_SELECTED, EXCLUDED)],
        "selected": selected,
        "exit_status": exit_status,
        "dut": " ".join(str(dut[k]) for k in ("chargePointVendor", "chargePointModel") if dut.get(k)),
        "firmware": str(dut.get("firmwareVersion") or ""),
        "serial": str(dut.get("chargePointSerialNumber") or dut.get("chargeBoxSerialNumber") or ""),
    }


def _overall(record: RunRecord, counts: dict[str, int]) -> tuple[str, str]:
    profile = record.meta.get("dut_profile")
    if (not record.results and isinstance(profile, dict) and profile.get("contradictions")
            and not profile.get("overridden")):
        return STOPPED, f"{_EXIT_PROFILE} (the charger contradicts the bench or the PICS)"
    stopped = record.meta.get("stopped")
    if isinstance(stopped, dict) and isinstance(stopped.get("exit_status"), int):
        return STOPPED, f"{stopped['exit_status']} (stopped by {stopped.get('by') or 'a signal'})"
    if record.finished is None:
        return INCOMPLETE, "not known: the run was cut off before it finished"
    if counts["run"] and counts["run"] == counts[PASS] and not counts[NO_RESULT]:
        return PASS, "0 (every case passed)"
    if counts[FAIL]:
        return FAIL, f"{_EXIT_FAILED} (not every case passed)"
    return (ERROR if counts[ERROR] else NOT_PASSED), f"{_EXIT_FAILED} (not every case passed)"
