"""The whole plan on several simulated benches at once (`benchctl run --benches N`), run after run: the wall time
of each run, its verdicts, and whether any case's verdict differed between runs. With --stress every core is
kept busy by spinning processes for the whole time (verdicts must not depend on load).

Targets (issue 19): the default plan (83 cases) under 30 s with N=8 on a 2-core machine, `--all` likewise, and
every case passing in 5 consecutive runs; under --stress no verdict flips.

Usage:
  .venv/bin/python benchmarks/plan_benches.py [--benches 8] [--runs 5] [--all] [--stress]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent


def _spin() -> None:
    """Keep one core busy until killed."""
    turns = 0
    while True:
        turns += 1


@contextmanager
def busy_cores(on: bool) -> Iterator[int]:
    """One spinning process per core while inside (none when `on` is false); they are gone on the way out."""
    procs = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(os.cpu_count() or 1)] if on else []
    for proc in procs:
        proc.start()
    try:
        yield len(procs)
    finally:
        for proc in procs:
            proc.kill()
            proc.join()


def one_run(runs: Path, benches: int, everything: bool) -> tuple[float, dict[str, str], int]:
    """(wall seconds, case id: verdict, exit status) of one `benchctl run`."""
    args = [sys.executable, "-m", "benchctl.cli", "run", "--json", "--benches", str(benches), "--runs", str(runs)]
    if everything:
        args.append("--all")
    t0 = time.monotonic()
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    wall = time.monotonic() - t0
    summary = json.loads(done.stdout)
    results = Path(summary["path"]) / "results.jsonl"
    verdicts = {r["id"]: r["verdict"] for r in map(json.loads, results.read_text().splitlines())}
    return wall, verdicts, done.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--benches", type=int, default=8)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--all", action="store_true", help="the plan with the cases Appendix C does not list")
    parser.add_argument("--stress", action="store_true", help="keep every core busy while the runs go")
    args = parser.parse_args()
    seen: dict[str, set[str]] = {}
    walls: list[float] = []
    with tempfile.TemporaryDirectory(prefix="plan-benches-") as tmp, busy_cores(args.stress) as burners:
        print(f"{args.runs} run(s) of the {'whole' if args.all else 'default'} plan on {args.benches} simulated "
              f"benches, {os.cpu_count()} cores{f', {burners} spinning processes' if burners else ''}")
        for n in range(1, args.runs + 1):
            wall, verdicts, status = one_run(Path(tmp), args.benches, args.all)
            walls.append(wall)
            for case, verdict in verdicts.items():
                seen.setdefault(case, set()).add(verdict)
            others = {c: v for c, v in verdicts.items() if v != "PASS"}
            print(f"run {n}: {wall:6.1f} s  {len(verdicts)} cases, {len(verdicts) - len(others)} PASS, exit "
                  f"{status}{'  not PASS: ' + ', '.join(f'{c} {v}' for c, v in sorted(others.items())) if others else ''}")
    flipped = sorted(case for case, verdicts in seen.items() if len(verdicts) > 1)
    print(f"wall time: min {min(walls):.1f} s, max {max(walls):.1f} s")
    print(f"verdicts that differed between runs: {', '.join(flipped) if flipped else 'none'}")
    return 0 if not flipped and all(v == {"PASS"} for v in seen.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
