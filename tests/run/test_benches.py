"""Several simulated benches in one run (`benchctl run --benches N`): the cases dealt out to whichever bench is
free, one run directory, one capture with one index sequence, one report with every case once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from benchctl.bench.config import BenchConfig
from benchctl.paths import ROOT
from benchctl.record.case import PASS, CaseResult
from benchctl.run.progress import RunProgress
from benchctl.run.rundir import RunDir
from benchctl.run.standalone import run_cases
from benchctl.scenario.model import Scenario

CASES = ["TC_017_1_CS", "TC_031_CS", "TC_030_CS", "TC_040_2_CS", "TC_060_CS", "TC_062_CS", "TC_021_CS"]


async def test_the_cases_are_dealt_to_three_benches_into_one_run_directory(
        tmp_path: Path, sim_config: BenchConfig, scenarios: dict[str, Scenario]) -> None:
    run_dir = RunDir.create(tmp_path, "sim")
    results = await run_cases(sim_config, [scenarios[c] for c in CASES], run_dir, benches=3)
    assert sorted(r.id for r in results) == sorted(CASES)
    assert all(r.verdict == PASS for r in results), [(r.id, r.verdict, r.reason) for r in results]
    assert {r.bench for r in results} == {1, 2, 3}  # the first three cases go one to each bench

    lines = [json.loads(line) for line in (run_dir.path / "results.jsonl").read_text().splitlines()]
    assert sorted(r["id"] for r in lines) == sorted(CASES)  # every case once
    frames = [json.loads(line) for line in (run_dir.path / "capture.jsonl").read_text().splitlines()]
    assert [f["i"] for f in frames] == list(range(len(frames)))  # one index sequence across the benches
    bench_of = {r["id"]: r["bench"] for r in lines}
    for case, bench in bench_of.items():
        own = [f for f in frames if f["case"] == case]
        assert own and {f["bench"] for f in own} == {bench}, case  # a case's frames are its bench's only
    assert json.loads((run_dir.path / "run.json").read_text())["benches"] == 3
    for n in (2, 3):  # each simulated bench its own test PKI (its charger trusts its roots)
        assert (run_dir.path / "benches" / str(n) / "pki").is_dir()

    from benchctl.report import write_reports

    written = write_reports(run_dir.path)
    report = json.loads(written["json"].read_text())
    html = written["html"].read_text()
    assert all(f"s (bench {bench_of[c]})" in html for c in CASES)
    assert sorted(c["id"] for c in report["cases"]) == sorted(CASES)
    actions = [json.loads(line) for line in (run_dir.path / "actions.jsonl").read_text().splitlines()]
    assert actions and {a["bench"] for a in actions} == {1, 2, 3}
    resets = {c["id"]: c["reset_actions"] for c in report["cases"]}
    assert any(resets.values())
    for case, logged in resets.items():  # a case's 000_RESET shows its own bench's actions, none of the others'
        assert {a["bench"] for a in logged} <= {bench_of[case]}, case


def _benchctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "benchctl.cli", "run", *args], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)


def test_benches_are_for_a_simulated_bench_of_its_own_ports_and_between_1_and_16(tmp_path: Path) -> None:
    real = _benchctl("--bench", "bench_configs/modbus-lab.yaml", "--benches", "2", "--runs", str(tmp_path), "001")
    assert real.returncode == 2, real.stdout + real.stderr
    assert "modbus-lab.yaml: it is a real bench with one charger" in real.stdout + real.stderr
    shared = _benchctl("--bench", "bench_configs/sim-mqtt.yaml", "--benches", "2", "--runs", str(tmp_path), "001")
    assert shared.returncode == 2, shared.stdout + shared.stderr
    assert "MQTT broker 127.0.0.1:1883 under hil_sim/, which every copy" in shared.stdout + shared.stderr
    for count in ("0", "17"):
        refused = _benchctl("--benches", count, "--runs", str(tmp_path), "001")
        assert refused.returncode == 2 and "1 or more, and at most 16" in refused.stdout + refused.stderr
    assert not list(tmp_path.iterdir())  # refused before a run directory


def test_a_bench_that_cannot_be_copied_runs_alone_by_default() -> None:
    from benchctl.bench.config import load_bench
    from benchctl.run.command import DEFAULT_SIM_BENCHES, _benches

    console = Console(record=True)
    assert _benches(None, load_bench(ROOT / "bench_configs" / "sim.yaml"), console) == DEFAULT_SIM_BENCHES
    assert _benches(None, load_bench(ROOT / "bench_configs" / "sim-http.yaml"), console) == DEFAULT_SIM_BENCHES
    assert _benches(None, load_bench(ROOT / "bench_configs" / "sim-mqtt.yaml"), console) == 1
    assert _benches(None, load_bench(ROOT / "bench_configs" / "modbus-lab.yaml"), console) == 1


def test_live_progress_shows_every_case_running(scenarios: dict[str, Scenario]) -> None:
    console = Console(record=True, width=120, force_terminal=False)
    progress = RunProgress(console, total=3)
    first, second = scenarios["TC_017_1_CS"], scenarios["TC_031_CS"]
    progress.on_case(1, first, None)
    progress.on_case(2, second, None)
    progress.on_step(second.steps[0], second.id)
    status = progress._status().plain
    assert "[1/3] TC_017_1_CS  000_RESET" in status and "[2/3] TC_031_CS  step" in status
    result = CaseResult(first.id, first.title, PASS, 0.0, bench=2)
    progress.on_case(1, first, result)
    assert "TC_017_1_CS" not in progress._status().plain
    assert "bench 2" in console.export_text()


def test_the_cases_are_dealt_longest_first_by_their_mandated_waits(sim_config: BenchConfig,
                                                                   scenarios: dict[str, Scenario]) -> None:
    from benchctl.plan.waits import mandated_wait_s
    from benchctl.run.standalone import longest_first

    chosen = [scenarios[c] for c in ["TC_017_1_CS", "TC_036_CS", "TC_031_CS", "TC_023_CS", "TC_001_CS"]]
    dealt = longest_first(chosen, sim_config, {})
    waits = [mandated_wait_s(s, sim_config.values, boot_s=0.3) for s in dealt]
    assert waits == sorted(waits, reverse=True) and waits[0] > waits[-1]
    assert [s.id for s in dealt][-2:] == ["TC_017_1_CS", "TC_031_CS"]  # equal waits keep the plan's order
