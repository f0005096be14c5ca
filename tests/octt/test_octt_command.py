"""`benchctl octt` as an operator runs it: a process of its own against the stand-in tool."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp

from octt_standin import StandInTool

from octt_harness import fast_config, free_port

ROOT = Path(__file__).resolve().parents[2]


async def benchctl(*args: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "COLUMNS": "200"}
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "benchctl.cli", *args, cwd=ROOT, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)


async def test_octt_cases_and_run_write_a_run_directory_with_both_verdicts(tmp_path: Path) -> None:
    config = fast_config(tmp_path)
    tool = StandInTool(dict(config.values))
    await tool.start()
    tool_url = tool.http_url
    try:
        listing = await benchctl("octt", "cases", "--tool", tool.http_url)
        out = (await listing.communicate())[0].decode()
        assert listing.returncode == 0, out
        assert "TC_CP_V16_005_1" in out and "TC_005_1_CS" in out and "run before every case" in out
        as_json = await benchctl("octt", "cases", "--tool", tool.http_url, "--json")
        rows = json.loads((await as_json.communicate())[0].decode())
        assert {"tool_case": "TC_CP_V16_005_1", "document_case": "TC_005_1_CS", "has_scenario": True} \
            .items() <= next(r for r in rows if r["tool_case"] == "TC_CP_V16_005_1").items()
        assert sum(r["reset_case"] for r in rows) == 1
        run = await benchctl("octt", "run", "003", "010", "--tool", tool.http_url, "--upstream", tool.ocpp_url,
                             "--bench", config.file, "--runs", str(tmp_path / "runs"), "--poll-interval", "0.05")
        out = (await asyncio.wait_for(run.communicate(), 120))[0].decode()
        assert run.returncode == 0, out
    finally:
        await tool.stop()
    assert "plug_in -> Yes then plug_in" in out
    (run_dir,) = (tmp_path / "runs").iterdir()
    for name in ("capture.jsonl", "actions.jsonl", "results.jsonl", "run.json", "report.html", "report.json"):
        assert (run_dir / name).is_file(), name
    results = [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()]
    assert [(r["id"], r["verdict"], r["octt"]["tool_verdict"], r["octt"]["benchctl_verdict"]) for r in results] == \
        [("TC_003_CS", "PASS", "PASS", "PASS"), ("TC_010_CS", "PASS", "PASS", "PASS")]
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["mode"] == "octt" and meta["cases"] == ["TC_003_CS", "TC_010_CS"] and meta["tool"] == tool_url
    html = (run_dir / "report.html").read_text()
    assert "tool PASS · benchctl PASS" in html and "Official tool (companion run)" in html


async def test_octt_run_json_keeps_stdout_for_the_summary(tmp_path: Path) -> None:
    config = fast_config(tmp_path)
    tool = StandInTool(dict(config.values))
    await tool.start()
    try:
        run = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "benchctl.cli", "octt", "run", "003", "--tool", tool.http_url, "--upstream",
            tool.ocpp_url, "--bench", config.file, "--runs", str(tmp_path / "runs"), "--poll-interval", "0.05",
            "--json", cwd=ROOT, env={**os.environ, "COLUMNS": "200"}, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(run.communicate(), 120)
    finally:
        await tool.stop()
    summary = json.loads(out.decode())  # nothing but the JSON on stdout
    assert run.returncode == summary["exit_status"] == 0, err.decode()
    assert [(c["id"], c["verdict"]) for c in summary["cases"]] == [("TC_003_CS", "PASS")]
    assert "plug_in -> Yes" in err.decode()  # the prompts and answers, for a person, on stderr


def test_follow_list_json_lists_the_cases() -> None:
    listing = subprocess.run([sys.executable, "-m", "benchctl.cli", "follow", "--list", "--json", "003", "010"],
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert listing.returncode == 0, listing.stderr
    assert [c["id"] for c in json.loads(listing.stdout)] == ["TC_003_CS", "TC_010_CS"]


async def test_octt_callbacks_serves_until_stopped(tmp_path: Path) -> None:
    config = fast_config(tmp_path)
    tool = StandInTool(dict(config.values))
    await tool.start()
    port = free_port()
    served = await benchctl("octt", "callbacks", "--bench", config.file, "--upstream", tool.ocpp_url,
                            "--port", str(port))
    try:
        assert served.stdout is not None
        banner = (await asyncio.wait_for(served.stdout.readline(), 60)).decode()
        assert f"SUT callbacks on http://127.0.0.1:{port}" in banner
        async with aiohttp.ClientSession() as http, http.post(f"http://127.0.0.1:{port}/plugin") as response:
            assert response.status == 200 and (await response.json())["actions"] == ["plug_in"]
        lines = [(await asyncio.wait_for(served.stdout.readline(), 10)).decode() for _ in range(5)]
        # the EV emulator's and the relay's commands, then the callback itself
        assert lines[-1].startswith("sut_api./plugin") and "plug_in" in lines[-1], lines
    finally:
        served.send_signal(signal.SIGTERM)
        await asyncio.wait_for(served.wait(), 30)
        await tool.stop()
    assert served.returncode == 0
