"""What `expect` and `any_order` share: judging a charger message a step took (matchers, timing, the tool's
answer as evidence, saved values) and the StatusNotification expectations Appendix D is judged against."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from benchctl.csms.capture import CapturedFrame
from benchctl.record.case import Check

from ..errors import StepFailed
from ..model import Step
from ..status_rules import BOOT_WAIT, ExpectedStatus
from ..values import substitute

if TYPE_CHECKING:
    from ..engine import CaseRunner


def take(runner: CaseRunner, step: Step, index: int) -> None:
    """Judge the matched charger message at inbox `index`, and record the evidence of its steps."""
    runner.consumed.add(index)
    item = runner.link.inbox[index]
    d = step.data
    runner.mode.answered(runner, step, item.answer)
    after = d.get("after")
    if after:
        _judge_timing(runner, step, item.frame, after)  # before this step's own frame replaces an earlier one
    if step.number is not None:
        runner.frames_by_step[step.number] = item.frame
    answer = runner.link.answers.get(item.frame.frame.unique_id or "")
    if d.get("answer_step") is not None and answer is not None:
        runner.frames_by_step[d["answer_step"]] = answer
        if d.get("answer") is not None:
            runner.checks.append(Check(d["answer_step"], f"{d['expect']}.conf answered {item.answer}", True,
                                       item.answer, [answer.index]))
    runner.judge(step, step.number, f"{d['expect']}.req", item.payload, substitute(d["match"], runner.vars),
                 item.frame)
    runner.warn_if(step, step.number, item.payload, item.frame)
    runner.save(d["save"], item.payload)
    runner.save(d["save_answer"], item.answer or {})


async def await_answer(runner: CaseRunner, index: int) -> None:
    """The request reaches the engine before its answer is on the wire; the answer is evidence too."""
    unique_id = runner.link.inbox[index].frame.frame.unique_id or ""
    await runner.link.wait_until(lambda: unique_id in runner.link.answers, 5.0)


def _judge_timing(runner: CaseRunner, step: Step, frame: CapturedFrame, after: dict[str, Any]) -> None:
    ref = runner.frames_by_step.get(after["step"])
    if ref is None:
        raise StepFailed(step, step.number, f"timing refers to step {after['step']}, which has no frame yet")
    seconds = float(substitute(after["seconds"], runner.vars))
    tolerance = float(substitute(after["tolerance_s"], runner.vars))
    delay = frame.mono - ref.mono
    ok = abs(delay - seconds) <= tolerance
    runner.checks.append(Check(step.number, f"{step.data['expect']} {seconds:g} ± {tolerance:g} s after step "
                                            f"{after['step']}", ok, round(delay, 3), [ref.index, frame.index]))
    if not ok:
        raise StepFailed(step, step.number, f"{step.data['expect']} came {delay:.2f} s after step {after['step']}"
                                            f", expected {seconds:g} ± {tolerance:g} s (frames #{ref.index}, "
                                            f"#{frame.index})")


def expect_status(runner: CaseRunner, step: Step, index: int | None, group: list[Step] | None = None) -> None:
    """Remember a StatusNotification expectation, and what the tool was waiting for around it."""
    if step.data["expect"] != "StatusNotification":
        waits = {"StartTransaction": "StartTransaction", "StopTransaction": "StopTransaction",
                 "BootNotification": "boot"}
        runner.waiting_for = waits.get(step.data["expect"], runner.waiting_for)
        return
    match = substitute(step.data["match"], runner.vars)
    waiting_for = runner.waiting_for
    for member in group or []:
        if member.data["expect"] in ("StartTransaction", "StopTransaction"):
            waiting_for = member.data["expect"]
        elif member.data["expect"] == "BootNotification":
            waiting_for = BOOT_WAIT  # statuses reported together with a (re)boot
    connector = match.get("connectorId", runner.vars.get("connector_id"))
    status = match.get("status")
    runner.status_expectations.append(ExpectedStatus(
        step.number, connector if isinstance(connector, int) else None,
        status if isinstance(status, str) else "", index, optional=step.data["optional"],
        waiting_for=waiting_for))
    runner.waiting_for = None


def per_connector(runner: CaseRunner, step: Step) -> list[Step]:
    """An each_connector expectation as one plain expectation per connector it stands for."""
    members = []
    configured = int(substitute("${connector_id}", runner.vars))
    for connector_id in runner.connectors_of(step):
        # the document's "<Configured ConnectorId> is X, the other StatusNotification messages are Y"
        own = (step.data.get("configured_connector_match") or {}) if connector_id == configured else {}
        data = dict(step.data, match={**step.data["match"], **own, "connectorId": connector_id},
                    each_connector=False)
        if connector_id != configured:  # one message to save from: the configured connector's
            data.update(save={}, save_answer={})
            if step.data["each_connector"] == "evse":
                # the mates' reports are the station's choice (a fault of the stage or of the one connector)
                data["optional"] = True
        members.append(Step("expect", data, step.file, step.line))
    return members
