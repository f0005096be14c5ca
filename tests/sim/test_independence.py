"""The simulator and the stand-in of the official tool are oracles independent of benchctl: nothing under hil_sim/
or octt_standin/ may import benchctl's checking code (status rules, schedules, PKI verification), or a defect there
would pass unnoticed, checked by itself.

What hil_sim may still import from benchctl, and why (none of it decides whether something is right):"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

HIL_SIM = Path(__file__).resolve().parents[2] / "hil_sim"
STAND_IN = HIL_SIM.parent / "octt_standin"

ALLOWED = {
    # the YAML settings schema: loading with errors naming file / line / field
    "benchctl.config.schema": {"hil_sim/settings.py"},
    # the two direction names of a captured frame, shared with the reports the stand-in tool writes
    "benchctl.csms.capture": {"octt_standin/central.py"},
    # did-you-mean hints for a misspelled fault or variant name: words, nothing judged
    "benchctl.config.suggest": {"hil_sim/faults.py", "hil_sim/variants.py"},
}
# what importing the simulator loads from benchctl through the modules above (their packages and helpers), and
# through the drivers whose register maps and codecs the simulated gear shares: their settings declarations'
# typed models (benchctl.config.typed: a dataclass made a schema, nothing judged)
LOADED_WITH_THEM = {"benchctl", "benchctl.config", "benchctl.config.errors", "benchctl.config.marked",
                    "benchctl.config.schema", "benchctl.config.suggest", "benchctl.config.typed"}


def benchctl_imports(source: str) -> set[str]:
    """The benchctl modules a module's source imports, at any level (inside functions too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "benchctl"}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "benchctl":
                found |= {f"benchctl.{alias.name}" for alias in node.names}
            elif node.module.startswith("benchctl."):
                found.add(node.module)
    return found


def test_the_scan_sees_every_form_of_import() -> None:
    source = ("import benchctl.security.pki\nfrom benchctl.security import pki\nfrom benchctl import scenario\n"
              "def f():\n    from benchctl.smart.schedule import x\n")
    assert benchctl_imports(source) == {"benchctl.security.pki", "benchctl.security", "benchctl.scenario",
                                        "benchctl.smart.schedule"}


def test_the_oracles_import_nothing_from_benchctl_outside_the_allow_list() -> None:
    offending = []
    for path in sorted([*HIL_SIM.rglob("*.py"), *STAND_IN.rglob("*.py")]):
        where = str(path.relative_to(HIL_SIM.parent))
        for module in sorted(benchctl_imports(path.read_text())):
            if where not in ALLOWED.get(module, set()):
                offending.append(f"{where} imports {module}")
    assert offending == []


def test_loading_the_simulator_loads_no_benchctl_checking_code() -> None:
    # transitive imports too: every hil_sim module but `python -m hil_sim` (running it serves), in a fresh interpreter
    program = ("import importlib, json, pkgutil, sys, hil_sim\n"
               "for m in pkgutil.walk_packages(hil_sim.__path__, 'hil_sim.'):\n"
               "    if m.name != 'hil_sim.__main__':\n"
               "        importlib.import_module(m.name)\n"
               "print(json.dumps(sorted(n for n in sys.modules if n.split('.')[0] == 'benchctl')))\n")
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120,
                            cwd=HIL_SIM.parent, check=True)
    loaded = set(json.loads(result.stdout.strip().splitlines()[-1]))
    assert loaded - LOADED_WITH_THEM == set()
    assert "benchctl.security.pki" not in loaded
