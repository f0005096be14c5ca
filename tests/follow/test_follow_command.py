"""The `benchctl follow` command as an operator uses it: a separate process, the console's Enter as the cue."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import aiohttp

from benchctl.bench.config import BenchConfig
from benchctl.cli import main
from octt_standin import prompts
from octt_standin.catalogue import RESET_CASE
from octt_standin.tool import StandInTool


def test_follow_needs_the_tools_url(capsys: object) -> None:
    assert main(["follow", "010"]) == 2
    assert "--upstream" in capsys.readouterr().out  # type: ignore[attr-defined]


def test_follow_lists_the_cases_it_would_follow(capsys: object) -> None:
    assert main(["follow", "--list", "003", "010"]) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "TC_003_CS" in out and "TC_010_CS" in out


async def test_the_operator_follows_tc010_with_benchctl_follow(tmp_path: Path, quick_sim: BenchConfig) -> None:
    tool = StandInTool(quick_sim.values, auto_answer=0.2)
    await tool.start()
    upstream = tool.ocpp_url
    runs = tmp_path / "runs"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchctl.cli", "follow", "010", "--each-action", "--bench", quick_sim.file,
        "--upstream", upstream, "--runs", str(runs), "--start-timeout", "30",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    assert proc.stdin is not None and proc.stdout is not None
    verdicts: list[dict[str, object]] = []
    said: list[str] = []

    async def run_in_tool(session: aiohttp.ClientSession, name: str) -> None:
        async with session.post(f"{tool.http_url}/ocpp/autoExecTestcase",
                                json={"testCaseID": name, "executionType": "start"}) as response:
            verdicts.append(await response.json())

    async def operate() -> None:
        async with aiohttp.ClientSession() as session:
            in_tool: asyncio.Task[None] | None = None
            while line := (await proc.stdout.readline()).decode():
                said.append(line)
                if "start it in the tool" in line:
                    async def reset_then_case() -> None:
                        await run_in_tool(session, RESET_CASE)
                        await run_in_tool(session, "TC_CP_V16_010")
                    in_tool = asyncio.create_task(reset_then_case())
                elif "press Enter" in line:  # the plug-in: click 'Yes' on the tool's prompt, then Enter
                    while not (tool.running == "TC_CP_V16_010" and prompts.PLUG_IN in tool.box.shown
                               and not tool.box.waiting):
                        await asyncio.sleep(0.005)
                    proc.stdin.write(b"\n")
                    await proc.stdin.drain()
            assert in_tool is not None, "".join(said)
            await in_tool

    try:
        await asyncio.wait_for(operate(), 60)
        code = await asyncio.wait_for(proc.wait(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
        await tool.stop()
    out = "".join(said)
    assert code == 0, out
    assert [v["testCase_Result"] for v in verdicts] == ["PASS", "PASS"], verdicts
    (run_dir,) = runs.iterdir()
    results = [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()]
    assert [(r["id"], r["verdict"]) for r in results] == [("TC_010_CS", "PASS")]
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["mode"] == "follow" and meta["upstream"] == upstream
    assert (run_dir / "report.html").exists()
