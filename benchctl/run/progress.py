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
    """Cases started and finished, told as they go; on a run with several benches several cases run at once, and
    the status shows each with its step."""

    def __init__(self, console: Console, total: int, done_before: int = 0) -> None:
        self.console = console
        self.total = total
        self.done_before = done_before  # cases a resumed run had already finished
        self.started = time.monotonic()
        self.finished_here = 0
        self.running: dict[str, tuple[int, str]] = {}  # case id: (its number, the step running)
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
        """Seconds to the estimated end: the pace of the cases finished in this process so far."""
        if not self.finished_here:
            return None
        mean = (time.monotonic() - self.started) / self.finished_here
        return mean * (self.total - self.done_before - self.finished_here)

    def _status(self) -> Text:
        elapsed = time.monotonic() - self.started
        eta = self.eta()
        end = f", about {_clock(eta)} to go" if eta is not None else ""
        done = self.done_before + self.finished_here
        head = f"{done}/{self.total} done ({_clock(elapsed)} elapsed{end})"
        if len(self.running) == 1:
            (case, (n, step)), = self.running.items()
            return Text(f"[{n}/{self.total}] {case}  {step}  ({_clock(elapsed)} elapsed{end})")
        lines = [f"  [{n}/{self.total}] {case}  {step}" for case, (n, step) in self.running.items()]
        return Text("\n".join([head, *lines]))

    def _update(self) -> None:
        if self.live is not None:
            self.live.update(self._status())

    def on_case(self, n: int, scenario: Scenario, result: CaseResult | None) -> None:
        n += self.done_before
        if result is None:
            self.running[scenario.id] = (n, "000_RESET")
            if self.live is None:
                self.console.print(escape(f"{time.strftime('%H:%M:%S')} [{n}/{self.total}] {scenario.id} "
                                          f"{scenario.title} ..."), highlight=False)
            self._update()
            return
        self.running.pop(scenario.id, None)
        self.finished_here += 1
        style = VERDICT_STYLE.get(result.verdict, "")
        step = f" step {result.step}" if result.step is not None else ""
        retries = f" after {len(result.attempts) + 1} attempts{' (flaky)' if result.flaky else ''}" \
            if result.attempts else ""
        bench = f" bench {result.bench}" if result.bench is not None else ""
        self.console.print(f"{escape(time.strftime('%H:%M:%S'))} {escape(f'[{n}/{self.total}]')} "
                           f"{scenario.id} [{style}]{result.verdict}[/]{step}{escape(retries)} "
                           f"({result.duration_s:.1f} s{bench}) {escape(result.reason)}", highlight=False)
        self._update()

    def on_step(self, step: Step, case: str) -> None:
        n, _ = self.running.get(case, (0, ""))
        self.running[case] = (n, describe_step(step))
        if self.live is None:
            self.console.print(escape(f"{time.strftime('%H:%M:%S')}   {case} {describe_step(step)}"), highlight=False)
        self._update()
