"""A scenario judged on observed traffic: another Central System (the official tool) runs the case, benchctl watches
the frames through the proxy's capture and gives its own verdict, with the same checks and evidence as when it
runs the case itself.

How each step is read when benchctl is not the Central System:
  send      the tool's request of that action (the next one, from the tool's side), then the charger's response,
            judged with the step's `response` checks. What the tool chose to put in its request (ids, tags) is
            not judged; a `${name}` the scenario's payload puts there takes the value the tool used.
  expect    as in the engine (match, after, any_order, each_connector, optional, absent, when); the answer is the
            tool's, observed, and `save_answer` reads it. A `${name}` in the scenario's answer takes the tool's
            value too (e.g. the retry interval of a rejected BootNotification that step 3's timing refers to).
  action    done on the bench (act=True) once the steps before it were observed, after the cue; skipped with
            act=False (the companion answers the tool's prompts and does them itself).
The scenario's configuration states are the tool's to set. Appendix D is applied to the case's frames as the
engine does. A tool request never observed is an ERROR (benchctl cannot judge what the tool did not do); a
charger message never observed FAILs its step, as in the engine.
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

from benchctl.bench.bench import Bench
from benchctl.csms.capture import Capture
from benchctl.csms.frames import CALLERROR
from benchctl.csms.link import ToolRequestError
from benchctl.record.case import ERROR, FAIL, NOT_RUNNABLE, CaseResult, Check
from benchctl.scenario.engine import CaseRunner, StepFailed
from benchctl.scenario.model import Scenario, Step
from benchctl.scenario.status_rules import Allowances
from benchctl.scenario.steps.send import Exchanged
from benchctl.scenario.values import reference

from .cue import ACTION, START, Cue, CueMoment, CueUnavailable, give
from .traffic import ObservedLink

# steps about what only benchctl's own Central System or file server sees
UNOBSERVABLE = {"connection": "the charger's WebSocket connection attempts (TLS, credentials) reach the tool, "
                              "not benchctl",
                "file": "file transfers go to the tool's file server, not benchctl's",
                "tool": "the tool computes its own certificates and hashes"}


class CaseObserver:
    """A case judged on observed traffic: benchctl's engine (CaseRunner) given the Observe mode."""

    def __init__(self, scenario: Scenario, capture: Capture, bench: Bench, values: dict[str, Any], *,
                 act: bool = True, cue: Cue | None = None, charge_point_id: str | None = None,
                 tool_timeout_s: float | None = None, start_timeout_s: float | None = None,
                 allowances: Allowances | None = None, pics: dict[str, Any] | None = None) -> None:
        """`values`: the values the tool is configured with (valid idTag, intervals...). `cue` (see cue.py) is
        awaited when the case starts, unless its first step is a tool request (the request starts it), and before
        each bench action. `tool_timeout_s`: how long the tool may take to send a request the scenario expects
        (it may wait on its operator; default: message_timeout_s); `start_timeout_s`: how long to wait for the
        request that starts a case (None: no limit). `allowances` and `pics`: the station's Appendix D allowances
        and PICS answers, as in `benchctl run`."""
        self.scenario = scenario
        self.link = ObservedLink(capture, charge_point_id or bench.config.charge_point_id, values)
        self.mode = Observe(scenario, self.link, act=act, cue=cue, start_timeout_s=start_timeout_s,
                            tool_timeout_s=float(tool_timeout_s if tool_timeout_s is not None
                                                 else values["message_timeout_s"]))
        needs = scenario.roles if act else (["ev"] if _has_kind(scenario.steps, "pwm") else [])
        self.runner = CaseRunner(dataclasses.replace(scenario, roles=needs), bench, self.link, allowances=allowances,
                                 pics=pics, mode=self.mode)
        self.runner.vars.update(values)

    @property
    def vars(self) -> dict[str, Any]:
        """The case's values, as the tool's requests and answers taught them."""
        return self.runner.vars

    async def run(self) -> CaseResult:
        unobservable = sorted({kind for kind in UNOBSERVABLE if _has_kind(self.scenario.steps, kind)})
        if unobservable:
            s = self.scenario
            return CaseResult(s.id, s.title, NOT_RUNNABLE, time.time(), section=s.section,
                              group=s.group, certification=s.certification,
                              reason="cannot be followed: " + "; ".join(f"`{k}` steps ({UNOBSERVABLE[k]})"
                                                                        for k in unobservable))
        self.link.listen()
        try:
            result = await self.runner.run()
        finally:
            await self.link.close()
        if result.verdict == FAIL and self.mode.not_judged:
            result.verdict = ERROR
        return result


