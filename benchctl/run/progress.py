"""Live progress of a run: case n of N, the step running, elapsed time and an estimated end.

On a terminal it is one live status line (rich) above the finished cases; without one (CI logs, a service, a
pipe) every case start, case end and step becomes a plain timestamped line, so a log read in the morning
shows the same story.
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.text import Text

from benchctl.record.case import CaseResult
from benchctl.scenario.model import Scenario, Step

from .pipeline import RunOutput

VERDICT_STYLE = {"PASS": "green", "FAIL": "red", "ERROR": "magenta", "NOT_RUNNABLE": "yellow", "NOT_APPLICABLE": "yellow"}


def describe_step(step: Step) -> str:
    number = f"step {step.number} " if step.number is not None else ""
    head = step.data.get(step.kind)
    return f"{number}{step.kind} {head}" if isinstance(head, (str, int, float)) else f"{number}{step.kind}"


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class RunProgress(RunOutput):
    def __init__(self, console: Console, total: int, done_before: int = 0) -> None:
        self.console = console
        self.total = total
        self.done_before = done_before  # cases a resumed run had already finished
        self.started = time.monotonic()
        self.finished_here = 0
        self.case = ""
        self.n = 0
        self.step = ""
        self.live: Live | None = None

    def __enter__(self) -> "RunProgress":
        if self.console.is_terminal:
            self.live = Live(self._status(), console=self.console, refresh_per_second=4, transient=True)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.live is not None:
            self.live.__exit__(*exc)
            self.live = None

    def eta(self) -> float | None:
        """Seconds to the estimated end: the mean duration of the cases finished in this process so far."""
        if not self.finished_here:
            return None
        mean = (time.monotonic() - self.started) / self.finished_here
        return mean * (self.total - self.done_before - self.finished_here)

    def _status(self) -> Text:
        elapsed = time.monotonic() - self.started
        eta = self.eta()
        end = f", about {_clock(eta)} to go" if eta is not None else ""
        return Text(f"[{self.n}/{self.total}] {self.case}  {self.step}  ({_clock(elapsed)} elapsed{end})")

    def _update(self) -> None:
        if self.live is not None:
            self.live.update(self._status())

    def on_case(self, n: int, scenario: Scenario, result: CaseResult | None) -> None:
        self.n, self.case = n + self.done_before, scenario.id
        if result is None:
            self.step = "000_RESET"
            if self.live is None:
                self.console.print(escape(f"{time.strftime('%H:%M:%S')} [{self.n}/{self.total}] {scenario.id} "
                                          f"{scenario.title} ..."), highlight=False)
            self._update()
            return
        self.finished_here += 1
        style = VERDICT_STYLE.get(result.verdict, "")
        step = f" step {result.step}" if result.step is not None else ""
        retries = f" after {len(result.attempts) + 1} attempts{' (flaky)' if result.flaky else ''}" \
            if result.attempts else ""
        self.console.print(f"{escape(time.strftime('%H:%M:%S'))} {escape(f'[{self.n}/{self.total}]')} "
                           f"{scenario.id} [{style}]{result.verdict}[/]{step}{escape(retries)} "
                           f"({result.duration_s:.1f} s) {escape(result.reason)}", highlight=False)
        self._update()

    def on_step(self, step: Step) -> None:
        self.step = describe_step(step)
        if self.live is None:
            self.console.print(escape(f"{time.strftime('%H:%M:%S')}   {self.case} {self.step}"), highlight=False)
        self._update()
