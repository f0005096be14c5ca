"""One tool case, driven: start it over the HTTP API, poll its prompts while the call blocks, and handle each
prompt by its entry in prompts.yaml: the answer (fixed or from evidence) and the bench action, "resume first,
then act" where the tool expects it (an event that happens before the prompt is answered is missed).

An unknown prompt is answered No, so the tool ends the case, and the case is an ERROR with the prompt's text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from benchctl.bench.actions import ACTIONS, missing_roles
from benchctl.bench.bench import Bench
from benchctl.scenario.values import UnknownVariable, substitute

from .client import OcttClient, OcttError, ToolVerdict
from .evidence import Evidence
from .pace import DEFAULT_IDLE_POLL_S, DEFAULT_POLL_S, Answered, Pace
from .prompts import ACT_THEN_ANSWER, ANSWER_THEN_ACT, PromptBook

log = logging.getLogger("benchctl.octt")


@dataclass
class PromptRecord:
    """One prompt of the tool and what benchctl did about it (monotonic times for the latency figures)."""

    case: str
    text: str
    seen: float  # wall clock
    seen_mono: float
    rule: str | None = None  # the prompts.yaml entry, None for an unknown prompt
    where: str | None = None  # its file:line
    quirk: str | None = None
    order: str | None = None
    answer: bool | None = None
    reason: str = ""
    frames: list[int] = field(default_factory=list)  # capture frames an evidence answer rests on
    action: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    error: str | None = None  # the action failed, or the answer could not be given
    answered_mono: float | None = None
    action_started_mono: float | None = None
    action_done_mono: float | None = None

    def as_record(self) -> dict[str, Any]:
        record = asdict(self)
        for key in ("seen_mono", "answered_mono", "action_started_mono", "action_done_mono"):
            if record[key] is not None:
                record[key] = round(record[key], 6)
        return record


@dataclass
class DrivenCase:
    case: str
    verdict: ToolVerdict | None
    prompts: list[PromptRecord]
    problem: str | None  # why benchctl cannot take the tool's verdict as it is (unknown prompt, failed action)
    started: float
    duration_s: float


class CaseDriver:
    def __init__(self, client: OcttClient, book: PromptBook, evidence: Evidence, bench: Bench | None, *,
                 poll_s: float = DEFAULT_POLL_S, idle_poll_s: float = DEFAULT_IDLE_POLL_S,
                 on_prompt: Callable[[PromptRecord], None] | None = None) -> None:
        self.client = client
        self.book = book
        self.evidence = evidence
        self.bench = bench
        self.poll_s = poll_s
        self.idle_poll_s = idle_poll_s
        self.on_prompt = on_prompt
        self.answered: Answered | None = None  # kept across cases: a flag left up must not be answered again
        self._late: list[str] = []  # answer calls that failed after the tool had taken the answer
        self._pending_answers: set[asyncio.Future[None]] = set()  # answer calls the tool still holds

    async def drive(self, case: str) -> DrivenCase:
        """Run one tool case to its end; its verdict, every prompt handled, and what went wrong on our side."""
        started, t0 = time.time(), time.monotonic()
        run = asyncio.create_task(self.client.run_case(case))
        prompts: list[PromptRecord] = []
        try:
            problem = await self.handle_prompts_while(case, run, prompts)
            verdict = run.result()
        except OcttError as exc:
            return DrivenCase(case, None, prompts, f"the tool: {exc}", started, time.monotonic() - t0)
        finally:
            if not run.done():
                run.cancel()
        return DrivenCase(case, verdict, prompts, problem, started, time.monotonic() - t0)

    async def handle_prompts_while(self, case: str, running: "asyncio.Future[Any]",
                                   prompts: list[PromptRecord]) -> str | None:
        """Poll and handle the tool's prompts until `running` (the blocking case call) is done; what went wrong
        on benchctl's side, or None. Each handled prompt is appended to `prompts` as it is done."""
        pace = Pace(self.poll_s, self.idle_poll_s)
        listeners = self.evidence.capture.listeners
        listeners.append(pace.busy)  # a frame through the proxy: a prompt may follow
        self._late = []
        try:
            problem = await self._poll(case, running, prompts, pace)
        finally:
            listeners.remove(pace.busy)
            for call in list(self._pending_answers):  # the case is over: its answers are of no more use
                call.cancel()
        return problem or (self._late[0] if self._late else None)

    async def _poll(self, case: str, running: "asyncio.Future[Any]", prompts: list[PromptRecord],
                    pace: Pace) -> str | None:
        problem: str | None = None
        while not running.done():
            try:
                text = await self._prompt_up()
            except OcttError:
                if running.done():
                    break  # the case ended while we asked; its own answer says how
                raise
            if text is not None and self.answered is not None and self.answered.same_prompt(case, text):
                await pace.sleep(running)  # its flag is still up after our answer: the same prompt
                continue
            self.answered = None  # the flag dropped or the text changed: what shows next is a new prompt
            if text is None:
                await pace.sleep(running)
                continue
            record = await self.handle(case, text, [p.rule for p in prompts if p.rule], running)
            self.answered = Answered(case, text, record.answered_mono or time.monotonic())
            prompts.append(record)
            if record.rule is None:
                problem = problem or f"unknown prompt, never guessed: the case was ended with No: {text!r}"
            elif record.error is not None:
                problem = problem or f"prompt {record.rule!r}: {record.error}"
            pace.busy()  # the next prompt may be open already
        return problem

    async def _prompt_up(self) -> str | None:
        """The text of the prompt up now, or None."""
        if not await self.client.is_waiting_on_prompt():
            return None
        return await self.client.get_prompt()

    async def handle(self, case: str, text: str, shown: list[str],
                     running: "asyncio.Future[Any] | None" = None) -> PromptRecord:
        """Answer one prompt and do its bench action, in its order; `running` is the case, whose end stops a
        wait for the tool to take the answer."""
        record = PromptRecord(case, text, time.time(), time.monotonic())
        found = self.book.find(case, text, shown)
        if found is None:
            log.error("%s: unknown prompt %r: answering No so the tool ends the case", case, text)
            record.answer, record.reason = False, "unknown prompt: not in prompts.yaml, so not answered Yes"
            await self._answer(record, False, running)
            self._report(record)
            return record
        rule, match = found
        record.rule, record.where, record.quirk, record.order = rule.name, rule.where, rule.quirk, rule.order
        yes = bool(rule.answer)
        if rule.evidence is not None:
            try:
                evidence = await self.evidence.answer(rule, text, match)
            except Exception as exc:  # the gear could not be read: no evidence, so no Yes
                evidence = None
                record.error = f"evidence {rule.evidence} could not be gathered: {exc}"
                yes, record.reason = False, record.error
            if evidence is not None:
                yes, record.reason, record.frames = evidence.yes, evidence.reason, evidence.frames
        elif not record.reason:
            record.reason = "answered as prompts.yaml says" + (f" (quirk: {rule.quirk})" if rule.quirk else "")
        if rule.action is not None:
            try:
                record.args = substitute(rule.args, self.evidence.variables())
            except UnknownVariable as exc:
                record.error = str(exc)
            record.action = rule.action
        if rule.order == ACT_THEN_ANSWER and record.error is None:
            yes = await self._act(record) and yes
            await self._answer(record, yes, running)
        elif rule.order == ANSWER_THEN_ACT:
            # resume first: the tool starts watching only once answered, and would miss what happens before
            taken = await self._answer(record, yes and record.error is None, running)
            if yes and record.error is None and taken:
                await self._act(record)
        else:
            await self._answer(record, yes and record.error is None, running)
        record.answer = yes and record.error is None
        self._report(record)
        return record

    async def _answer(self, record: PromptRecord, yes: bool, running: "asyncio.Future[Any] | None") -> bool:
        """Answer, and return once the tool has taken the answer: its call returned, or the prompt went down or
        changed (the call may block for minutes). False when the case ended first; a call that fails before
        the answer was taken raises OcttError."""
        transaction_id = self.evidence.last_transaction()[0]
        call = asyncio.ensure_future(self.client.answer_prompt(yes, transaction_id))
        gone = asyncio.ensure_future(self._prompt_gone(record.text))
        waited: set[asyncio.Future[Any]] = {call, gone} | ({running} if running is not None else set())
        try:
            await asyncio.wait(waited, return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
        if call.done():
            call.result()
        elif gone.done() and not gone.cancelled():
            call.add_done_callback(lambda done: self._late_answer(record, done))
            self._pending_answers.add(call)
        else:  # the case ended before the tool took the answer: nothing to act for
            call.cancel()
            record.reason += "; the case ended before the tool took the answer"
            return False
        record.answered_mono = time.monotonic()
        return True

    async def _prompt_gone(self, text: str) -> None:
        """Return once the prompt `text` is no longer up (the tool took its answer)."""
        pace = Pace(self.poll_s, self.idle_poll_s)
        never = asyncio.get_running_loop().create_future()
        while True:
            await pace.sleep(never)
            with contextlib.suppress(OcttError):  # a poll that fails proves nothing: ask again
                if await self._prompt_up() != text:
                    return

    def _late_answer(self, record: PromptRecord, call: "asyncio.Future[None]") -> None:
        self._pending_answers.discard(call)
        if call.cancelled() or call.exception() is None:
            return
        why = (f"prompt {record.rule or record.text!r}: the tool took the answer, then its call failed: "
               f"{call.exception()}")
        log.error("%s: %s", record.case, why)
        self._late.append(why)

    async def _act(self, record: PromptRecord) -> bool:
        assert record.action is not None
        spec = ACTIONS[record.action]
        record.action_started_mono = time.monotonic()
        try:
            if self.bench is None:
                raise RuntimeError("no bench to act with")
            missing = missing_roles(self.bench, list(spec.roles))
            if missing:
                raise RuntimeError(f"the bench has no {', '.join(missing)} role for {record.action}")
            await spec.func(self.bench, **record.args)
        except Exception as exc:  # a failed action is reported with the case, never raised past the tool
            record.error = f"bench action {record.action} failed: {exc}"
            log.error("%s: %s", record.case, record.error)
            return False
        finally:
            record.action_done_mono = time.monotonic()
        return True

    def _report(self, record: PromptRecord) -> None:
        log.info("%s: prompt %r -> %s%s", record.case, record.rule or record.text,
                 "Yes" if record.answer else "No", f", {record.action}" if record.action else "")
        if self.on_prompt is not None:
            self.on_prompt(record)
