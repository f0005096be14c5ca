"""What one running case can do, the way the tool does it: show a prompt (or call the SUT API), watch from the
moment it was answered, wait for the charger's messages, send requests, and judge the tool validations.

"Resume first, then act": the tool starts watching when a prompt is answered Yes, so a message the charger sent
before that is missed, exactly as with the real tool.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, Callable

from ocpp.exceptions import OCPPError

from . import prompts
from .central import Request, ToolCentral
from .prompt_box import PromptBox, PromptTimeout
from .sut_api import SutApi, SutCallbackFailed

Check = Callable[[dict[str, Any]], "str | None"]  # a tool validation: None when it holds, else what is wrong


class CaseFailed(Exception):
    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"step {step}: {reason}")
        self.step = step
        self.reason = reason


@dataclass
class ExpectedStatus:
    step: str
    connector_id: int
    status: str
    request: Request | None  # None: not received


def field_is(name: str, expected: Any) -> Check:
    def check(payload: dict[str, Any]) -> str | None:
        got = payload.get(name)
        return None if got == expected else f"{name} is {got!r}, expected {expected!r}"
    return check


async def in_either_order(*steps: Coroutine[Any, Any, Any]) -> list[Any]:
    """Steps the document lets come in either order: watched together; the first failure is the verdict."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(step) for step in steps]
    except BaseExceptionGroup as failed:
        first = failed.exceptions[0]
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        raise first from None
    return [t.result() for t in tasks]


class CaseRun:
    def __init__(self, name: str, central: ToolCentral, box: PromptBox, values: dict[str, Any],
                 sut: SutApi | None = None, unknown_prompt: str | None = None, prompt_timeout: float = 120.0) -> None:
        self.name = name
        self.central = central
        self.box = box
        self.values = values
        self.sut = sut
        self.unknown_prompt = unknown_prompt
        self.prompt_timeout = prompt_timeout
        self.connector_id = int(values.get("connector_id", 1))
        self.timeout = float(values.get("message_timeout_s", 10))
        self.tolerance = float(values.get("timing_tolerance_s", 1.0))
        self.expected: list[ExpectedStatus] = []
        self.step = "start"  # the step the case is at, for the verdict when the time limit cuts it short

    # ----------------------------------------------------------------- prompts and physical steps
    async def _show(self, text: str, step: str, on_watch: Callable[[], None] | None = None) -> int:
        """Show a prompt and wait; No fails the case. Returns where watching starts: the moment of the Yes."""
        await self._unknown_first()
        self.step = step
        mark: list[int] = []

        def watch() -> None:  # at the click itself, before anything else can arrive
            mark.append(self.central.mark())
            if on_watch is not None:
                on_watch()
        try:
            answer = await self.box.ask(text, self.prompt_timeout, on_answer=watch)
        except PromptTimeout as exc:
            raise CaseFailed(step, str(exc)) from None
        if not answer.yes:
            raise CaseFailed(step, f"prompt answered No: {text!r}")
        return mark[0]

    async def _unknown_first(self) -> None:
        """The configured prompt no client knows comes before the case's first real step, once."""
        if self.unknown_prompt is not None:
            unknown, self.unknown_prompt = self.unknown_prompt, None
            await self._show(unknown, "prompt")

    async def setup(self) -> None:
        """The prompt every case of the tool opens with (not with the SUT API: nobody sits at the tool)."""
        if self.sut is None:
            await self._show(prompts.SETUP, "setup")

    async def physical(self, text: str, step: str, on_watch: Callable[[], None] | None = None) -> int:
        """A manual action: the prompt asking for it, or with the SUT API the callback that performs it."""
        if self.sut is None:
            return await self._show(text, step, on_watch)
        await self._unknown_first()
        self.step = step
        mark = self.central.mark()
        if on_watch is not None:
            on_watch()
        try:
            await self.sut.callback(prompts.SUT_CALLBACKS[text], self.connector_id)
        except SutCallbackFailed as exc:
            raise CaseFailed(step, str(exc)) from None
        return mark

    async def verify(self, text: str, ok: bool, step: str, reason: str) -> None:
        """A verification prompt: the operator judges (No fails); with the SUT API the tool judges itself."""
        if self.sut is None:
            await self._show(text, step)
        elif not ok:
            raise CaseFailed(step, reason)

    # ----------------------------------------------------------------- the charger's messages
    def _ours(self, action: str) -> Callable[[Request], bool]:
        return lambda r: r.action == action and r.charge_point_id == self.central.sut

    async def expect(self, step: str, action: str, after: int, *, where: Callable[[dict[str, Any]], bool] | None = None,
                     check: Check | None = None, timeout: float | None = None) -> Request:
        """Wait for `action` (that satisfies `where`) from index `after` on; `check` is the step's tool validation."""
        self.step = step
        timeout = self.timeout if timeout is None else timeout
        ours = self._ours(action)
        request = await self.central.wait_for(lambda r: ours(r) and (where is None or where(r.payload)), after, timeout)
        if request is None:
            raise CaseFailed(step, f"no {action} received within {timeout:g} s")
        problem = check(request.payload) if check is not None else None
        if problem is not None:
            raise CaseFailed(step, f"{action}: {problem}")
        return request

    async def status(self, step: str, status: str, after: int, connector_id: int | None = None,
                     timeout: float | None = None) -> ExpectedStatus:
        """An expected StatusNotification: listed at the end with whether it came (the tool keeps going)."""
        cid = self.connector_id if connector_id is None else connector_id
        timeout = self.timeout if timeout is None else timeout
        ours = self._ours("StatusNotification")
        request = await self.central.wait_for(
            lambda r: ours(r) and int(r.payload["connectorId"]) == cid and r.payload["status"] == status,
            after, timeout)
        expected = ExpectedStatus(step, cid, status, request)
        self.expected.append(expected)
        return expected

    async def call(self, step: str, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.step = step
        try:
            return await self.central.call(action, payload)
        except (OCPPError, ConnectionError, asyncio.TimeoutError) as exc:
            raise CaseFailed(step, f"{action}: {type(exc).__name__}: {exc}") from None

    async def finish(self) -> None:
        """The expected StatusNotifications list, then the tool validation that each one came."""
        entries = [(e.request.local_time() if e.request else "", e.connector_id, e.status,
                    e.request.payload.get("errorCode", "NoError") if e.request else "NoError", e.request is not None)
                   for e in self.expected]
        missing = [e for e in self.expected if e.request is None]
        reason = "; ".join(f"StatusNotification {e.status} (connectorId {e.connector_id}) not received"
                           for e in missing)
        await self.verify(prompts.status_list(entries), not missing, "Expected StatusNotifications", reason)
        if missing:
            raise CaseFailed(missing[0].step, reason)
