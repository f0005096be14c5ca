"""A stand-in for the OCA's test tool (OCTT, OCPP 1.6), for tests: the tool's HTTP API on one port, its Central
System on another, and its side of a few cases with its prompts, in its order."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from aiohttp import web

from .cases import SCRIPTS
from .catalogue import DESCRIPTIONS
from .central import Request, ToolCentral, ToolFrame
from .errors import CaseAlreadyRunning, UnknownCase
from .http_api import build_app
from .prompt_box import PromptBox
from .steps import CaseFailed, CaseRun
from .sut_api import SutApi


class StandInTool:
    """`values` are the bench values (valid_id_tag, heartbeat_interval_s, message_timeout_s, ...).

    unknown_prompts: case name -> a prompt text no client knows, shown before that case's first prompt.
    auto_answer: answer every prompt Yes this many seconds after it opens (an operator clicking).
    sut_api: base URL of the system under test's callbacks; physical steps call it instead of prompting.
    The real tool's ways seen in public automation scripts, each on demand:
    sticky_prompt_s: the prompt flag (and text) stays up this long after the answer; an answer then is ignored.
    answer_delay_s: autoExecPrompt takes the answer at once but answers the call this much later.
    idle_waiting: what isWaitingOnPrompt answers with no prompt up (default false; e.g. null or "").
    `.calls` holds (monotonic time, path) of every HTTP call, to bound a client's poll rate.
    """

    def __init__(self, values: dict[str, Any], *, host: str = "127.0.0.1", http_port: int = 0, ocpp_port: int = 0,
                 unknown_prompts: dict[str, str] | None = None, auto_answer: float | None = None,
                 sut_api: str | None = None, prompt_timeout_s: float = 120.0,
                 case_time_limit_s: float = 300.0, sticky_prompt_s: float = 0.0, answer_delay_s: float = 0.0,
                 idle_waiting: Any = False) -> None:
        self.values = dict(values)
        self.host = host
        self.http_port = http_port
        self.unknown_prompts = dict(unknown_prompts or {})
        unknown = sorted(set(self.unknown_prompts) - set(SCRIPTS))
        if unknown:
            raise ValueError(f"unknown_prompts names case(s) the stand-in does not play: {', '.join(unknown)}; "
                             f"known: {', '.join(SCRIPTS)}")
        self.sut = SutApi(sut_api) if sut_api else None
        self.prompt_timeout_s = prompt_timeout_s
        self.case_time_limit_s = case_time_limit_s
        self.central = ToolCentral(self.values, host=host, port=ocpp_port,
                                   response_timeout=float(self.values.get("message_timeout_s", 30)))
        self.box = PromptBox(auto_answer, sticky_prompt_s)
        self.answer_delay_s = answer_delay_s
        self.idle_waiting = idle_waiting
        self.calls: list[tuple[float, str]] = []
        self.results: list[dict[str, Any]] = []  # every case's verdict, in the order they ran
        self.running: str | None = None
        self._task: asyncio.Task[dict[str, Any]] | None = None
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None

    # ----------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        await self.central.start()
        self._runner = web.AppRunner(build_app(self), access_log=None)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, self.host, self.http_port)
        await self._site.start()

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = self._site = None
        await self.central.stop()

    @property
    def http_url(self) -> str:
        assert self._runner is not None, "start() first"
        host, port = self._runner.addresses[0][:2]
        return f"http://{f'[{host}]' if ':' in host else host}:{port}"

    @property
    def ocpp_url(self) -> str:
        return self.central.url

    @property
    def frames(self) -> list[ToolFrame]:
        return self.central.frames

    @property
    def requests(self) -> list[Request]:
        return self.central.requests

    # ----------------------------------------------------------------- cases
    def testcases(self) -> list[dict[str, str]]:
        return [{"name": name, "desc": DESCRIPTIONS[name]} for name in SCRIPTS]

    async def run_case(self, name: str) -> dict[str, Any]:
        """Run one case to its verdict (the caller may go away: the case still ends on its own)."""
        if name not in SCRIPTS:
            raise UnknownCase(f"unknown test case {name!r}; the stand-in plays {', '.join(SCRIPTS)}")
        if self.running is not None:
            raise CaseAlreadyRunning(f"{self.running} is running; one case at a time")
        self.running = name
        self._task = asyncio.get_running_loop().create_task(self._run(name), name=f"octt-{name}")
        return await asyncio.shield(self._task)

    async def _run(self, name: str) -> dict[str, Any]:
        run = CaseRun(name, self.central, self.box, self.values, self.sut, self.unknown_prompts.get(name),
                      self.prompt_timeout_s)
        self.box.shown = []
        started = time.monotonic()
        verdict, step, reason = "PASS", None, None
        try:
            await asyncio.wait_for(SCRIPTS[name](run), self.case_time_limit_s)
        except CaseFailed as exc:
            verdict, step, reason = "FAIL", exc.step, exc.reason
        except asyncio.TimeoutError:
            verdict, step, reason = "FAIL", run.step, f"time limit of {self.case_time_limit_s:g} s reached"
        finally:
            self.box.close()
            self.central.overrides.clear()
            self.running = None
        result = {
            "testCaseID": name,
            "testCase_Result": verdict,
            "step": step,
            "reason": reason,
            "prompts": list(self.box.shown),
            "duration_s": round(time.monotonic() - started, 3),
            "transactionID": self.central.last_transaction_id,
        }
        self.results.append(result)
        return result
