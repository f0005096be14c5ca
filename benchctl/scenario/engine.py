"""Runs one scenario against a charger in standalone mode: benchctl is the Central System.

The runner holds a case's state (its values, the inbox cursor, the evidence of each step, the checks) and runs
its steps in order; what a step of each kind does is that kind's executor (steps/, registered by kind). Charger
messages are matched against the link's inbox with a cursor: a plain `expect` takes the next message of its
action after the previous matched one and judges it, as the tool does; an `any_order` group lets each member take
the first message of its action that satisfies its matchers. Every tool validation becomes a Check carrying the
document's step number and the capture indices of its evidence.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from benchctl.bench.actions import missing_roles
from benchctl.bench.bench import Bench
from benchctl.config.pics import scenario_variables
from benchctl.csms.capture import CapturedFrame
from benchctl.csms.link import ChargerLink
from benchctl.csms.responder import Rule, utc_now
from benchctl.record.case import ERROR, FAIL, NOT_APPLICABLE, NOT_RUNNABLE, PASS, CaseResult, Check, Warn
from benchctl.smart.tracker import SmartTracker
from drivers.errors import DriverError
from drivers.steplog import Step as DriverStep

from .errors import BenchLimit, ChargerContested, ConfigurationNotApplicable, ConfigurationStateError, StepFailed
from .mode import Act, RunMode
from .model import Scenario, Step
from .status_rules import Allowances, ExpectedStatus, epoch, judge_statuses, observations_from_frames
from .steps import EXECUTORS
from .steps.absent import AbsentStep
from .steps.any_order import AnyOrderStep
from .steps.connection import ConnectionStep
from .steps.expect import ExpectStep
from .steps.send import SendStep
from .steps.state import StateStep
from .values import UnknownVariable, describe, get_path, is_missing, mismatches, operator, satisfies, substitute
from .values import number as to_number  # `number` is a step number everywhere else here

if TYPE_CHECKING:
    from benchctl.transfer.run_files import RunFiles


class CaseRunner:
    def __init__(self, scenario: Scenario, bench: Bench, link: ChargerLink, files: RunFiles | None = None,
                 known_keys: dict[str, dict[str, Any]] | None = None, allowances: Allowances | None = None,
                 pics: dict[str, Any] | None = None, mode: RunMode | None = None) -> None:
        self.mode: RunMode = mode or Act()  # who plays the tool's part: benchctl (Act) or another (follow's)
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
        self.connection_cursor = 0  # the next connection attempt a `connection: new` step takes
        self.connection_taken: dict[str, Any] | None = None  # the attempt the last connection step judged
        self.checks: list[Check] = []
        self.warnings: list[Warn] = []  # `warn_if` of the steps: the document's "the vendor should be warned"
        self.frames_by_step: dict[int, CapturedFrame] = {}
        self.consumed: set[int] = set()
        self.cursor = 0
        self.first = 0  # the inbox position where the case's messages start (Appendix D judges from there)
        self.invalid_seen = 0
        self.takeovers_seen = 0
        self.status_expectations: list[ExpectedStatus] = []  # in the order the case reached them
        self.waiting_for: str | None = None  # the transaction / boot message expected since the last status
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
        self.connection_cursor = len(self.link.security.connections)
        self._connections_at_start = self.connection_cursor  # reconnections of the case (Appendix D replays)
        self.invalid_seen = len(self.link.invalid)
        self.takeovers_seen = len(self.link.takeovers)
        self.vars["case_start"] = utc_now()  # e.g. a retrieveDate of "now" in UpdateFirmware
        self.files_seen = len(self.files.log) if self.files is not None else 0
        self.link.responder.clear()
        try:
            if self.link.contested is not None:
                raise ChargerContested(self.link.contested["text"] + " (before the case started)")
            await self.mode.start(self)
            for step in s.steps:
                await self.execute(step)
            self.check_invalid_frames(s.steps[-1] if s.steps else None)
            self._judge_statuses(result, self.first, self.case_end)
        except StepFailed as failed:
            result.verdict, result.step, result.reason = FAIL, failed.number, failed.reason
            result.where = failed.step.where()
            result.state = self.state_of(failed.step)
            self._failed_check(failed, result.state)
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

    def state_of(self, step: Step) -> str:
        """The reusable state a step comes from ("" for the case's own): its file is the state's file."""
        if step.file == self.scenario.file:
            return ""
        return Path(step.file).stem

    def _failed_check(self, failed: StepFailed, state: str) -> None:
        """A step that failed without a failed check (a message that never came, an invalid frame) still lists
        its failure among the case's checks, with the frames its reason cites."""
        if any(not c.ok for c in self.checks):
            return
        cited = [int(i) for i in dict.fromkeys(re.findall(r"frame #(\d+)", failed.reason))]
        self.checks.append(Check(failed.number, failed.expected or failed.reason, False, None, cited, state))

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
            # each broken rule is a failed check of the case, with the frames that break it
            self.checks += [Check(None, f"Appendix D {f.rule}: {f.message}", False, None, list(f.frames))
                            for f in failing]

    # ------------------------------------------------------------------ setup
    def install_answers(self, steps: list[Step], scope: dict[str, Any] | None = None) -> None:
        """The tool's answers must be ready before the request arrives, so they are queued up front, in order.
        An answer inside a reusable state sees the state's parameters, as its other fields do."""
        scope = self.vars if scope is None else scope
        for step in steps:
            m = step.model
            if isinstance(m, ExpectStep) and m.answer is not None:
                payload = substitute(m.answer, scope)
                count = len(self.connectors_of(step)) if m.each_connector else 1
                rule = Rule(m.expect, payload, count, m.answer_step)
                self.link.responder.push(rule)
                self._rules.setdefault(id(step), []).append(rule)
            for bound in self.state_bindings(step, scope) if step.kind == "state" else [{}]:
                self.install_answers(step.children, scope | bound)

    def _withdraw_answers(self, step: Step) -> None:
        """A step skipped by its `when:` gives no answer: a later request of that action gets its own."""
        for rule in self._rules.get(id(step), []):
            rule.remaining = 0
        for child in step.children:
            self._withdraw_answers(child)

    # ------------------------------------------------------------------ steps
    async def execute(self, step: Step) -> None:
        if step.kind == "action" and self.when_holds(step) and not await self.mode.before_action(self, step):
            return
        if not self.when_holds(step):
            self._withdraw_answers(step)
            return
        if self.on_step is not None:
            self.on_step(step)
        self.check_invalid_frames(step)
        if step.kind == "action" and self._after_message:
            # a tester reads the screen before plugging in: a charger that acts before the cable is in shows here
            await asyncio.sleep(float(self.vars.get("operator_pause_s", 0)))
        if step.kind != "state":
            self._after_message = step.kind in ("expect", "any_order")
        cursor = self.cursor
        await EXECUTORS[step.kind](self, step)
        if step.kind in ("expect", "any_order") and self.cursor > cursor:
            self.case_end = self.cursor  # the step ended with the frame it took, not with what came after it
        elif step.kind != "state":
            self.case_end = len(self.link.inbox)

    def state_bindings(self, step: Step, scope: dict[str, Any]) -> list[dict[str, Any]]:
        """The parameters of each run of a state: one run with its `with`, or (each_other_connector) one per
        connector other than the configured one, bound as its connector_id."""
        m = step.typed(StateStep)
        bound = substitute(m.with_, scope)
        if not m.each_other_connector:
            return [bound]
        configured = int(substitute("${connector_id}", scope))
        return [bound | {"connector_id": n} for n in range(1, self.bench.config.connectors + 1) if n != configured]

    def when_holds(self, step: Step) -> bool:
        when = step.model.when
        if when is None:
            return True
        if when.order is not None:
            frames = [self.frames_by_step.get(n) for n in when.order]
            indices = [f.index for f in frames if f is not None]
            return len(indices) == len(frames) and indices == sorted(indices)
        value = str(self.vars.get(when.var or "")).lower()
        if when.equals is not None:
            return value == str(substitute(when.equals, self.vars)).lower()
        return value != str(substitute(when.not_equals, self.vars)).lower()

    def timeout(self, step: Step) -> float:
        m = step.model
        timeout_s = m.timeout_s if isinstance(m, (ExpectStep, ConnectionStep)) else None
        if timeout_s is not None:  # a number or a sum ("${connection_timeout_s} + 2")
            return to_number(substitute(timeout_s, self.vars))
        after = m.after if isinstance(m, ExpectStep) else None
        if after is not None and after.step in self.frames_by_step:
            seconds = float(substitute(after.seconds, self.vars))
            tolerance = float(substitute(after.tolerance_s, self.vars))
            elapsed = time.monotonic() - self.frames_by_step[after.step].mono
            return max(0.1, seconds + tolerance - elapsed + 0.5)
        return float(self.vars["message_timeout_s"])

    def since(self, step: Step) -> int:
        """Where a search starts: after the previous match, or (since_step) right after that step's frame."""
        m = step.model
        number = m.since_step if isinstance(m, (ExpectStep, AbsentStep, AnyOrderStep)) else None
        if number is None:
            return self.cursor
        ref = self.frames_by_step.get(number)
        if ref is None:
            raise StepFailed(step, step.number, f"since_step refers to step {number}, which has no frame yet")
        return next((i for i, item in enumerate(self.link.inbox) if item.frame.index > ref.index),
                    len(self.link.inbox))

    def until(self, step: Step) -> int | None:
        """Where a search ends (exclusive): None, or (until_step) the inbox position of that step's frame."""
        m = step.model
        number = m.until_step if isinstance(m, ExpectStep) else None
        if number is None:
            return None
        ref = self.frames_by_step.get(number)
        if ref is None:  # that step was optional and did not come: no bound, wait as usual
            return None
        return next((i for i, item in enumerate(self.link.inbox) if item.frame.index >= ref.index),
                    len(self.link.inbox))

    def connectors_of(self, step: Step) -> list[int]:
        """The connectors an each_connector expectation stands for: the station's and connectorId 0, or (evse) the
        configured connector and, optionally, those sharing its power stage (a fault may show on each of them)."""
        if step.typed(ExpectStep).each_connector == "evse":
            configured = int(substitute("${connector_id}", self.vars))
            return sorted({configured, *self.allowances.evse_peers(configured)})
        return list(range(0, self.bench.config.connectors + 1))

    def save(self, paths: dict[str, Any], payload: Any) -> None:
        for name, path in paths.items():
            # a path may name a saved value: `certificateHashData[serialNumber=${csms_root_serial}].hashAlgorithm`
            value = get_path(payload, str(substitute(path, self.vars)))
            self.vars[name] = None if is_missing(value) else value

    def judge(self, step: Step, number: int | None, what: str, payload: Any, match: dict[str, Any],
              frame: CapturedFrame) -> None:
        for path, expected in match.items():
            if (operator(expected) or ("",))[0] == "any":
                continue  # left open by the case (e.g. a state parameter it does not set): no check to report
            observed = get_path(payload, path)
            ok = satisfies(observed, expected)
            self.checks.append(Check(number, f"{what} {path} is {describe(expected)}", ok,
                                     None if is_missing(observed) else observed, [frame.index],
                                     expected=expected))
        problems = mismatches(payload, match)
        if problems:
            raise StepFailed(step, number, f"{what}: " + "; ".join(problems) + f" (frame #{frame.index})")

    def warn_if(self, step: Step, number: int | None, payload: Any, frame: CapturedFrame) -> None:
        """`warn_if: {match, reason}`: a message the document allows but wants the vendor warned about."""
        m = step.model
        warn = m.warn_if if isinstance(m, (ExpectStep, SendStep)) else None
        if warn is not None and not mismatches(payload, substitute(warn.match, self.vars)):
            self.warnings.append(Warn("document", f"step {number}: {warn.reason} (frame #{frame.index})",
                                      [frame.index], number))

    # ------------------------------------------------------------------ smart charging (benchctl.smart)
    def smart_tracker(self) -> SmartTracker:
        if self._smart is None:
            self._smart = SmartTracker.from_values(self.link.inbox, self.vars)
        return self._smart

    def _contested_since_start(self) -> dict[str, Any] | None:
        return next((t for t in self.link.takeovers[self.takeovers_seen:] if t["contested"]), None)

    def check_invalid_frames(self, step: Step | None) -> None:
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
