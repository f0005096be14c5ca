"""`expect`: a charger message that must arrive. It takes the next message of its action after the previous
matched one and judges it, as the tool does (an each_connector one: a group, one member per connector)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from benchctl.config.typed import setting
from benchctl.csms.link import Received
from benchctl.record.case import Check

from ..errors import StepFailed
from ..status_rules import epoch
from ..step import Step, StepModel, WarnIf, seconds_value
from ..values import match_text, mismatches, substitute
from ..values import with_text as _with
from .registry import step_kind
from .taking import await_answer, expect_group, expect_status, per_connector, take

if TYPE_CHECKING:
    from ..engine import CaseRunner


def _each_connector(value: object) -> str | None:
    """true, false or evse"""
    return None if value in (True, False, "evse") else f"expected true, false or evse, got {value!r}"


@dataclass(kw_only=True)
class After:
    """The message's time from another step's frame, which the document gives (\"within N seconds\")."""

    step: int = setting(required=True, help="the step whose frame the interval is measured from")
    seconds: float | str = setting(required=True, refs=True, help="the interval the document gives")
    tolerance_s: float | str = setting(refs=True, default="${timing_tolerance_s}", help="how far off it may be")


@dataclass(kw_only=True)
class ExpectStep(StepModel):
    """A charger message that must arrive, with field matchers, timing and the tool's answer."""

    expect: str = setting(required=True, help="the OCPP action the charger must send")
    match: dict[str, Any] = setting(default={}, help="field (dotted path) -> expected value")
    timeout_s: float | str | dict[str, Any] | None = setting(type=object, check=seconds_value,
                                                             help="how long to wait for it (default: from `after`, "
                                                                  "else message_timeout_s)")
    after: After | None = setting(help="the message must come this long after another step's frame")
    answer: dict[str, Any] | None = setting(help="how the tool answers this request")
    answer_step: int | None = setting(help="step number of the tool's answer")
    each_connector: bool | str = setting(type=object, default=False, check=_each_connector,
                                         help="true: one message per connector and for connectorId 0, in any "
                                              "order; evse: the configured connector's, and one per connector "
                                              "sharing its EVSE (PICS evses) if the charger sends it")
    configured_connector_match: dict[str, Any] = setting(default={}, help="with each_connector: what the message "
                                                                          "of the configured connector "
                                                                          "(${connector_id}) must match instead "
                                                                          "of `match`")
    optional: bool = setting(default=False, help="the document allows the charger not to send it")
    save: dict[str, Any] = setting(default={}, help="variable -> path in the request (with each_connector: in the "
                                                    "configured connector's)")
    save_answer: dict[str, Any] = setting(default={}, help="variable -> path in the tool's answer")
    since_step: int | None = setting(help="look from the frame of this step on, not only after the previous "
                                          "match: the document lets the message come before the steps in between")
    warn_if: WarnIf | None = setting(help="a WARN finding (never a FAIL) when the message matches")
    until_step: int | None = setting(help="only a message that came before the frame of this earlier step counts "
                                          "(\"sent before step 7\"), so nothing is waited for; no bound when that "
                                          "(optional) step has no frame")


@step_kind("expect", model=ExpectStep)
async def expect(runner: CaseRunner, step: Step) -> None:
    if step.typed(ExpectStep).each_connector:
        await expect_group(runner, step, per_connector(runner, step))
    else:
        await _expect_one(runner, step)


async def _expect_one(runner: CaseRunner, step: Step) -> None:
    m = step.typed(ExpectStep)
    action = m.expect
    timeout = runner.timeout(step)

    start = runner.since(step)
    end = runner.until(step)
    optional = m.optional
    match = substitute(m.match, runner.vars)
    # a status (or meter values) of another connector is not this step's: Appendix D judges the statuses
    connector = match.get("connectorId") if action in ("StatusNotification", "MeterValues") else None

    def next_of_action() -> tuple[int] | None:
        """The next frame of the action; for an optional step the first one that matches, or (-1,) once a
        frame of the action came that does not: the step was skipped and that frame is the next steps'."""
        runner.check_invalid_frames(step)
        passed = False
        for i in range(start, len(runner.link.inbox) if end is None else end):
            item = runner.link.inbox[i]
            if i in runner.consumed or item.action != action:
                continue
            if isinstance(connector, int) and item.payload.get("connectorId") != connector:
                continue
            if not mismatches(item.payload, match):
                return (i,)
            if action == "StatusNotification" and _replayed(runner, item):
                continue  # a status queued while offline: history the tool does not wait for (Appendix D)
            if not optional:
                return (i,)
            passed = True
        return (-1,) if passed else None

    # with until_step every candidate is already in: nothing to wait for
    found = next_of_action() if end is not None else await runner.link.wait_until(next_of_action, timeout)
    if found is None or found[0] == -1:
        if optional:
            runner.checks.append(Check(step.number, f"{action}.req (optional) not sent", True))
            expect_status(runner, step, None)
            return
        # the reason names what was awaited: "no StatusNotification (status Preparing) ..."
        wanted = f"{action} ({match_text(match)})" if match_text(match) else action
        if end is not None:
            before = f"before the frame of step {m.until_step}"
            raise StepFailed(step, step.number, f"no {wanted} from the charger {before}",
                             expected=f"{action}.req{_with(match)} {before}")
        raise StepFailed(step, step.number, f"no {wanted} from the charger within {timeout:.1f} s",
                         expected=f"{action}.req{_with(match)} within {timeout:.1f} s")
    index = found[0]
    await await_answer(runner, index)
    take(runner, step, index)
    expect_status(runner, step, runner.link.inbox[index].frame.index)
    runner.cursor = max(runner.cursor, index + 1)


def _replayed(runner: CaseRunner, item: Received) -> bool:
    """A StatusNotification stamped before the connection it came on began: queued while the charger was
    offline and sent after it reconnected (Appendix D judges the chain; a waiting step passes over it)."""
    stamp = epoch(item.payload.get("timestamp"))
    if stamp is None:
        return False
    starts = [t for c in runner.link.security.connections
              if c.get("accepted") and (t := epoch(c.get("at"))) is not None and t <= item.frame.wall]
    return bool(starts) and stamp < max(starts)
