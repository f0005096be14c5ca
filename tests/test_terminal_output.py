"""Terminal output that fits: at 80 columns every name stays whole (a table becomes a list), every command that
prints a table has --json, and NO_COLOR leaves the colour out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchctl.paths import ROOT
from hil_sim.faults import FAULTS
from hil_sim.variants import VARIANTS

from support.python_env import python_cache_env


def benchctl(*args: str, columns: int = 80, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "benchctl.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**python_cache_env(), "COLUMNS": str(columns), "PATH": "/usr/bin:/bin",
                                            "BENCHCTL_LOCK_DIR": os.environ["BENCHCTL_LOCK_DIR"], **env})


@pytest.mark.parametrize("columns", [80, 120])
def test_every_fault_and_variant_name_can_be_copied_whole(columns: int) -> None:
    out = benchctl("faults", columns=columns)
    assert out.returncode == 0 and "…" not in out.stdout
    lines = out.stdout.splitlines()
    assert all(len(line) <= columns for line in lines if line.startswith(("┃", "│", "┏", "└")))
    words = {word for line in lines for word in line.replace("│", " ").split()}
    assert set(FAULTS) <= words and set(VARIANTS) <= words


def test_faults_json_lists_every_fault_and_variant() -> None:
    data = json.loads(benchctl("faults", "--json").stdout)
    assert [f["name"] for f in data["faults"]] == list(FAULTS)
    assert [v["name"] for v in data["variants"]] == list(VARIANTS)
    assert data["faults"][0]["caught_by"] == list(FAULTS["skip_preparing"].caught_by)


def test_plan_and_case_list_keep_case_ids_whole_at_80_columns() -> None:
    plan = benchctl("plan", "--pics", "pics/sim.yaml")
    assert plan.returncode == 0 and "…" not in plan.stdout
    planned = json.loads(benchctl("plan", "--pics", "pics/sim.yaml", "--json").stdout)["plan"]
    ids = {line.strip() for line in plan.stdout.splitlines()}
    assert {p["id"] for p in planned} <= ids  # each id whole, on a line of its own
    listed = benchctl("run", "--list", "003", "010")
    assert "TC_003_CS" in listed.stdout and "…" not in listed.stdout
    cases = json.loads(benchctl("run", "--list", "--json", "003", "010").stdout)
    assert [c["id"] for c in cases] == ["TC_003_CS", "TC_010_CS"] and cases[0]["missing_roles"] == []


def test_check_json_reports_every_role_and_the_profile() -> None:
    out = benchctl("check", "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    data = json.loads(out.stdout)
    assert data["bench"] == "sim" and all(role["ok"] for role in data["roles"])
    assert data["dut_profile"]["contradictions"] == []
    table = benchctl("check")
    assert "…" not in table.stdout and all(role["role"] in table.stdout for role in data["roles"])


def test_no_color_is_honoured() -> None:
    coloured = benchctl("plan", "--pics", "pics/sim.yaml", FORCE_COLOR="1")
    assert "\x1b[32m" in coloured.stdout  # the green "in" of a terminal
    plain = benchctl("plan", "--pics", "pics/sim.yaml", FORCE_COLOR="1", NO_COLOR="1")
    assert "\x1b[3" not in plain.stdout.replace("\x1b[3m", "")  # no foreground colour (italic \x1b[3m is not one)


def test_perf_json_is_alone_on_stdout_and_its_table_fits(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    assert benchctl("run", "010", "--runs", str(runs)).returncode == 0
    [run] = runs.iterdir()
    out = benchctl("perf", str(run), "--json", "--out", str(tmp_path / "perf"))
    perf = json.loads(out.stdout)  # the notes and "written:" go to stderr
    assert "written:" in out.stderr and perf["figures"]
    table = benchctl("perf", str(run), "--out", str(tmp_path / "perf"))
    assert "…" not in table.stdout
    assert all(f["title"].split(": ", 1)[-1] in table.stdout for f in perf["figures"])


def test_run_json_keeps_stdout_for_the_summary_and_the_progress_on_stderr(tmp_path: Path) -> None:
    out = benchctl("run", "--runs", str(tmp_path), "--json", "TC_001_CS")
    summary = json.loads(out.stdout)  # nothing but the JSON on stdout
    assert out.returncode == summary["exit_status"] == 0
    assert [(c["id"], c["verdict"]) for c in summary["cases"]] == [("TC_001_CS", "PASS")]
    assert Path(summary["path"]).parent == tmp_path
    assert "TC_001_CS" in out.stderr and "1 passed" in out.stderr  # the progress and the table, for a person
