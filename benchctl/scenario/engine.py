"""Runs one scenario against a charger in standalone mode: benchctl is the Central System.

Charger messages are matched against the link's inbox with a cursor: a plain `expect` takes the next
message of its action after the previous matched one and judges it, as the tool does; an `any_order` group
lets each member take the first message of its action that satisfies its matchers. Every tool validation
becomes a Check carrying the document's step number and the capture indices of its evidence.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable

from drivers.errors import DriverError
from drivers.evse_tester.iec61851 import MIN_PWM_CURRENT_A
from drivers.steplog import Step as DriverStep

from benchctl.bench.actions import ACTIONS, missing_roles
from benchctl.bench.bench import Bench
from benchctl.csms.capture import CapturedFrame
from benchctl.csms.frames import CALLERROR
from benchctl.csms.link import ChargerLink, Received, ToolRequestError
from benchctl.csms.responder import Rule, utc_now
from benchctl.plan.pics import scenario_variables
from benchctl.run.results import ERROR, FAIL, NOT_APPLICABLE, NOT_RUNNABLE, PASS, CaseResult, Check, Warn
from benchctl.smart.profiles import in_rate_unit
from benchctl.smart.tracker import SmartTracker

from .model import Scenario, Step
from .status_rules import BOOT_WAIT, Allowances, ExpectedStatus, epoch, judge_statuses, observations_from_frames
from .tools import TOOLS
from .values import (UnknownVariable, describe, get_path, is_missing, mismatches, operator, satisfies,
                     substitute)
from .values import number as to_number  # `number` is a step number everywhere else here

if TYPE_CHECKING:
    from benchctl.transfer.run_files import RunFiles


def _composite_matcher(expected: Any) -> bool:
    """`{composite_schedule: ...}`: judged by the engine against the profiles the case sent, not by values.py."""
    return isinstance(expected, dict) and list(expected) == ["composite_schedule"]


def config_text(value: Any) -> str:
    """A configuration value as ChangeConfiguration carries it: a string, booleans as true/false."""
    return str(value).lower() if isinstance(value, bool) else str(value)


class BenchLimit(Exception):
    """The bench itself could not take what the charger sent (a frame over the WebSocket size limit)."""


class ChargerContested(Exception):
    """Another client took over the charger's id without credentials: whose messages the case sees is unknown."""


class StepFailed(Exception):
    def __init__(self, step: Step, number: int | None, reason: str) -> None:
        super().__init__(reason)
        self.step = step
        self.number = number
        self.reason = reason


class ConfigurationStateError(Exception):
    """The Before block of a case could not be established, so the case cannot be judged."""


class ConfigurationNotApplicable(ConfigurationStateError):
    """A key of the Configuration State is read-only on this charger and holds another value: the case does not
    apply to the charger as it is built, which says nothing about its conformance."""


def same_config_value(a: str | None, b: str) -> bool:
    """Configuration values as a charger reports them: booleans in any case, no surrounding blanks."""
    return a is not None and a.strip().lower() == b.strip().lower()