class Observe:
    """The engine's mode when another Central System does the tool's part (see the module's docstring)."""

    def __init__(self, scenario: Scenario, link: ObservedLink, *, act: bool, cue: Cue | None, tool_timeout_s: float,
                 start_timeout_s: float | None) -> None:
        self.scenario = scenario
        self.link = link
        self.act = act
        self.cue = cue
        self.tool_timeout_s = tool_timeout_s
        self.start_timeout_s = start_timeout_s
        self.tool_cursor = 0  # the next tool request a send step may take
        self.start_step = first_step(scenario)
        self.not_judged = False  # the case stopped for a reason that is not the charger's (ERROR, not FAIL)

    def _stop(self, step: Step | None, reason: str) -> StepFailed:
        """A stop that is no verdict on the charger: the tool did not do its part, or no cue can come."""
        self.not_judged = True
        return StepFailed(step or Step("wait", {}, self.scenario.file, None), step.number if step else None, reason)

    # ------------------------------------------------------------------ the start of the case
    async def start(self, runner: CaseRunner) -> None:
        """The case starts with the tool's first request, or (a case that starts with a bench action or a
        charger message) at the start cue."""
        first = self.start_step
        if first is not None and first.kind == "send":
            action = first.data["send"]
            fixed = fixed_fields(first.data["payload"])
            found = await self.link.wait_until(lambda: self.link.next_tool_request(action, 0, fixed),
                                               self.start_timeout_s)
            if found is None:
                raise self._stop(first, f"the case did not start: no {action}.req from the tool (step "
                                        f"{first.number}) within {self.start_timeout_s:g} s")
            begins = self.link.tool_requests[found[0]]
            self.tool_cursor = found[0]
            runner.cursor = runner.first = begins.inbox_at
            runner.invalid_seen = sum(1 for f in self.link.invalid if f.index < begins.request.index)
            return
        await self._cue(CueMoment(self.scenario.id, START, first))
        runner.cursor = runner.first = len(self.link.inbox)
        self.tool_cursor = len(self.link.tool_requests)
        runner.invalid_seen = len(self.link.invalid)

    async def _cue(self, moment: CueMoment) -> None:
        if self.cue is None:
            return
        try:
            await give(self.cue, moment)
        except CueUnavailable as exc:
            raise self._stop(moment.step, str(exc)) from exc

    async def apply_configuration(self, runner: CaseRunner, configuration: dict[str, Any]) -> None:
        """The configuration states are the tool's to set; benchctl sends nothing."""

    # ------------------------------------------------------------------ steps
    async def before_action(self, runner: CaseRunner, step: Step) -> bool:
        if not self.act:
            return False
        if step is not self.start_step:  # the start cue already covered the case's first action
            await self._cue(CueMoment(self.scenario.id, ACTION, step))
        return True

    async def exchange(self, runner: CaseRunner, step: Step) -> Exchanged:
        """The tool's request of the step's action (the next one with the scenario's fixed fields) and the
        charger's response to it; a tool request never observed stops the case without a verdict."""
        d = step.data
        action = d["send"]
        number = d.get("response_step") or step.number
        fixed = fixed_fields(d["payload"])
        found = await self.link.wait_until(lambda: self.link.next_tool_request(action, self.tool_cursor, fixed),
                                           self.tool_timeout_s)
        if found is None:
            which = f" with {fixed}" if fixed else ""
            raise self._stop(step, f"step {step.number}: no {action}.req{which} from the tool within "
                                   f"{self.tool_timeout_s:g} s, so the charger's part of it cannot be judged")
        exchange = self.link.tool_requests[found[0]]
        self.tool_cursor = found[0] + 1
        request = exchange.request
        payload = request.frame.payload
        _learn(runner.vars, d["payload"], payload)
        runner.checks.append(Check(step.number, f"{action}.req sent by the tool", True, payload, [request.index]))
        timeout = float(runner.vars["message_timeout_s"])
        if not await self.link.wait_until(lambda: exchange.response is not None, timeout):
            raise StepFailed(step, number, f"the charger did not respond to the tool's {action}.req (frame "
                                           f"#{request.index}) within {timeout:g} s")
        frame = exchange.response
        assert frame is not None
        runner.check_invalid_frames(step)
        if frame.frame.message_type == CALLERROR:
            error = frame.frame.payload or {}
            raise ToolRequestError(f"{action}: the charger answered CALLERROR {error.get('errorCode')}: "
                                   f"{error.get('errorDescription')} (frame #{frame.index})", frame)
        return Exchanged(payload, frame.frame.payload, frame, exchange.inbox_at)

    def answered(self, runner: CaseRunner, step: Step, answer: dict[str, Any] | None) -> None:
        if step.data.get("answer") is not None and answer is not None:
            _learn(runner.vars, step.data["answer"], answer)


def _learn(values: dict[str, Any], template: Any, observed: Any) -> None:
    """`${name}` where the scenario has the tool put a value: the value the tool really put there."""
    name = reference(template)
    if name is not None:
        if observed is not None:
            values[name] = observed
        return
    if isinstance(template, dict) and isinstance(observed, dict):
        for key, value in template.items():
            _learn(values, value, observed.get(key))


def fixed_fields(template: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """The fields of a scenario's request payload that the tool has no choice about (no `${...}` in them, nothing
    computed), as dotted paths: they tell the case's request from another of the same action (the reset case's
    GetConfiguration of every key is not TC_010_CS's GetConfiguration of AuthorizeRemoteTxRequests)."""
    fixed: dict[str, Any] = {}
    for key, value in template.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and not ({"now_plus_s", "sum"} & set(value)):
            fixed.update(fixed_fields(value, path + "."))
        elif not isinstance(value, dict) and "${" not in json.dumps(value):
            fixed[path] = value
    return fixed


def first_step(scenario: Scenario) -> Step | None:
    """The first step the case does, inside reusable states too (TC_010_CS is the state Charging)."""
    return _first_leaf(scenario.steps)


def _first_leaf(steps: list[Step]) -> Step | None:
    for step in steps:
        if step.kind == "state":
            inner = _first_leaf(step.children)
            if inner is not None:
                return inner
            continue
        return step
    return None


def _has_kind(steps: list[Step], kind: str) -> bool:
    return any(step.kind == kind or _has_kind(step.children, kind) for step in steps)
