"""`send`: a request of the tool to the charger, with checks on the charger's response. How the request reaches
the charger is the runner's `exchange` (benchctl sends it; benchctl.follow observes the tool's); what is judged
of the answer is the same either way (`took_response`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from benchctl.config.typed import setting
from benchctl.csms.capture import CapturedFrame
from benchctl.csms.frames import CALLERROR
from benchctl.csms.link import ToolRequestError
from benchctl.record.case import Check
from benchctl.smart.profiles import in_rate_unit
from benchctl.smart.tracker import SmartTracker

from ..configuration import config_text
from ..errors import StepFailed
from ..step import Step, StepModel, WarnIf
from ..values import get_path, is_missing, substitute
from .registry import step_kind

if TYPE_CHECKING:
    from ..engine import CaseRunner


@dataclass(kw_only=True)
class SendStep(StepModel):
    """A request the tool (the Central System) sends, with checks on the charger's response."""

    send: str = setting(required=True, help="the OCPP action the tool sends")
    payload: dict[str, Any] = setting(default={}, help="the request's fields (values may be ${name} references)")
    response: dict[str, Any] = setting(default={}, help="field (dotted path) -> expected value in the response")
    response_step: int | None = setting(help="step number of the charger's response, when the document gives it "
                                             "its own")
    warn_if: WarnIf | None = setting(help="a WARN finding (never a FAIL) when the response matches")
    save: dict[str, Any] = setting(default={}, help="variable -> path in the response")
    limit: dict[str, Any] = setting(default={}, help="payload field (a list) -> keep at most this many items (the "
                                                     "document's \"N or the length of the list, whichever is "
                                                     "less\")")
    save_request: dict[str, Any] = setting(default={}, help="variable -> path in the request as it was sent")
    or_call_error: list[str] | None = setting(help="the document also accepts a CALLERROR instead of the "
                                                   "response: with one of these error codes ([]: any code); "
                                                   "`response` is not judged then")
    rate_unit: str | None = setting(help="the charging schedules in the payload are written in A, as the document "
                                         "gives them; they are sent in this unit (A or W, e.g. "
                                         "${charging_rate_unit}): chargingRateUnit set, limits x 1000 for W (the "
                                         "document's note)")


@dataclass
class Exchanged:
    """A request and the charger's CALLRESULT to it; `sent_at`: how many messages the inbox held when it went out
    (a charger may act on a request before its answer reaches the Central System)."""
    request: dict[str, Any]
    response: dict[str, Any]
    frame: CapturedFrame
    sent_at: int


@step_kind("send", model=SendStep)
async def send(runner: CaseRunner, step: Step) -> None:
    number = step.typed(SendStep).response_step or step.number
    try:
        exchanged = await runner.mode.exchange(runner, step)
    except ToolRequestError as exc:
        if not call_error_allowed(runner, step, number, exc):
            raise StepFailed(step, number, str(exc)) from exc
        return
    took_response(runner, step, number, exchanged)


def request_payload(step: Step, values: dict[str, Any]) -> dict[str, Any]:
    """The request as benchctl sends it: the scenario's payload with its values, lists cut to `limit`, a
    configuration value as text, schedules in the step's rate unit."""
    d = step.typed(SendStep)
    payload: dict[str, Any] = substitute(d.payload, values)
    for name, most in substitute(d.limit, values).items():
        if not isinstance(payload.get(name), list):
            raise ValueError(f"limit: payload field {name} is not a list")
        payload[name] = payload[name][:int(most)]
    if d.send == "ChangeConfiguration" and "value" in payload:
        # the value is a string on the wire, whatever type the bench value it comes from has
        payload["value"] = config_text(payload["value"])
    if d.rate_unit:
        payload = in_rate_unit(payload, substitute(d.rate_unit, values))
    return payload


def took_response(runner: CaseRunner, step: Step, number: int | None, exchanged: Exchanged) -> None:
    """The step's evidence and response checks, and the values it saves."""
    d, payload, response, frame = step.typed(SendStep), exchanged.request, exchanged.response, exchanged.frame
    if step.number is not None:
        runner.frames_by_step[step.number] = frame
    if d.response_step is not None:
        runner.frames_by_step[d.response_step] = frame
    runner.save(d.save_request, payload)
    if d.send in SmartTracker.ACTIONS:
        runner.smart_tracker().sent(d.send, payload, response, exchanged.sent_at)
    checks = substitute(d.response, runner.vars)
    composite = {path: checks.pop(path) for path in list(checks) if _composite_matcher(checks[path])}
    runner.judge(step, number, f"{d.send}.conf", response, checks, frame)
    runner.warn_if(step, number, response, frame)
    for path, arg in composite.items():
        _judge_composite(runner, step, number, exchanged, path, arg["composite_schedule"])
    runner.save(d.save, response)


def call_error_allowed(runner: CaseRunner, step: Step, number: int | None, exc: ToolRequestError) -> bool:
    """`or_call_error`: a CALLERROR (with an allowed code) is an answer the document accepts."""
    d = step.typed(SendStep)
    allowed, frame = d.or_call_error, exc.frame
    if allowed is None or frame is None or frame.frame.message_type != CALLERROR:
        return False
    code = (frame.frame.payload or {}).get("errorCode")
    ok = not allowed or code in allowed
    what = f"{d.send}: CALLERROR" + (f" with errorCode {' or '.join(allowed)}" if allowed else "")
    runner.checks.append(Check(number, what, ok, code, [frame.index]))
    for n in (step.number, d.response_step):
        if n is not None:
            runner.frames_by_step[n] = frame
    return ok


def _composite_matcher(expected: Any) -> bool:
    """`{composite_schedule: ...}`: judged here against the profiles the case sent, not by values.py."""
    return isinstance(expected, dict) and list(expected) == ["composite_schedule"]


def _judge_composite(runner: CaseRunner, step: Step, number: int | None, exchanged: Exchanged, path: str,
                     arg: Any) -> None:
    """`{composite_schedule: {connector_id, tolerance_s}}`: the GetCompositeSchedule.conf against benchctl's
    own composite of the profiles the case sent (connector and unit: the request's by default)."""
    request, response, frame = exchanged.request, exchanged.response, exchanged.frame
    arg = arg if isinstance(arg, dict) else {}
    connector = int(arg.get("connector_id", request.get("connectorId", runner.vars["connector_id"])))
    tolerance = float(arg.get("tolerance_s", runner.vars["timing_tolerance_s"]))
    start_within = float(arg.get("start_within_s", runner.vars["max_time_deviation_s"]))
    at = datetime.fromtimestamp(frame.wall, timezone.utc)
    problems, expected = runner.smart_tracker().judge(response, connector, tolerance, at,
                                                      request.get("chargingRateUnit"), start_within)
    what = f"{step.typed(SendStep).send}.conf {path} is the composite of the profiles sent (connector {connector})"
    returned = get_path(response, path)
    computed = None if expected is None else [[round(p.start_s, 3), p.limit] for p in expected.periods]
    observed = {"charger": None if is_missing(returned) else returned, "benchctl": computed}
    runner.checks.append(Check(number, what, not problems, observed, [frame.index]))
    if problems:
        raise StepFailed(step, number, f"{what}: " + "; ".join(problems) + f" (frame #{frame.index})")