class CaseRunner:
    def __init__(self, scenario: Scenario, bench: Bench, link: ChargerLink, files: RunFiles | None = None,
                 known_keys: dict[str, dict[str, Any]] | None = None, allowances: Allowances | None = None,
                 pics: dict[str, Any] | None = None) -> None:
        self.on_step: Callable[[Step], None] | None = None  # live progress: the step about to run
        self.scenario = scenario
        # the station's Appendix D allowances (from the run's PICS); the bench decides the wide reading
        self.allowances = replace(allowances or Allowances(),
                                  wide_transitions=bool(bench.values.get("appendix_d_wide_transitions", False)))
        self.bench = bench
        self.link = link
        self.files = files  # the run's file server, for a case with `file_server: true`
        self.files_seen = 0  # transfers before the case started are not the case's
        # the GetConfiguration read before the first case ({key: {"readonly", "value"}}), for read-only keys
        self.known_keys = known_keys or {}
        self.vars: dict[str, Any] = dict(bench.values) | (files.values if files is not None else {})
        self.vars["connectors"] = bench.config.connectors
        self.vars["unknown_connector_id"] = bench.config.connectors + 1  # the document's <Unknown connectorId>
        self.vars["charge_point_id"] = link.charge_point_id
        # `pics.<field>`: the run's PICS answers as it loaded them, else the bench's dut.pics file
        self.vars.update(scenario_variables(pics if pics is not None else getattr(bench.config, "pics", None)))
        self.vars.update(link.security.config.scenario_values(link.charge_point_id))  # credentials, the tool's certificate store
        self._connections_at_start = 0
        self._connection_cursor = 0  # the next connection attempt a `connection: new` step takes
        self._connection_taken: dict[str, Any] | None = None  # the attempt the last connection step judged
        self.checks: list[Check] = []
        self.warnings: list[Warn] = []  # `warn_if` of the steps: the document's "the vendor should be warned"
        self.frames_by_step: dict[int, CapturedFrame] = {}
        self.consumed: set[int] = set()
        self.cursor = 0
        self.first = 0  # the inbox position where the case's messages start (Appendix D judges from there)
        self.invalid_seen = 0
        self.takeovers_seen = 0
        self.status_expectations: list[ExpectedStatus] = []  # in the order the case reached them
        self._waiting_for: str | None = None  # the transaction / boot message expected since the last status
        self._rules: dict[int, list[Rule]] = {}  # id(step) -> its queued answers (one per run of its state)
        self._smart: SmartTracker | None = None  # the charging profiles the case sent (composite, pwm)
        self._after_message = False  # the last step waited for the charger: a tester would now take a moment
        self.case_end: int | None = None  # the inbox position where the case's last step ended

    async def run(self) -> CaseResult:
        s = self.scenario
        result = CaseResult(s.id, s.title, PASS, time.time(), section=s.section, group=s.group,
                            certification=s.certification)
        t0 = time.monotonic()
        missing = missing_roles(self.bench, s.roles)
        if missing:
            result.verdict = NOT_RUNNABLE
            result.reason = f"this bench has no role {', '.join(missing)} (needed by {', '.join(s.roles)})"
            return result
        actions: list[dict[str, Any]] = []

        def record(step: DriverStep) -> None:
            actions.append(step.as_record())

        self.bench.steplog.listeners.append(record)
        self.cursor = self.first = len(self.link.inbox)
        self._connection_cursor = len(self.link.security.connections)
        self._connections_at_start = self._connection_cursor  # reconnections of the case (Appendix D replays)
        self.invalid_seen = len(self.link.invalid)
        self.takeovers_seen = len(self.link.takeovers)
        self.vars["case_start"] = utc_now()  # e.g. a retrieveDate of "now" in UpdateFirmware
        self.files_seen = len(self.files.log) if self.files is not None else 0
        self.link.responder.clear()
        try:
            if self.link.contested is not None:
                raise ChargerContested(self.link.contested["text"] + " (before the case started)")
            await self._before_steps()
            for step in s.steps:
                await self.execute(step)
            self._check_invalid_frames(s.steps[-1] if s.steps else None)
            self._judge_statuses(result, self.first, self.case_end)
        except StepFailed as failed:
            result.verdict, result.step, result.reason = FAIL, failed.number, failed.reason
            result.where = failed.step.where()
        except (DriverError, OSError) as exc:
            result.verdict, result.reason = ERROR, f"bench: {exc}"
        except BenchLimit as exc:
            result.verdict, result.reason = ERROR, f"bench: {exc}"
        except ChargerContested as exc:
            result.verdict, result.reason = ERROR, str(exc)
        except ConfigurationNotApplicable as exc:
            result.verdict, result.reason = NOT_APPLICABLE, str(exc)
        except ConfigurationStateError as exc:
            result.verdict, result.reason = ERROR, str(exc)
        except (UnknownVariable, TypeError, ValueError) as exc:
            result.verdict, result.reason = ERROR, f"scenario: {exc}"
        finally:
            taken = self._contested_since_start()
            if taken is not None and result.verdict != ERROR:
                # whatever the case concluded rests on messages of a client that may not be the charger
                result.verdict, result.step, result.where, result.reason = ERROR, None, "", taken["text"]
            self.link.responder.clear()
            self.bench.steplog.listeners.remove(record)
            result.duration_s = time.monotonic() - t0
            result.checks = self.checks
            result.warnings = self.warnings
            result.actions = actions
        return result

    def _judge_statuses(self, result: CaseResult, first: int, end: int | None = None) -> None:
        """Appendix D of the test procedure, over every StatusNotification the charger sent in the case: from its
        start to its last step (a status the charger sends in answer to the case's last message is already the
        return to idle's, e.g. Preparing after TC_061's final Authorize.conf)."""
        frames = [item.frame for item in self.link.inbox[first:end]]
        reconnected = [t for c in self.link.security.connections[self._connections_at_start:]
                       if c.get("accepted") and (t := epoch(c.get("at"))) is not None]
        verdict = judge_statuses(self.scenario.id, observations_from_frames(frames), self.status_expectations,
                                 reservation_case=self.scenario.group == "Reservation",
                                 allowances=self.allowances, reconnected=reconnected)
        result.status_rules = verdict.as_record()
        if not verdict.ok:
            failing = [f for f in verdict.findings if f.fail]
            # only a FAIL Appendix D itself says to retest (connectorId 0 without errorCode/info) is retested
            result.verdict, result.retest = FAIL, verdict.retest
            result.reason = "Appendix D: " + "; ".join(f.message for f in failing)

    def _expect_status(self, step: Step, index: int | None, group: list[Step] | None = None) -> None:
        """Remember a StatusNotification expectation, and what the tool was waiting for around it."""
        if step.data["expect"] != "StatusNotification":
            waits = {"StartTransaction": "StartTransaction", "StopTransaction": "StopTransaction",
                     "BootNotification": "boot"}
            self._waiting_for = waits.get(step.data["expect"], self._waiting_for)
            return
        match = substitute(step.data["match"], self.vars)
        waiting_for = self._waiting_for
        for member in group or []:
            if member.data["expect"] in ("StartTransaction", "StopTransaction"):
                waiting_for = member.data["expect"]
            elif member.data["expect"] == "BootNotification":
                waiting_for = BOOT_WAIT  # statuses reported together with a (re)boot
        connector = match.get("connectorId", self.vars.get("connector_id"))
        status = match.get("status")
        self.status_expectations.append(ExpectedStatus(
            step.number, connector if isinstance(connector, int) else None,
            status if isinstance(status, str) else "", index, optional=step.data["optional"],
            waiting_for=waiting_for))
        self._waiting_for = None

    # ------------------------------------------------------------------ setup
    async def _before_steps(self) -> None:
        """The case's Before: its configuration state set and the tool's answers queued. (benchctl.follow waits
        for the case to start here instead, and moves `first` and `cursor` to where it did.)"""
        await self._apply_configuration(self.scenario.configuration)
        self._install_answers(self.scenario.steps)

    async def _apply_configuration(self, configuration: dict[str, Any]) -> None:
        """The case's Configuration State(s); the runner restores every changed key after the case. A read-only key
        that already holds the value is the state; one that holds another makes the case NOT_APPLICABLE."""
        for key, value in configuration.items():
            text = config_text(substitute(value, self.vars))
            known = self.known_keys.get(key)
            if known is not None and known.get("readonly"):
                await self._read_only_state(key, text, None)
                continue
            try:
                response, frame = await self.link.call("ChangeConfiguration", {"key": key, "value": text})
            except ToolRequestError as exc:
                raise ConfigurationStateError(f"configuration state {key}={text}: {exc}") from exc
            status = response.get("status")
            # "(If implemented)" in the document: a key the station does not have leaves the case runnable
            if status in ("Accepted", "NotSupported"):
                self.checks.append(Check(None, f"configuration state {key} = {text}", True, status, [frame.index]))
            else:
                await self._read_only_state(key, text, (status, frame.index))

    async def _read_only_state(self, key: str, text: str, refused: tuple[Any, int] | None) -> None:
        """A key the charger would not change (`refused`: its answer and frame), or one reported read-only: what it
        holds now decides whether the case's Configuration State is there anyway."""
        try:
            response, frame = await self.link.call("GetConfiguration", {"key": [key]})
        except ToolRequestError as exc:
            raise ConfigurationStateError(f"configuration state {key}={text}: reading it back failed: {exc}") from exc
        entry = next((k for k in response.get("configurationKey") or [] if k.get("key") == key), None)
        said = "" if refused is None else f"the charger answered {refused[0]} (frame #{refused[1]}); "
        if entry is None:
            raise ConfigurationStateError(f"configuration state {key}={text}: {said}GetConfiguration does not report "
                                          f"the key (frame #{frame.index})")
        access = "read-only" if entry.get("readonly") else "read-write"
        held = entry.get("value")
        if entry.get("readonly") and same_config_value(held, text):
            self.checks.append(Check(None, f"configuration state {key} = {text} (read-only, already set)", True,
                                     held, [frame.index]))
            return
        where = f"{said}{key} is {access} with the value {held!r} (frame #{frame.index})"
        if entry.get("readonly"):
            raise ConfigurationNotApplicable(f"configuration state {key}={text} cannot be set: {where}")
        raise ConfigurationStateError(f"configuration state {key}={text} was not established: {where}")

    def _install_answers(self, steps: list[Step], scope: dict[str, Any] | None = None) -> None:
        """The tool's answers must be ready before the request arrives, so they are queued up front, in order.
        An answer inside a reusable state sees the state's parameters, as its other fields do."""
        scope = self.vars if scope is None else scope
        for step in steps:
            if step.kind == "expect" and step.data["answer"] is not None:
                payload = substitute(step.data["answer"], scope)
                count = len(self._connectors_of(step)) if step.data["each_connector"] else 1
                rule = Rule(step.data["expect"], payload, count, step.data["answer_step"])
                self.link.responder.push(rule)
                self._rules.setdefault(id(step), []).append(rule)
            for bound in self._state_bindings(step, scope) if step.kind == "state" else [{}]:
                self._install_answers(step.children, scope | bound)

    def _withdraw_answers(self, step: Step) -> None:
        """A step skipped by its `when:` gives no answer: a later request of that action gets its own."""
        for rule in self._rules.get(id(step), []):
            rule.remaining = 0
        for child in step.children:
            self._withdraw_answers(child)

    # ------------------------------------------------------------------ steps
    async def execute(self, step: Step) -> None:
        if not self._when_holds(step):
            self._withdraw_answers(step)
            return
        if self.on_step is not None:
            self.on_step(step)
        self._check_invalid_frames(step)
        if step.kind == "action" and self._after_message:
            # a tester reads the screen before plugging in: a charger that acts before the cable is in shows here
            await asyncio.sleep(float(self.vars.get("operator_pause_s", 0)))
        if step.kind != "state":
            self._after_message = step.kind in ("expect", "any_order")
        cursor = self.cursor
        await self._run_step(step)
        if step.kind in ("expect", "any_order") and self.cursor > cursor:
            self.case_end = self.cursor  # the step ended with the frame it took, not with what came after it
        elif step.kind != "state":
            self.case_end = len(self.link.inbox)

    async def _run_step(self, step: Step) -> None:
        if step.kind == "action":
            args = substitute(step.data["with"], self.vars)
            await ACTIONS[step.data["action"]].func(self.bench, **args)
            if step.data.get("save_time"):
                self.vars[step.data["save_time"]] = utc_now()
        elif step.kind == "wait":
            await asyncio.sleep(float(substitute(step.data["wait"], self.vars)))
        elif step.kind == "state":
            for bound in self._state_bindings(step, self.vars):
                await self._run_state(step, bound)
        elif step.kind == "send":
            await self._send(step)
        elif step.kind == "expect":
            if step.data["each_connector"]:
                await self._expect_group(step, self._per_connector(step))
            else:
                await self._expect(step)
        elif step.kind == "absent":
            await self._absent(step)
        elif step.kind == "any_order":
            # an each_connector member stands for one expectation per connector (e.g. after a reboot)
            await self._expect_group(step, [m for child in step.children
                                            for m in (self._per_connector(child) if child.data["each_connector"]
                                                      else [child])])
        elif step.kind == "file":
            await self._file(step)
        elif step.kind == "pwm":
            await self._pwm(step)
        elif step.kind == "connection":
            await self._connection(step)
        elif step.kind == "tool":
            args = substitute(step.data["with"], self.vars)
            self.vars[step.data["save"]] = TOOLS[step.data["tool"]](self.link.security.config, **args)

    async def _run_state(self, step: Step, bound: dict[str, Any]) -> None:
        saved = dict(self.vars)
        self.vars.update(bound)
        try:
            await self._apply_configuration(step.data.get("configuration", {}))
            for child in step.children:
                await self.execute(child)
        finally:
            self.vars = saved | {k: v for k, v in self.vars.items() if k not in bound}

    def _state_bindings(self, step: Step, scope: dict[str, Any]) -> list[dict[str, Any]]:
        """The parameters of each run of a state: one run with its `with`, or (each_other_connector) one per
        connector other than the configured one, bound as its connector_id."""
        bound = substitute(step.data["with"], scope)
        if not step.data.get("each_other_connector"):
            return [bound]
        configured = int(substitute("${connector_id}", scope))
        return [bound | {"connector_id": n} for n in range(1, self.bench.config.connectors + 1) if n != configured]

    def _when_holds(self, step: Step) -> bool:
        when = step.data.get("when")
        if when is None:
            return True
        if when.get("order") is not None:
            frames = [self.frames_by_step.get(n) for n in when["order"]]
            indices = [f.index for f in frames if f is not None]
            return len(indices) == len(frames) and indices == sorted(indices)
        value = str(self.vars.get(when["var"])).lower()
        if when.get("equals") is not None:
            return value == str(substitute(when["equals"], self.vars)).lower()
        return value != str(substitute(when["not_equals"], self.vars)).lower()

    async def _send(self, step: Step) -> None:
        d = step.data
        payload = substitute(d["payload"], self.vars)
        for name, most in substitute(d.get("limit") or {}, self.vars).items():
            if not isinstance(payload.get(name), list):
                raise ValueError(f"limit: payload field {name} is not a list")
            payload[name] = payload[name][:int(most)]
        if d["send"] == "ChangeConfiguration" and "value" in payload:
            # the value is a string on the wire, whatever type the bench value it comes from has
            payload["value"] = config_text(payload["value"])
        if d.get("rate_unit"):
            payload = in_rate_unit(payload, substitute(d["rate_unit"], self.vars))
        number = d.get("response_step") or step.number
        sent_at = len(self.link.inbox)  # a charger may act on a request before its answer reaches us
        try:
            response, frame = await self.link.call(d["send"], payload)
        except ToolRequestError as exc:
            if not self._call_error_allowed(step, number, exc):
                raise StepFailed(step, number, str(exc)) from exc
            return
        self._took_response(step, number, payload, response, frame, sent_at)

    def _took_response(self, step: Step, number: int | None, payload: dict[str, Any], response: dict[str, Any],
                       frame: CapturedFrame, sent_at: int) -> None:
        """The charger's CALLRESULT to a tool request (`payload`, sent when the inbox held `sent_at` messages):
        the step's evidence and response checks, and the values it saves. Shared with benchctl.follow, which
        observes the request instead of sending it."""
        d = step.data
        if step.number is not None:
            self.frames_by_step[step.number] = frame
        if d.get("response_step") is not None:
            self.frames_by_step[d["response_step"]] = frame
        self._save(d.get("save_request") or {}, payload)
        if d["send"] in SmartTracker.ACTIONS:
            self._smart_tracker().sent(d["send"], payload, response, sent_at)
        checks = substitute(d["response"], self.vars)
        composite = {path: checks.pop(path) for path in list(checks) if _composite_matcher(checks[path])}
        self._judge(step, number, f"{d['send']}.conf", response, checks, frame)
        self._warn_if(step, number, response, frame)
        for path, arg in composite.items():
            self._judge_composite(step, number, payload, response, path, arg["composite_schedule"], frame)
        self._save(d["save"], response)

    def _call_error_allowed(self, step: Step, number: int | None, exc: ToolRequestError) -> bool:
        """`or_call_error`: a CALLERROR (with an allowed code) is an answer the document accepts."""
        allowed, frame = step.data.get("or_call_error"), exc.frame
        if allowed is None or frame is None or frame.frame.message_type != CALLERROR:
            return False
        code = (frame.frame.payload or {}).get("errorCode")
        ok = not allowed or code in allowed
        what = f"{step.data['send']}: CALLERROR" + (f" with errorCode {' or '.join(allowed)}" if allowed else "")
        self.checks.append(Check(number, what, ok, code, [frame.index]))
        for n in (step.number, step.data.get("response_step")):
            if n is not None:
                self.frames_by_step[n] = frame
        return ok

    def _timeout(self, step: Step) -> float:
        if step.data.get("timeout_s") is not None:  # a number or a sum ("${connection_timeout_s} + 2")
            return to_number(substitute(step.data["timeout_s"], self.vars))
        after = step.data.get("after")
        if after and after.get("step") in self.frames_by_step:
            seconds = float(substitute(after["seconds"], self.vars))
            tolerance = float(substitute(after["tolerance_s"], self.vars))
            elapsed = time.monotonic() - self.frames_by_step[after["step"]].mono
            return max(0.1, seconds + tolerance - elapsed + 0.5)
        return float(self.vars["message_timeout_s"])

    async def _expect(self, step: Step) -> None:
        action = step.data["expect"]
        timeout = self._timeout(step)

        start = self._since(step)
        end = self._until(step)
        optional = step.data["optional"]
        match = substitute(step.data["match"], self.vars)
        # a status (or meter values) of another connector is not this step's: Appendix D judges the statuses
        connector = match.get("connectorId") if action in ("StatusNotification", "MeterValues") else None

        def next_of_action() -> tuple[int] | None:
            """The next frame of the action; for an optional step the first one that matches, or (-1,) once a
            frame of the action came that does not: the step was skipped and that frame is the next steps'."""
            self._check_invalid_frames(step)
            passed = False
            for i in range(start, len(self.link.inbox) if end is None else end):
                item = self.link.inbox[i]
                if i in self.consumed or item.action != action:
                    continue
                if isinstance(connector, int) and item.payload.get("connectorId") != connector:
                    continue
                if not mismatches(item.payload, match):
                    return (i,)
                if action == "StatusNotification" and self._replayed(item):
                    continue  # a status queued while offline: history the tool does not wait for (Appendix D)
                if not optional:
                    return (i,)
                passed = True
            return (-1,) if passed else None

        # with until_step every candidate is already in: nothing to wait for
        found = next_of_action() if end is not None else await self.link.wait_until(next_of_action, timeout)
        if found is None or found[0] == -1:
            if optional:
                self.checks.append(Check(step.number, f"{action}.req (optional) not sent", True))
                self._expect_status(step, None)
                return
            if end is not None:
                raise StepFailed(step, step.number, f"no {action} from the charger before the frame of step "
                                                    f"{step.data['until_step']}")
            raise StepFailed(step, step.number, f"no {action} from the charger within {timeout:.1f} s")
        index = found[0]
        await self._await_answer(index)
        self._take(step, index)
        self._expect_status(step, self.link.inbox[index].frame.index)
        self.cursor = max(self.cursor, index + 1)

    def _replayed(self, item: Received) -> bool:
        """A StatusNotification stamped before the connection it came on began: queued while the charger was
        offline and sent after it reconnected (Appendix D judges the chain; a waiting step passes over it)."""
        stamp = epoch(item.payload.get("timestamp"))
        if stamp is None:
            return False
        starts = [t for c in self.link.security.connections
                  if c.get("accepted") and (t := epoch(c.get("at"))) is not None and t <= item.frame.wall]
        return bool(starts) and stamp < max(starts)

    def _since(self, step: Step) -> int:
        """Where a search starts: after the previous match, or (since_step) right after that step's frame."""
        number = step.data.get("since_step")
        if number is None:
            return self.cursor
        ref = self.frames_by_step.get(number)
        if ref is None:
            raise StepFailed(step, step.number, f"since_step refers to step {number}, which has no frame yet")
        return next((i for i, item in enumerate(self.link.inbox) if item.frame.index > ref.index),
                    len(self.link.inbox))

    def _until(self, step: Step) -> int | None:
        """Where a search ends (exclusive): None, or (until_step) the inbox position of that step's frame."""
        number = step.data.get("until_step")
        if number is None:
            return None
        ref = self.frames_by_step.get(number)
        if ref is None:  # that step was optional and did not come: no bound, wait as usual
            return None
        return next((i for i, item in enumerate(self.link.inbox) if item.frame.index >= ref.index),
                    len(self.link.inbox))

    async def _expect_group(self, group: Step, members: list[Step]) -> None:
        start = self._since(group)

        async def one(member: Step) -> int:
            action = member.data["expect"]
            match = substitute(member.data["match"], self.vars)
            timeout = self._timeout(member)

            def first_satisfying() -> tuple[int] | None:
                self._check_invalid_frames(member)
                for i in range(start, len(self.link.inbox)):
                    item = self.link.inbox[i]
                    if i not in self.consumed and item.action == action and not mismatches(item.payload, match):
                        self.consumed.add(i)
                        return (i,)
                return None

            found = await self.link.wait_until(first_satisfying, timeout)
            if found is None and member.data["optional"]:
                return -1
            if found is None:
                seen = [self.link.inbox[i].payload for i in range(start, len(self.link.inbox))
                        if self.link.inbox[i].action == action]
                detail = f"; received instead: {seen}" if seen else ""
                raise StepFailed(member, member.number,
                                 f"no {action} matching {match} within {timeout:.1f} s{detail}")
            return found[0]

        outcomes = await asyncio.gather(*(one(m) for m in members), return_exceptions=True)
        failures = [o for o in outcomes if isinstance(o, BaseException)]
        if failures:
            unexpected = [f for f in failures if not isinstance(f, StepFailed)]
            if unexpected:
                raise unexpected[0]
            raise min(failures, key=lambda f: f.number if f.number is not None else 10**6)  # type: ignore[union-attr]
        taken = []
        waiting_for = self._waiting_for  # the members are awaited together: each waited for the same thing
        for member, index in zip(members, outcomes):
            self._waiting_for = waiting_for
            if index == -1:
                self.checks.append(Check(member.number, f"{member.data['expect']}.req (optional) not sent", True))
                self._expect_status(member, None, members)
                continue
            await self._await_answer(index)  # type: ignore[arg-type]
            self._take(member, index)  # type: ignore[arg-type]
            self._expect_status(member, self.link.inbox[index].frame.index, members)  # type: ignore[index]
            taken.append(index)
        self.cursor = max([self.cursor, *[i + 1 for i in taken]])  # type: ignore[list-item]

    def _connectors_of(self, step: Step) -> list[int]:
        """The connectors an each_connector expectation stands for: the station's and connectorId 0, or (evse) the
        configured connector and, optionally, those sharing its power stage (a fault may show on each of them)."""
        if step.data["each_connector"] == "evse":
            configured = int(substitute("${connector_id}", self.vars))
            return sorted({configured, *self.allowances.evse_peers(configured)})
        return list(range(0, self.bench.config.connectors + 1))

    def _per_connector(self, step: Step) -> list[Step]:
        members = []
        configured = int(substitute("${connector_id}", self.vars))
        for connector_id in self._connectors_of(step):
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

    async def _await_answer(self, index: int) -> None:
        """The request reaches the engine before its answer is on the wire; the answer is evidence too."""
        unique_id = self.link.inbox[index].frame.frame.unique_id or ""
        await self.link.wait_until(lambda: unique_id in self.link.answers, 5.0)

    def _take(self, step: Step, index: int) -> None:
        """Judge a matched charger message: matchers, timing, and record the evidence of its steps."""
        self.consumed.add(index)
        item = self.link.inbox[index]
        d = step.data
        after = d.get("after")
        if after:
            self._judge_timing(step, item.frame, after)  # before this step's own frame replaces an earlier one
        if step.number is not None:
            self.frames_by_step[step.number] = item.frame
        answer = self.link.answers.get(item.frame.frame.unique_id or "")
        if d.get("answer_step") is not None and answer is not None:
            self.frames_by_step[d["answer_step"]] = answer
            if d.get("answer") is not None:
                self.checks.append(Check(d["answer_step"], f"{d['expect']}.conf answered {item.answer}", True,
                                         item.answer, [answer.index]))
        self._judge(step, step.number, f"{d['expect']}.req", item.payload, substitute(d["match"], self.vars),
                    item.frame)
        self._warn_if(step, step.number, item.payload, item.frame)
        self._save(d["save"], item.payload)
        self._save(d["save_answer"], item.answer or {})

    def _save(self, paths: dict[str, Any], payload: Any) -> None:
        for name, path in paths.items():
            # a path may name a saved value: `certificateHashData[serialNumber=${csms_root_serial}].hashAlgorithm`
            value = get_path(payload, str(substitute(path, self.vars)))
            self.vars[name] = None if is_missing(value) else value

    async def _file(self, step: Step) -> None:
        """A transfer over the run's file server, judged on its record: the first one since the case started that
        matches; none within the timeout fails the step, naming what the server did see."""
        if self.files is None:
            raise ValueError("a `file` step needs the run's file server (file_server: true)")
        direction = step.data["file"]
        match = substitute(step.data["match"], self.vars)
        timeout = float(substitute(step.data["timeout_s"], self.vars)) if step.data.get("timeout_s") is not None \
            else float(self.vars["message_timeout_s"])
        deadline = time.monotonic() + timeout
        while True:
            records = [r.as_record() for r in self.files.log.since(self.files_seen) if r.direction == direction]
            found = next((r for r in records if not mismatches(r, match)), None)
            if found is not None or time.monotonic() >= deadline:
                break
            await asyncio.sleep(0.05)
        what = f"file {direction} by the file server"
        if found is None:
            seen = "; ".join(f"{r['path']} ({r['size']} bytes, complete={r['complete']}"
                             + (f", {r['error']}" if r["error"] else "") + ")" for r in records) or "nothing"
            self.checks.append(Check(step.number, f"{what} matching {match}", False, seen))
            raise StepFailed(step, step.number, f"no {what} matching {match} within {timeout:.1f} s; it {direction} "
                                                f"{seen}")
        for path, expected in match.items():
            self.checks.append(Check(step.number, f"{what}: {path} is {describe(expected)}", True,
                                     get_path(found, path)))
        self._save(step.data["save"], found)

    async def _connection(self, step: Step) -> None:
        """The charger's next WebSocket connection attempt (or, `same`, the one the previous connection step took),
        judged on what the Central System saw of it. An accepted one is waited for until its session is the link's,
        so a request sent next goes over it."""
        d, attempts = step.data, self.link.security.connections
        if d["connection"] == "same":
            if self._connection_taken is None:
                raise StepFailed(step, step.number, "no earlier connection step whose connection to judge again")
            record = self._connection_taken
        else:
            start, timeout = self._connection_cursor, self._timeout(step)
            found = await self.link.wait_until(lambda: (start,) if len(attempts) > start else None, timeout)
            if found is None:
                if d["optional"]:
                    self.checks.append(Check(step.number, "no new connection (optional)", True))
                    return
                raise StepFailed(step, step.number, f"the charger opened no new connection within {timeout:.1f} s")
            record = self._connection_taken = attempts[start]
            self._connection_cursor = start + 1
            if record["accepted"]:
                await self.link.wait_until(lambda: record.get("attached") and self.link.connected.is_set(), 5.0)
        match = substitute(d["match"], self.vars)
        what = f"connection #{record['index']} ({record['transport']}, {record['reason']})"
        for path, expected in match.items():
            observed = get_path(record, path)
            self.checks.append(Check(step.number, f"{what}: {path} is {describe(expected)}", satisfies(observed, expected),
                                     None if is_missing(observed) else observed))
        problems = mismatches(record, match)
        if problems:
            raise StepFailed(step, step.number, f"{what}: " + "; ".join(problems))
        self._save(d["save"], record)

    async def _absent(self, step: Step) -> None:
        """The document's "the Charge Point does NOT send ...": watch for the whole window, from this point on."""
        actions = [step.data["absent"], *step.data["also"]]  # one window for all of them
        seconds = float(substitute(step.data["for_s"], self.vars))
        match = substitute(step.data["match"], self.vars)
        start = len(self.link.inbox) if step.data.get("since_step") is None else self._since(step)

        def offending() -> tuple[int] | None:
            for i in range(start, len(self.link.inbox)):
                item = self.link.inbox[i]
                if item.action in actions and not mismatches(item.payload, match):
                    return (i,)
            return None

        found = await self.link.wait_until(offending, seconds)
        what = f"no {' nor '.join(actions)}" + (f" matching {match}" if match else "") + f" for {seconds:g} s"
        if found is not None:
            sent = self.link.inbox[found[0]]
            self.checks.append(Check(step.number, what, False, sent.payload, [sent.frame.index]))
            raise StepFailed(step, step.number, f"the charger sent {sent.action} (frame #{sent.frame.index}), "
                                                f"which it must not: {what}")
        self.checks.append(Check(step.number, what, True))

    def _judge(self, step: Step, number: int | None, what: str, payload: Any, match: dict[str, Any],
               frame: CapturedFrame) -> None:
        for path, expected in match.items():
            if (operator(expected) or ("",))[0] == "any":
                continue  # left open by the case (e.g. a state parameter it does not set): no check to report
            observed = get_path(payload, path)
            ok = satisfies(observed, expected)
            self.checks.append(Check(number, f"{what} {path} is {describe(expected)}", ok,
                                     None if is_missing(observed) else observed, [frame.index]))
        problems = mismatches(payload, match)
        if problems:
            raise StepFailed(step, number, f"{what}: " + "; ".join(problems) + f" (frame #{frame.index})")

    def _warn_if(self, step: Step, number: int | None, payload: Any, frame: CapturedFrame) -> None:
        """`warn_if: {match, reason}`: a message the document allows but wants the vendor warned about."""
        warn = step.data.get("warn_if")
        if warn and not mismatches(payload, substitute(warn["match"], self.vars)):
            self.warnings.append(Warn("document", f"step {number}: {warn['reason']} (frame #{frame.index})",
                                      [frame.index], number))

    # ------------------------------------------------------------------ smart charging (benchctl.smart)
    def _smart_tracker(self) -> SmartTracker:
        if self._smart is None:
            self._smart = SmartTracker.from_values(self.link.inbox, self.vars)
        return self._smart

    def _judge_composite(self, step: Step, number: int | None, request: dict[str, Any], response: dict[str, Any],
                         path: str, arg: Any, frame: CapturedFrame) -> None:
        """`{composite_schedule: {connector_id, tolerance_s}}`: the GetCompositeSchedule.conf against benchctl's
        own composite of the profiles the case sent (connector and unit: the request's by default)."""
        arg = arg if isinstance(arg, dict) else {}
        connector = int(arg.get("connector_id", request.get("connectorId", self.vars["connector_id"])))
        tolerance = float(arg.get("tolerance_s", self.vars["timing_tolerance_s"]))
        start_within = float(arg.get("start_within_s", self.vars["max_time_deviation_s"]))
        at = datetime.fromtimestamp(frame.wall, timezone.utc)
        problems, expected = self._smart_tracker().judge(response, connector, tolerance, at,
                                                         request.get("chargingRateUnit"), start_within)
        what = f"{step.data['send']}.conf {path} is the composite of the profiles sent (connector {connector})"
        returned = get_path(response, path)
        computed = None if expected is None else [[round(p.start_s, 3), p.limit] for p in expected.periods]
        observed = {"charger": None if is_missing(returned) else returned, "benchctl": computed}
        self.checks.append(Check(number, what, not problems, observed, [frame.index]))
        if problems:
            raise StepFailed(step, number, f"{what}: " + "; ".join(problems) + f" (frame #{frame.index})")

    async def _pwm(self, step: Step) -> None:
        """The current the charger offers on the Control Pilot (duty -> A, IEC 61851-1), measured by the EV
        emulator until it matches or `within_s` is over (the charger may take a moment to apply a new limit)."""
        d = step.data
        connector = int(substitute(d["connector_id"], self.vars))
        tolerance = float(substitute(d["tolerance_a"], self.vars))
        deadline = time.monotonic() + float(substitute(d["within_s"], self.vars))
        target = substitute(d["pwm"], self.vars)
        while True:
            measured = await self.bench.ev.measure()
            expected: float | None
            if target == "in_force":
                expected = self._smart_tracker().limit_in_force_a(connector, datetime.now(timezone.utc))
            else:
                expected = float(target)
            offered = measured.current_limit_a
            if expected is None:  # no profile in force and no local limit: any current the station can give
                ok = offered is not None
            elif expected < MIN_PWM_CURRENT_A:  # too little to signal: no current may be offered at all
                ok = offered is None
            else:
                ok = offered is not None and abs(offered - expected) <= tolerance
            if ok or time.monotonic() >= deadline:
                break
            await asyncio.sleep(0.2)
        said = "a current (no limit in force but the station's own)" if expected is None \
            else "no current" if expected < MIN_PWM_CURRENT_A else f"{expected:g} A ± {tolerance:g} A"
        what = f"the PWM on connector {connector} offers {said}" + (
            " (the limit in force)" if target == "in_force" else "")
        observed = {"duty_pct": measured.duty_pct, "current_a": offered, "state": measured.state}
        self.checks.append(Check(step.number, what, ok, observed))
        if not ok:
            got = "no current" if offered is None else f"{offered:g} A"
            raise StepFailed(step, step.number, f"{what}, but the EV emulator measures a duty of "
                                                f"{measured.duty_pct:g} % ({got})")

    def _judge_timing(self, step: Step, frame: CapturedFrame, after: dict[str, Any]) -> None:
        ref = self.frames_by_step.get(after["step"])
        if ref is None:
            raise StepFailed(step, step.number, f"timing refers to step {after['step']}, which has no frame yet")
        seconds = float(substitute(after["seconds"], self.vars))
        tolerance = float(substitute(after["tolerance_s"], self.vars))
        delay = frame.mono - ref.mono
        ok = abs(delay - seconds) <= tolerance
        self.checks.append(Check(step.number, f"{step.data['expect']} {seconds:g} ± {tolerance:g} s after step "
                                              f"{after['step']}", ok, round(delay, 3), [ref.index, frame.index]))
        if not ok:
            raise StepFailed(step, step.number, f"{step.data['expect']} came {delay:.2f} s after step {after['step']}"
                                                f", expected {seconds:g} ± {tolerance:g} s (frames #{ref.index}, "
                                                f"#{frame.index})")

    def _contested_since_start(self) -> dict[str, Any] | None:
        return next((t for t in self.link.takeovers[self.takeovers_seen:] if t["contested"]), None)

    def _check_invalid_frames(self, step: Step | None) -> None:
        """Section 1.2 of the test case document: every message must comply with the OCPP 1.6 schemas (and, first,
        the messages must still be the charger's: a case ends at a takeover without credentials)."""
        taken = self._contested_since_start()
        if taken is not None:
            raise ChargerContested(taken["text"])
        if len(self.link.invalid) > self.invalid_seen:
            bad = self.link.invalid[self.invalid_seen]
            self.invalid_seen += 1
            if bad.frame.oversize:
                raise BenchLimit(f"frame #{bad.index} from the charger: {bad.frame.error}")
            if step is not None:
                raise StepFailed(step, step.number, f"frame #{bad.index} from the charger is not valid OCPP 1.6: "
                                                    f"{bad.frame.error}")
