"""When a followed case starts, and when benchctl may do a bench action: the operator's cue.

The operator starts each case in the tool and answers its prompts. Traffic alone cannot show that a case has
started when its first step is a physical one (TC_003_CS plugs in first: nothing is on the wire until the cable
is in), nor that the operator has clicked 'Yes' on a "First resume the test case by clicking 'Yes' and ..."
prompt (the tool may miss an event that happens before). A cue says so: a keypress on the console, or, in tests
and in the companion, any callable.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from dataclasses import dataclass
from typing import IO, Awaitable, Callable

from benchctl.scenario.model import Step

START, ACTION, FINISHED = "start", "action", "finished"


class CueUnavailable(Exception):
    """The cue can never come (the console's input is closed)."""


@dataclass(frozen=True)
class CueMoment:
    case_id: str
    # START: the case is to begin; ACTION: benchctl is about to do `step` on the bench; FINISHED: benchctl has
    # its verdict and will put its gear back to idle once the tool has finished the case too
    kind: str
    step: Step | None  # the first step of the case (START) or the bench action (ACTION)

    def instruction(self) -> str:
        """What the operator is asked to do before pressing Enter."""
        doing = ""
        if self.step is not None and self.step.kind == "action":
            doing = f"; benchctl then does {self.step.data['action']}"
            if self.step.number is not None:
                doing += f" (before step {self.step.number})"
        if self.kind == FINISHED:
            return (f"{self.case_id}: when the tool has finished {tool_case_name(self.case_id)}, press Enter: benchctl "
                    f"puts its gear back to idle (cable out, no card) before you run the reset case in the tool")
        if self.kind == START:
            return (f"{self.case_id}: start {tool_case_name(self.case_id)} in the tool and answer its prompts up "
                    f"to the first physical step with 'Yes', then press Enter{doing}")
        return f"{self.case_id}: answer the tool's prompt with 'Yes', then press Enter{doing}"


Cue = Callable[[CueMoment], "Awaitable[None] | None"]


def tool_case_name(case_id: str) -> str:
    """The tool's name of a case: TC_CP_V16_<id> for the document's TC_<id>_CS (OCTT-AUTOMATION.md)."""
    return "TC_CP_V16_" + case_id.removeprefix("TC_").removesuffix("_CS")


async def give(cue: Cue, moment: CueMoment) -> None:
    """Wait for a cue, whether it is a plain function or a coroutine function."""
    outcome = cue(moment)
    if inspect.isawaitable(outcome):
        await outcome


class KeypressCue:
    """Enter on the console: at the start of a case whose first step is not a tool request, after each case
    (before the gear goes back to idle), and with `each_action` also before every bench action (the operator
    clicks 'Yes' in the tool, then Enter)."""

    def __init__(self, say: Callable[[str], None], stream: IO[str], each_action: bool = False) -> None:
        self.say = say
        self.stream = stream
        self.each_action = each_action

    async def __call__(self, moment: CueMoment) -> None:
        if moment.kind == ACTION and not self.each_action:
            return
        self.say(moment.instruction())
        line = await _read_line(self.stream)
        if line == "":
            raise CueUnavailable("the console's input is closed: no operator can cue the case (run `benchctl "
                                 "follow` in a terminal)")


async def _read_line(stream: IO[str]) -> str:
    """One line from a blocking stream, in a daemon thread: an operator who never presses Enter must not keep
    the process alive after the run is stopped."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[str] = loop.create_future()

    def settle(line: str | None, error: BaseException | None) -> None:
        if done.done():
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(line or "")

    def read() -> None:
        try:
            line, error = stream.readline(), None
        except (OSError, ValueError) as exc:
            line, error = None, CueUnavailable(f"reading the console failed: {exc}")
        try:
            loop.call_soon_threadsafe(settle, line, error)
        except RuntimeError:  # the run ended (its loop closed) while the console waited for a line
            pass

    threading.Thread(target=read, name="benchctl-follow-cue", daemon=True).start()
    return await done
