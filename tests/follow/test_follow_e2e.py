"""`benchctl follow` end to end: the simulated charger dials benchctl's proxy, the proxy dials the stand-in tool
(octt_standin), an operator played by the test starts each case in the tool over its HTTP API and cues benchctl
when the tool's prompt is answered (the stand-in clicks 'Yes' itself after a moment), and benchctl does the
physical steps with the sim bench and gives its own verdict beside the tool's."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp

from benchctl.bench.config import BenchConfig
from benchctl.follow.cue import FINISHED, CueMoment, tool_case_name
from benchctl.follow.run import follow_cases
from benchctl.record.case import FAIL, PASS, CaseResult
from benchctl.report import write_reports
from benchctl.run.pipeline import CaseCallback
from benchctl.run.rundir import RunDir, read_results
from benchctl.scenario.model import Scenario
from octt_standin import prompts
from octt_standin.catalogue import RESET_CASE
from octt_standin.tool import StandInTool

PHYSICAL = {prompts.POWER_CYCLE, prompts.PLUG_IN, prompts.PRESENT_VALID, prompts.PRESENT_INVALID, prompts.UNPLUG,
            prompts.UNPLUG_EV_SIDE}
AUTO_ANSWER_S = 0.2
OPERATOR_PATIENCE_S = 30.0


class Operator:
    """The person at the tool: runs the reset case and then each case in the tool, and presses Enter in benchctl
    once the tool's prompt for the next physical step has been answered (so the tool is watching)."""

    def __init__(self, tool: StandInTool, session: aiohttp.ClientSession) -> None:
        self.tool = tool
        self.session = session
        self.verdicts: dict[str, dict[str, Any]] = {}
        self.runs: dict[str, asyncio.Task[None]] = {}
        self.cued: dict[str, int] = {}

    async def _run(self, name: str) -> dict[str, Any]:
        async with self.session.post(f"{self.tool.http_url}/ocpp/autoExecTestcase",
                                     json={"testCaseID": name, "executionType": "start"}) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def _reset_then(self, name: str) -> None:
        reset = await self._run(RESET_CASE)
        assert reset["testCase_Result"] == "PASS", reset
        self.verdicts[name] = await self._run(name)

    def on_case(self, n: int, scenario: Scenario, result: CaseResult | None) -> None:
        if result is None:
            name = tool_case_name(scenario.id)
            self.runs[name] = asyncio.create_task(self._reset_then(name))

    async def cue(self, moment: CueMoment) -> None:
        name = tool_case_name(moment.case_id)
        if moment.kind == FINISHED:
            await asyncio.wait_for(asyncio.shield(self.runs[name]), OPERATOR_PATIENCE_S)
            return
        wanted = self.cued.get(name, 0) + 1

        def answered() -> bool:
            shown = [t for t in self.tool.box.shown if t in PHYSICAL]
            return self.tool.running == name and len(shown) >= wanted and not self.tool.box.waiting

        async def watch() -> None:
            while not answered():
                await asyncio.sleep(0.005)
        await asyncio.wait_for(watch(), OPERATOR_PATIENCE_S)
        self.cued[name] = wanted


async def follow(config: BenchConfig, cases: list[Scenario], run_dir: RunDir) -> tuple[list[CaseResult], Operator]:
    tool = StandInTool(config.values, auto_answer=AUTO_ANSWER_S)
    await tool.start()
    try:
        async with aiohttp.ClientSession() as session:
            operator = Operator(tool, session)
            results = await follow_cases(config, cases, run_dir, tool.ocpp_url, cue=operator.cue,
                                         outputs=[CaseCallback(operator.on_case)], start_timeout_s=OPERATOR_PATIENCE_S)
            for name, task in operator.runs.items():
                if results[-1].verdict == PASS or name != tool_case_name(cases[-1].id):
                    await asyncio.wait_for(task, OPERATOR_PATIENCE_S)
                else:
                    task.cancel()
    finally:
        await tool.stop()
    return results, operator


async def test_tc003_and_tc010_followed_pass_for_the_tool_and_for_benchctl(
        tmp_path: Path, quick_sim: BenchConfig, scenarios: dict[str, Scenario]) -> None:
    run_dir = RunDir.create(tmp_path, "sim")
    cases = [scenarios["TC_003_CS"], scenarios["TC_010_CS"]]
    results, operator = await follow(quick_sim, cases, run_dir)
    for result in results:
        assert result.verdict == PASS, f"{result.id}: step {result.step}: {result.reason}"
        tool = operator.verdicts[tool_case_name(result.id)]
        assert tool["testCase_Result"] == "PASS", tool
    # benchctl did the physical steps (the tool's prompts only asked for them)
    commands = {r.id: {(a["role"], a["command"]) for a in r.actions} for r in results}
    assert ("card", "present") in commands["TC_003_CS"] and any(role == "ev" for role, _ in commands["TC_010_CS"])
    # the run directory is a run's: the proxy's capture, the results, the reports read it
    on_disk = read_results(run_dir.path)
    assert [r["id"] for r in on_disk] == ["TC_003_CS", "TC_010_CS"]
    capture = (run_dir.path / "capture.jsonl").read_text().splitlines()
    assert any('"RemoteStartTransaction"' in line and '"TC_010_CS"' in line for line in capture)
    assert any(t["name"] == "RemoteStartTransaction" for t in on_disk[1]["timings"])
    written = write_reports(run_dir.path)
    assert Path(written["html"]).exists()


async def test_a_faulty_charger_fails_where_the_fault_is_while_followed(
        tmp_path: Path, quick_sim: BenchConfig, scenarios: dict[str, Scenario]) -> None:
    assert quick_sim.simulator is not None
    quick_sim.simulator.faults = ["skip_preparing"]  # hil_sim.faults: caught by TC_003_CS step 1
    run_dir = RunDir.create(tmp_path, "sim")
    results, _ = await follow(quick_sim, [scenarios["TC_003_CS"]], run_dir)
    (result,) = results
    assert result.verdict == FAIL
    assert result.step == 1, result.reason
    assert "StatusNotification" in result.reason

