"""A case that needs a role the bench does not have (a `lock_fault` relay, say) is NOT_RUNNABLE, naming the
role, both in `benchctl run --list` and in the run's result; it is never run half-way or judged."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from benchctl.paths import BENCH_CONFIGS, ROOT

from support.python_env import python_cache_env


def bench_without(role: str, tmp_path: Path) -> Path:
    text = (BENCH_CONFIGS / "sim.yaml").read_text()
    text = text.replace("../pics/sim.yaml", str(ROOT / "pics" / "sim.yaml"))
    # the role's block: its line and the indented lines under it
    text, removed = re.subn(rf"\n  {role}:.*(\n    .*)*", "", text)
    assert removed == 1
    bench = tmp_path / f"no-{role}.yaml"
    bench.write_text(text.replace("name: sim", f"name: no-{role.replace('_', '-')}"))
    return bench


def benchctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "benchctl.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**python_cache_env(), "COLUMNS": "200", "PATH": "/usr/bin:/bin",
                                            "BENCHCTL_LOCK_DIR": os.environ["BENCHCTL_LOCK_DIR"]})


def test_a_case_needing_a_missing_role_is_not_runnable_and_says_which(tmp_path: Path) -> None:
    bench = bench_without("lock_fault", tmp_path)
    listed = json.loads(benchctl("run", "--list", "--json", "--bench", str(bench), "024", "003").stdout)
    assert {c["id"]: c["missing_roles"] for c in listed} == {"TC_003_CS": [], "TC_024_CS": ["lock_fault"]}
    runs = tmp_path / "runs"
    out = benchctl("run", "--bench", str(bench), "--runs", str(runs), "024")
    assert out.returncode == 1, out.stdout + out.stderr
    [run] = runs.iterdir()
    [result] = [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines()]
    assert result["verdict"] == "NOT_RUNNABLE" and "no role lock_fault" in result["reason"]
    assert result["actions"] == [] and result["checks"] == []  # nothing of the case was done
