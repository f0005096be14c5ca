"""The tool's prompt dialog: at most one open at a time, answered Yes or No over the HTTP API (or by the operator
clicking, when the stand-in answers its own prompts after a delay).

With `sticky_s` the dialog behaves as public automation scripts show the real tool doing: the "waiting on a
prompt" flag and the prompt's text stay up for a moment after the answer, and an answer given to it then is
taken without complaint (and kept in `late_answers`) - a client that polls fast sees the same prompt again."""

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
    def __init__(self, auto_answer: float | None = None, sticky_s: float = 0.0) -> None:
        self.auto_answer = auto_answer
        self.sticky_s = sticky_s
        self.text: str | None = None
        self.shown: list[str] = []  # every prompt of the current case, in order
        self.answers: list[PromptAnswer] = []  # every answer taken, in order
        self.late_answers: list[str] = []  # answers given to a prompt already answered (its flag still up)
        self._stale: str | None = None  # the answered prompt whose flag is still up (sticky_s)
        self._stale_timer: asyncio.TimerHandle | None = None
        self._answer: asyncio.Future[PromptAnswer] | None = None
        self._opened = 0.0
        self._auto: asyncio.TimerHandle | None = None
        self._on_answer: Callable[[], None] | None = None

    @property
    def waiting(self) -> bool:
        """A prompt is open and waits for its answer."""
        return self.text is not None

    @property
    def flag(self) -> bool:
        """What isWaitingOnPrompt says: a prompt is open, or an answered one's flag has not dropped yet."""
        return self.text is not None or self._stale is not None

    @property
    def shown_text(self) -> str | None:
        """What getPrompt says: the open prompt, or the answered one while its flag is still up."""
        return self.text if self.text is not None else self._stale

    async def ask(self, text: str, timeout: float, on_answer: Callable[[], None] | None = None) -> PromptAnswer:
        """Show the prompt and wait for its answer; closed again whatever happens. `on_answer` runs at the click
        itself, before any other task can run (where the tool starts watching)."""
        loop = asyncio.get_running_loop()
        self._drop_stale()
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
            self._close_dialog()

    def answer(self, yes: bool, transaction_id: Any = None, by: str = "api") -> str:
        """Answer the open prompt; returns its text. An answer to a prompt whose flag is still up after its answer
        is taken and ignored, as the real tool seems to."""
        if (self._answer is None or self._answer.done() or self.text is None) and self._stale is not None:
            self.late_answers.append(self._stale)
            return self._stale
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
        taken = PromptAnswer(self.text, yes, transaction_id, self._opened, time.monotonic(), by)
        self.answers.append(taken)
        answer.set_result(taken)
        if self.sticky_s > 0:
            self._stale = self.text
            self._stale_timer = asyncio.get_running_loop().call_later(self.sticky_s, self._drop_stale)
        self.text = None  # closed the moment it is answered, as the dialog disappears on a click

    def _drop_stale(self) -> None:
        if self._stale_timer is not None:
            self._stale_timer.cancel()
        self._stale, self._stale_timer = None, None

    def _close_dialog(self) -> None:
        if self._auto is not None:
            self._auto.cancel()
            self._auto = None
        self.text, self._answer, self._on_answer = None, None, None

    def close(self) -> None:
        """The case ended: no prompt, and no flag left up."""
        self._close_dialog()
        self._drop_stale()
