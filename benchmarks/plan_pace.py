"""The plan at the protocol's own pace: how much longer a run takes than the waits the protocol and the scenarios
impose (benchctl.plan.waits), case by case, and how long the bench spends between cases.

It runs the default plan on the sim bench as `./dev run` does (`benchctl run` in a subprocess, into a temporary
runs folder; --benches is passed on, the default is benchctl run's), or reads a run directory that exists
(--run-dir), and prints:
  - the wall time (the subprocess's, from its start to its exit; for --run-dir: from run.json's start to the
    end of the last case), the mandated waits of the cases that ran, and the ratio of the two; with several
    benches the ratio is against the busiest bench's mandated waits (the cases of a bench run one after
    another), and the least a dealing could give (the longest case, or the total over the benches) is shown;
  - where the wall time went, summed over the benches: the setup before each bench's first case, inside the
    cases, between cases (after each case the return to idle of 000_RESET and the restore of the configuration
    it changed), and the process's own start and end (its imports before run.json's start, the reports after);
  - the five cases with the most overhead (duration minus mandated waits), each with its rules.

Target (issue 19): wall time / mandated waits <= 1.10. Usage:
  .venv/bin/python benchmarks/plan_pace.py [--cases TC_003_CS TC_001_CS] [--benches 1] [--json]
  .venv/bin/python benchmarks/plan_pace.py --run-dir runs/20261207-043809-sim
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchctl.bench.config import load_bench  # noqa: E402
from benchctl.config.pics import scenario_variables  # noqa: E402
from benchctl.plan.waits import Wait, wait_breakdown  # noqa: E402
from benchctl.scenario.model import load_scenario  # noqa: E402

TOP = 5


@dataclass
class CasePace:
    id: str
    bench: int  # the simulated bench it ran on (1 in a run on one bench)
    verdict: str
    started: float
    duration_s: float
    mandated_s: float
    rules: dict[str, float]  # rule -> seconds of the case's mandated waits

    @property
    def overhead_s(self) -> float:
        return self.duration_s - self.mandated_s


@dataclass
class Pace:
    run_dir: str
    wall_s: float
    mandated_s: float  # of every case
    busiest_s: float  # the mandated waits of the bench with the most of them
    least_s: float  # the least wall time a dealing of these cases to the benches could give
    benches: int
    setup_s: float  # from the run's start to each bench's first case
    in_cases_s: float
    between_s: float  # the gaps between one case's end and the next one's start on the same bench
    gaps: int
    process_s: float  # the process's own start and end beyond run.json's span (imports, reports); 0 for --run-dir
    cases: list[CasePace]

    @property
    def ratio(self) -> float:
        return self.wall_s / self.busiest_s if self.busiest_s else float("inf")


def run_plan(runs: Path, cases: list[str], bench: Path | None, benches: int | None) -> tuple[Path, float]:
    """`benchctl run` as `./dev run` starts it; the run directory it wrote and the wall time of the process."""
    command = [sys.executable, "-m", "benchctl.cli", "run", "--runs", str(runs), *cases]
    if bench is not None:
        command += ["--bench", str(bench)]
    if benches is not None:
        command += ["--benches", str(benches)]
    t0 = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - t0
    made = sorted(p for p in runs.iterdir() if (p / "run.json").exists())
    if not made:
        raise SystemExit(f"benchctl run wrote no run directory (exit {done.returncode}): {done.stderr[-2000:]}")
    return made[-1], wall


def read_pace(run_dir: Path, wall_s: float | None = None) -> Pace:
    """The pace of a run from its run.json and results.jsonl; the mandated waits from the scenarios it ran, with
    the values and the simulated station's boot time of the bench it ran on and the PICS it ran with."""
    run = json.loads((run_dir / "run.json").read_text())
    config = load_bench(run["bench_file"])
    boot_s = config.simulator.station.boot_delay_s if config.simulator is not None else 0.0
    scenarios_dir = Path(run["scenarios_dir"])
    # the PICS answers decide the memory states a case runs "(if implemented)", as in the run
    values = dict(config.values) | scenario_variables(run.get("pics") or config.pics)
    results = [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines() if line.strip()]
    boundaries = first_clock_samples(run_dir / "capture.jsonl")
    cases = []
    for r in sorted(results, key=lambda r: r["started"]):
        file = scenarios_dir / f"{r['id']}.yaml"
        waits: list[Wait] = []
        if file.exists():
            waits = wait_breakdown(load_scenario(file), values, boot_s=boot_s, connectors=config.connectors)
        rules: dict[str, float] = defaultdict(float)
        for w in waits:
            rules[w.rule] += w.seconds
        if r["id"] in boundaries:
            # the first clock-aligned sample cannot come before the clock's next boundary: how far that was
            # depends on when the case started, so plan/waits.py leaves it out and the run's capture tells it
            phase = boundaries[r["id"]] - r["started"] - rules["ev_ready"] - rules["operator_pause"]
            if phase > 0:
                rules["clock_phase"] = phase
        cases.append(CasePace(r["id"], int(r.get("bench") or 1), r["verdict"], r["started"], r["duration_s"],
                              sum(rules.values()), dict(sorted(rules.items(), key=lambda kv: -kv[1]))))
    if not cases:
        raise SystemExit(f"{run_dir}: no case in results.jsonl")
    by_bench: dict[int, list[CasePace]] = defaultdict(list)
    for c in cases:
        by_bench[c.bench].append(c)
    setup = between = 0.0
    for ran in by_bench.values():  # in the order they started
        setup += ran[0].started - run["started"]
        between += sum(max(0.0, nxt.started - (c.started + c.duration_s)) for c, nxt in zip(ran, ran[1:]))
    total = sum(c.mandated_s for c in cases)
    busiest = max(sum(c.mandated_s for c in ran) for ran in by_bench.values())
    least = max(max(c.mandated_s for c in cases), total / max(len(by_bench), int(run.get("benches") or 1)))
    run_wall = max(c.started + c.duration_s for c in cases) - run["started"]
    wall = run_wall if wall_s is None else wall_s
    return Pace(str(run_dir), wall, total, busiest, least, len(by_bench), setup, sum(c.duration_s for c in cases),
                between, len(cases) - len(by_bench), max(0.0, wall - run_wall), cases)


