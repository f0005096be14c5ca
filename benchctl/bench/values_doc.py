"""docs/values.md, the reference of the bench's `values:` keys, made from their schema (bench/values.py) and
the scenarios that use them, so it cannot drift from either: `python -m benchctl.bench.values_doc` rewrites it
and a test fails when the committed page is stale."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from benchctl.config.schema import Field, Schema
from benchctl.paths import ROOT, SCENARIOS

from .values import VALUES_SCHEMA

PAGE = ROOT / "docs" / "values.md"
HEADER = """\
# The bench's `values:` keys

<!-- made by `python -m benchctl.bench.values_doc` from benchctl/bench/values.py: edit the help texts there -->

The `values:` section of a bench config (bench_configs/sim.yaml, bench_configs/rpi-lab.yaml, ...) holds the
values the test case document leaves to the lab ("<Configured Heartbeat interval>", the valid and invalid
idTags, ...) and the bench's own timings. Every key is optional; a key left out takes its default. The
scenarios read a value as `${name}`; "used by" lists the scenario files (and reusable states) that do, and the
parts of benchctl that read it themselves.

| key | type | default | meaning | used by |
|-----|------|---------|---------|---------|
"""


def _default(spec: Field) -> str:
    if spec.default is None:
        return "none"
    if spec.default == "":
        return "empty"
    return f"`{spec.default}`"


def _kind(spec: Field) -> str:
    kind = spec.type.__name__
    if spec.choices:
        return f"{kind}: " + " or ".join(f"`{c}`" for c in spec.choices)
    if spec.minimum is not None:
        return f"{kind} ≥ {spec.minimum:g}"
    return kind


def scenario_uses(scenarios: Path) -> dict[str, list[str]]:
    """value name -> the scenario files and states (by name) that refer to `${name}` or `${name:-default}`."""
    uses: dict[str, list[str]] = {}
    for file in sorted(scenarios.rglob("*.yaml")):
        name = file.relative_to(scenarios).with_suffix("").as_posix()
        for used in sorted(set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", file.read_text(encoding="utf-8")))):
            uses.setdefault(used, []).append(name)
    return uses


def code_uses(package: Path = ROOT / "benchctl") -> dict[str, list[str]]:
    """value name -> the benchctl modules (other than the schema's) that read it by name."""
    uses: dict[str, list[str]] = {}
    for file in sorted(package.rglob("*.py")):
        if file.name in ("values.py", "values_doc.py"):
            continue
        text = file.read_text(encoding="utf-8")
        for key in VALUES_SCHEMA.fields:
            if f'"{key}"' in text:
                uses.setdefault(key, []).append(file.relative_to(ROOT).as_posix())
    return uses


def values_reference(scenarios: Path = SCENARIOS) -> str:
    in_scenarios, in_code = scenario_uses(scenarios), code_uses()
    rows = []
    for key, spec in VALUES_SCHEMA.fields.items():
        if isinstance(spec, Schema):  # no nested values today; a nested one would need its own table
            raise TypeError(f"values.{key} is a mapping: the reference lists scalar values only")
        used = [", ".join(in_scenarios.get(key, []))] if key in in_scenarios else []
        used += [", ".join(f"`{m}`" for m in in_code[key])] if key in in_code else []
        help_text = spec.help.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
        rows.append(f"| `{key}` | {_kind(spec)} | {_default(spec)} | {help_text} | {'; '.join(used) or '-'} |")
    return HEADER + "\n".join(rows) + "\n"


def main() -> int:
    PAGE.write_text(values_reference(), encoding="utf-8")
    print(f"written: {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
