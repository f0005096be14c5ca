"""A scripted charger on a real WebSocket against benchctl's Central System, and a one-case run of a scenario text
against it: the language tests judge the engine on frames they choose."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, Awaitable, Callable

import websockets

from benchctl.bench.bench import Bench
from benchctl.bench.config import BenchConfig
from benchctl.csms.capture import Capture
from benchctl.csms.server import CentralSystem
from benchctl.record.case import CaseResult
from benchctl.scenario.engine import CaseRunner
from benchctl.scenario.model import load_scenario
from drivers.steplog import StepLog

HEAD = "id: TC_901_CS\ntitle: language probe\nsection: '9.9'\n"


class ScriptedCharger:
    """Answers every call of the Central System as `answers` says, and records what it was sent and answered."""

    def __init__(self, answers: dict[str, dict[str, Any]], after: dict[str, list[Any]] | None = None) -> None:
        self.answers = answers
        self.after = after or {}  # action -> frames to send right after answering it
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.results: dict[str, Any] = {}  # our unique id -> the Central System's answer
        self.ws: Any = None

    async def serve(self, ws: Any) -> None:
        self.ws = ws
        async for raw in ws:
            frame = json.loads(raw)
            if frame[0] == 3:
                self.results[frame[1]] = frame[2]
            elif frame[0] == 2:
                self.calls.append((frame[2], frame[3]))
                await ws.send(json.dumps([3, frame[1], self.answers.get(frame[2], {})]))
                for extra in self.after.get(frame[2], []):
                    await ws.send(json.dumps(extra))

    async def send(self, frame: list[Any]) -> None:
        await self.ws.send(json.dumps(frame))


async def run_scripted(tmp_path: Path, config: BenchConfig, text: str, charger: ScriptedCharger,
               script: Callable[[], Awaitable[None]] | None = None, **runner_args: Any) -> CaseResult:
    (tmp_path / "TC_901_CS.yaml").write_text(HEAD + text)
    scenario = load_scenario(tmp_path / "TC_901_CS.yaml")
    csms = CentralSystem(Capture(None), config.values)
    await csms.start()
    try:
        async with websockets.connect(f"{csms.url}/CP-9", subprotocols=["ocpp1.6"]) as ws:
            server = asyncio.create_task(charger.serve(ws))
            link = csms.link("CP-9")
            await link.wait_until(lambda: link.connected.is_set(), 5)
            runner = asyncio.create_task(CaseRunner(scenario, Bench(config, {}, StepLog()), link, **runner_args).run())
            if script is not None:
                await script()
            result = await asyncio.wait_for(runner, 10)
            server.cancel()
    finally:
        await csms.stop()
    return result