def first_clock_samples(capture: Path) -> dict[str, float]:
    """Case id: the timestamp (epoch s) of the first clock-aligned MeterValues the charger sent in the case."""
    found: dict[str, float] = {}
    if not capture.exists():
        return found
    with capture.open(encoding="utf-8") as lines:
        for line in lines:
            if '"MeterValues"' not in line or "Sample.Clock" not in line:
                continue
            frame = json.loads(line)
            case = frame.get("case")
            if frame.get("type") != "CALL" or not case or ":" in case or case in found:
                continue
            readings = json.loads(frame["raw"])[3].get("meterValue") or []
            if readings and all(v.get("context") == "Sample.Clock" for v in readings[0].get("sampledValue", [])):
                found[case] = datetime.fromisoformat(readings[0]["timestamp"].replace("Z", "+00:00")).timestamp()
    return found


def report(pace: Pace) -> str:
    n = len(pace.cases)
    passed = sum(c.verdict == "PASS" for c in pace.cases)
    lines = [
        f"run            {pace.run_dir} ({n} cases, {passed} PASS, on {pace.benches} bench(es))",
        f"wall time      {pace.wall_s:8.1f} s",
        f"mandated waits {pace.mandated_s:8.1f} s" + (
            f"   (the busiest bench's: {pace.busiest_s:.1f} s; the least a dealing could give: "
            f"{pace.least_s:.1f} s)" if pace.benches > 1 else ""),
        f"ratio          {pace.ratio:8.2f}   (target <= 1.10)",
        "",
        "where the wall time went" + (", summed over the benches" if pace.benches > 1 else ""),
        f"  setup before the first case   {pace.setup_s:7.1f} s",
        f"  inside the cases              {pace.in_cases_s:7.1f} s   (overhead over their mandated waits: "
        f"{pace.in_cases_s - pace.mandated_s:.1f} s)",
        f"  between cases (000_RESET)     {pace.between_s:7.1f} s   ({pace.between_s / max(1, pace.gaps):.2f} s per "
        f"gap: return to idle + configuration restore)",
        f"  process start and end         {pace.process_s:7.1f} s   (imports, the simulator, the reports)",
        "",
        f"the {TOP} cases with the most overhead (duration - mandated)",
    ]
    for c in sorted(pace.cases, key=lambda c: -c.overhead_s)[:TOP]:
        rules = ", ".join(f"{rule} {s:g}" for rule, s in c.rules.items()) or "none"
        lines.append(f"  {c.id:<12} {c.verdict:<5} duration {c.duration_s:6.2f} s  mandated {c.mandated_s:6.2f} s  "
                     f"overhead {c.overhead_s:6.2f} s  [{rules}]")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", type=Path, help="read this run directory instead of running the plan")
    parser.add_argument("--cases", nargs="+", default=[], metavar="CASE",
                        help="run these cases instead of the plan (ids as `benchctl run` takes them)")
    parser.add_argument("--bench", type=Path, help="bench config (default: benchctl run's, the sim bench)")
    parser.add_argument("--runs", type=Path, help="keep the run directory here (default: a temporary folder)")
    parser.add_argument("--benches", type=int, help="simulated benches at once (benchctl run's -j; default: its own)")
    parser.add_argument("--json", action="store_true", help="the figures as JSON")
    args = parser.parse_args(argv)
    if args.run_dir is not None:
        pace = read_pace(args.run_dir)
    elif args.runs is not None:
        args.runs.mkdir(parents=True, exist_ok=True)
        pace = read_pace(*run_plan(args.runs, args.cases, args.bench, args.benches))
    else:
        with tempfile.TemporaryDirectory(prefix="plan-pace-") as runs:
            pace = read_pace(*run_plan(Path(runs), args.cases, args.bench, args.benches))
    if args.json:
        print(json.dumps(asdict(pace) | {"ratio": pace.ratio}, indent=1))
    else:
        print(report(pace))
    return 0


if __name__ == "__main__":
    sys.exit(main())
