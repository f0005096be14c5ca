"""The tool's prompt dialog: at most one open at a time, answered Yes or No over the HTTP API (or by the operator
clicking, when the stand-in answers its own prompts after a delay)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, Callable


class NoPromptOpen(Exception):
    """An answer came while no prompt was open."""


class PromptTimeout(Exception):
    """Nobody answered the prompt in time."""


@dataclass(frozen=True)
class PromptAnswer:
    text: str
    yes: bool
    transaction_id: Any  # what the client sent along ("transactionID"), kept for the prompts that ask for it
    opened_mono: float
    answered_mono: float
    by: str  # "api" or "auto"


class PromptBox:
    def __init__(self, auto_answer: float | None = None) -> None:
        self.auto_answer = auto_answer
        self.text: str | None = None
        self.shown: list[str] = []  # every prompt of the current case, in order
        self._answer: asyncio.Future[PromptAnswer] | None = None
        self._opened = 0.0
        self._auto: asyncio.TimerHandle | None = None
        self._on_answer: Callable[[], None] | None = None

    @property
    def waiting(self) -> bool:
        return self.text is not None

    async def ask(self, text: str, timeout: float, on_answer: Callable[[], None] | None = None) -> PromptAnswer:
        """Show the prompt and wait for its answer; closed again whatever happens. `on_answer` runs at the click
        itself, before any other task can run (where the tool starts watching)."""
        loop = asyncio.get_running_loop()
        self.text, self._opened = text, time.monotonic()
        self.shown.append(text)
        answer: asyncio.Future[PromptAnswer] = loop.create_future()
        self._answer = answer
        self._on_answer = on_answer
        if self.auto_answer is not None:
            self._auto = loop.call_later(self.auto_answer, self._answer_if_open, answer, True, None, "auto")
        try:
            return await asyncio.wait_for(answer, timeout)
        except asyncio.TimeoutError:
            raise PromptTimeout(f"prompt not answered within {timeout:g} s: {text!r}") from None
        finally:
            self.close()

    def answer(self, yes: bool, transaction_id: Any = None, by: str = "api") -> str:
        """Answer the open prompt; returns its text."""
        if self._answer is None or self._answer.done() or self.text is None:
            raise NoPromptOpen("no prompt is open")
        text = self.text
        self._answer_if_open(self._answer, yes, transaction_id, by)
        return text

    def _answer_if_open(self, answer: asyncio.Future[PromptAnswer], yes: bool, transaction_id: Any, by: str) -> None:
        if answer is not self._answer or answer.done() or self.text is None:
            return
        if self._on_answer is not None:
            self._on_answer()
        answer.set_result(PromptAnswer(self.text, yes, transaction_id, self._opened, time.monotonic(), by))
        self.text = None  # closed the moment it is answered, as the dialog disappears on a click

    def close(self) -> None:
        if self._auto is not None:
            self._auto.cancel()
            self._auto = None
        self.text, self._answer, self._on_answer = None, None, None
