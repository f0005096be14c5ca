"""`warn_if` on a step: the document's "the vendor should be warned" as a WARN finding, never a FAIL."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import websockets

from benchctl.bench.bench import Bench
from benchctl.bench.config import BenchConfig
from benchctl.config import ConfigError
from benchctl.csms.capture import Capture
from benchctl.csms.server import CentralSystem
from benchctl.record.case import CaseResult
from benchctl.scenario.engine import CaseRunner
from benchctl.scenario.model import load_scenario
from drivers.steplog import StepLog

SCENARIO = """\
id: TC_901_CS
title: a boot the vendor is warned about
section: '9.9'
steps:
  - expect: BootNotification
    step: 2
    timeout_s: 5
    match: {chargePointVendor: {present: true}}
    warn_if:
      match: {chargePointModel: "${warned_model}"}
      reason: the model is one the lab warns about
"""


async def _run(tmp_path: Path, config: BenchConfig, model: str) -> CaseResult:
    (tmp_path / "TC_901_CS.yaml").write_text(SCENARIO)
    scenario = load_scenario(tmp_path / "TC_901_CS.yaml")
    config.values["warned_model"] = "old-model"
    csms = CentralSystem(Capture(None), config.values)
    await csms.start()
    try:
        runner = asyncio.create_task(CaseRunner(scenario, Bench(config, {}, StepLog()), csms.link("CP-9")).run())
        async with websockets.connect(f"{csms.url}/CP-9", subprotocols=["ocpp1.6"]) as ws:
            boot = {"chargePointVendor": "v", "chargePointModel": model}
            await ws.send(json.dumps([2, "b", "BootNotification", boot]))
            await asyncio.wait_for(ws.recv(), 5)
            return await asyncio.wait_for(runner, 10)
    finally:
        await csms.stop()


async def test_a_matching_message_passes_with_a_warning_naming_its_frame(tmp_path: Path,
                                                                         sim_config: BenchConfig) -> None:
    result = await _run(tmp_path, sim_config, "old-model")
    assert result.verdict == "PASS", result.reason
    (warn,) = result.warnings
    assert (warn.kind, warn.step) == ("document", 2) and "the model is one the lab warns about" in warn.message
    assert len(warn.frames) == 1 and f"frame #{warn.frames[0]}" in warn.message


async def test_a_message_that_does_not_match_gives_no_warning(tmp_path: Path, sim_config: BenchConfig) -> None:
    result = await _run(tmp_path, sim_config, "new-model")
    assert result.verdict == "PASS" and result.warnings == []


def test_warn_if_without_a_reason_is_an_error_naming_the_field(tmp_path: Path) -> None:
    path = tmp_path / "TC_901_CS.yaml"
    path.write_text(SCENARIO.replace("      reason: the model is one the lab warns about\n", ""))
    with pytest.raises(ConfigError) as raised:
        load_scenario(path)
    assert "TC_901_CS.yaml:9: steps[0].warn_if: missing required key 'reason'" in str(raised.value)
