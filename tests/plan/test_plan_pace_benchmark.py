"""The plan-pace benchmark runs two cases on the sim bench (one after the other, then side by side on two benches)
and reads the run it made back the same way."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def pace(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "benchmarks/plan_pace.py", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=180)


def test_two_cases_their_waits_the_gap_between_them_and_the_same_figures_from_the_run_dir(tmp_path: Path) -> None:
    done = pace("--cases", "TC_003_CS", "TC_001_CS", "--benches", "1", "--runs", str(tmp_path), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    ran = json.loads(done.stdout)
    cases = {c["id"]: c for c in ran["cases"]}
    assert set(cases) == {"TC_003_CS", "TC_001_CS"} and all(c["verdict"] == "PASS" for c in cases.values())
    # TC_001: mains off 1 s, the boot, the BootNotification retry after 2 s and two heartbeats of 3 s
    assert cases["TC_001_CS"]["mandated_s"] == 9.3 and cases["TC_001_CS"]["rules"]["heartbeat"] == 6.0
    assert cases["TC_001_CS"]["duration_s"] >= 9.0  # the charger keeps the protocol's intervals
    assert ran["mandated_s"] == sum(c["mandated_s"] for c in ran["cases"])
    # the process's wall time holds the setup, the two cases, the one gap between them and the process's own start and end
    parts = ran["setup_s"] + ran["in_cases_s"] + ran["between_s"] + ran["process_s"]
    assert abs(ran["wall_s"] - parts) < 0.01 and ran["between_s"] > 0
    assert ran["benches"] == 1 and ran["busiest_s"] == ran["mandated_s"]
    assert ran["ratio"] == ran["wall_s"] / ran["mandated_s"]

    run_dir = next(p for p in tmp_path.iterdir() if (p / "results.jsonl").exists())
    again = pace("--run-dir", str(run_dir))
    assert again.returncode == 0, again.stdout + again.stderr
    text = again.stdout
    assert f"mandated waits {ran['mandated_s']:8.1f} s" in text
    assert f"between cases (000_RESET)     {ran['between_s']:7.1f} s" in text
    top = text.split("the 5 cases with the most overhead")[1]
    assert "TC_001_CS" in top and "TC_003_CS" in top and "heartbeat 6" in top


def test_two_cases_on_two_benches_are_judged_against_the_busier_bench(tmp_path: Path) -> None:
    done = pace("--cases", "TC_003_CS", "TC_001_CS", "--benches", "2", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    ran = json.loads(done.stdout)
    assert ran["benches"] == 2 and {c["bench"] for c in ran["cases"]} == {1, 2}
    # each bench ran one case: no gap between cases, and TC_001 alone sets the pace
    assert ran["between_s"] == 0 and ran["gaps"] == 0
    assert ran["busiest_s"] == ran["least_s"] == 9.3 and ran["mandated_s"] > 9.3  # TC_003's too
    assert ran["ratio"] == ran["wall_s"] / 9.3


def test_the_clock_phase_of_a_clock_aligned_case_is_read_from_its_capture(tmp_path: Path) -> None:
    """TC_071_CS's first clock-aligned sample waits for the clock's next boundary: the capture gives the sample's
    time, a frame of another kind or of the return to idle does not count."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from plan_pace import first_clock_samples

    def frame(case: str, context: str, timestamp: str) -> str:
        payload = {"connectorId": 1, "meterValue": [{"timestamp": timestamp, "sampledValue": [
            {"value": "1", "context": context}]}]}
        return json.dumps({"type": "CALL", "action": "MeterValues", "case": case,
                           "raw": json.dumps([2, "x", "MeterValues", payload])})

    capture = tmp_path / "capture.jsonl"
    capture.write_text("\n".join([frame("TC_071_CS:reset", "Sample.Clock", "2026-12-07T05:00:00Z"),
                                  frame("TC_071_CS", "Sample.Periodic", "2026-12-07T05:00:01Z"),
                                  frame("TC_071_CS", "Sample.Clock", "2026-12-07T05:00:03Z"),
                                  frame("TC_071_CS", "Sample.Clock", "2026-12-07T05:00:06Z")]) + "\n")
    assert first_clock_samples(capture) == {"TC_071_CS": 1796619603.0}
