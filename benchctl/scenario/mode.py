"""Who plays the tool's part in a case: the engine is given a mode, it is not subclassed for it.

Act (benchctl run): benchctl is the Central System; it sets the configuration states, sends the tool's
requests, answers the charger and does the bench actions. Observe (benchctl follow, and the octt companion):
another Central System does the tool's part and benchctl watches the traffic (benchctl/follow/observer.py).
Everything else (matching, timing, Appendix D, evidence) is the same engine either way."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from .configuration import apply_configuration
from .model import Step
from .steps.send import Exchanged, SendStep, request_payload

if TYPE_CHECKING:
    from .engine import CaseRunner


class RunMode(Protocol):
    async def start(self, runner: CaseRunner) -> None:
        """The case's Before; ends with runner.first and runner.cursor where the case's messages start."""

    async def apply_configuration(self, runner: CaseRunner, configuration: dict[str, Any]) -> None:
        """A Configuration State, the case's or a reusable state's."""

    async def exchange(self, runner: CaseRunner, step: Step) -> Exchanged:
        """A `send` step's request and the charger's CALLRESULT; a CALLERROR or no answer is a ToolRequestError."""

    def answered(self, runner: CaseRunner, step: Step, answer: dict[str, Any] | None) -> None:
        """The tool's answer to the charger message `step` took, before the step is judged."""

    async def before_action(self, runner: CaseRunner, step: Step) -> bool:
        """An `action` step whose `when:` holds is about to run: False skips it (someone else does it)."""


class Act:
    async def start(self, runner: CaseRunner) -> None:
        """Its configuration state set and the tool's answers queued (the case starts at the inbox's end)."""
        await self.apply_configuration(runner, runner.scenario.configuration)
        runner.install_answers(runner.scenario.steps)

    async def apply_configuration(self, runner: CaseRunner, configuration: dict[str, Any]) -> None:
        await apply_configuration(runner, configuration)

    async def exchange(self, runner: CaseRunner, step: Step) -> Exchanged:
        payload = request_payload(step, runner.vars)
        sent_at = len(runner.link.inbox)  # a charger may act on a request before its answer reaches us
        response, frame = await runner.link.call(step.typed(SendStep).send, payload)
        return Exchanged(payload, response, frame, sent_at)

    def answered(self, runner: CaseRunner, step: Step, answer: dict[str, Any] | None) -> None:
        """benchctl's own answer: nothing to learn from it."""

    async def before_action(self, runner: CaseRunner, step: Step) -> bool:
        return True
