"""The Type 1 example bench (bench_configs/sim-type1.yaml) end to end: Core cases that plug in and unplug pass on
the simulated J1772 station, and every unplug went latch pressed -> unplugged -> latch released on the wire."""

from __future__ import annotations

import json
from pathlib import Path

from benchctl.bench.config import load_bench
from benchctl.paths import BENCH_CONFIGS
from benchctl.run.rundir import RunDir
from benchctl.run.standalone import run_cases
from benchctl.scenario.model import Scenario

# plug-in first and card first, and a cached idTag whose reusable state unplugs the coupler (IdTagCached step 5)
CASES = ("TC_003_CS", "TC_004_1_CS", "TC_037_1_CS")


async def test_core_cases_pass_on_the_type1_bench(scenarios: dict[str, Scenario], tmp_path: Path) -> None:
    config = load_bench(BENCH_CONFIGS / "sim-type1.yaml")
    assert config.roles["ev"].settings["plug"] == "type1" and config.simulator is not None
    run_dir = RunDir.create(tmp_path, "sim-type1")
    results = await run_cases(config, [scenarios[c] for c in CASES], run_dir)
    assert [(r.id, r.verdict) for r in results] == [(c, "PASS") for c in CASES], [r.reason for r in results]

    steps = [json.loads(line) for line in (run_dir.path / "actions.jsonl").read_text().splitlines()]
    ev = [(s["command"], s["args"]) for s in steps if s["role"] == "ev" and s["error"] is None]
    latch = [i for i, (command, _) in enumerate(ev) if command == "set_latch"]
    assert latch, "no unplug pressed the latch"
    # every press is followed by the coupler coming out and then the release, nothing else in between
    for press, release in zip(latch[::2], latch[1::2]):
        assert ev[press][1] == {"pressed": True} and ev[release][1] == {"pressed": False}
        assert [c for c, _ in ev[press + 1:release]] == ["set_plug", "set_cp_state"]
        assert ev[press + 1][1] == {"connected": False}
    assert not any(command == "set_pp_rating" for command, _ in ev)  # Type 1 carries no cable rating
