"""The StatusNotification rules of Appendix D ("OCTT Test Rules") of the OCA certification test procedure v1.1.4.

The tool only checks the StatusNotifications a scenario names; Appendix D tells the tester how to judge the
rest (and the missing ones) by hand at the end of each case. This module applies those rules to everything a
charger reported during one case, so the verdict names the frame and the rule instead of a tester's memory.
Pure: no I/O, no clock; the engine passes in what it observed and what it matched.

Allowances that were applied are kept as non-failing findings, so a report shows why a frame was accepted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from benchctl.csms.capture import TO_CSMS, CapturedFrame
from benchctl.csms.frames import CALL

NO_ERROR = "NoError"
SUSPENDED = frozenset({"SuspendedEV", "SuspendedEVSE"})
TRANSACTION_WAITS = frozenset({"StartTransaction", "StopTransaction"})
BOOT_WAIT = "boot"
# Appendix D, reservation cases: what the other connectors of a shared EVSE may report.
RESERVATION_OTHER_CONNECTOR = frozenset({"Available", "Reserved", "Preparing", "Unavailable"})
# Appendix D, last rule: short power flow (Preparing), back to Available, then authorization and charging.
MODE12_FLOW = ("Preparing", "Available", "Preparing", "Charging")

# OCPP 1.6 (edition 2) section 4.9, the connector status transition table; no status goes to itself.
CONNECTOR_TRANSITIONS: dict[str, frozenset[str]] = {
    "Available": frozenset({"Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Reserved", "Unavailable",
                            "Faulted"}),
    "Preparing": frozenset({"Available", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing", "Faulted"}),
    "Charging": frozenset({"Available", "SuspendedEV", "SuspendedEVSE", "Finishing", "Unavailable", "Faulted"}),
    "SuspendedEV": frozenset({"Available", "Charging", "SuspendedEVSE", "Finishing", "Unavailable", "Faulted"}),
    "SuspendedEVSE": frozenset({"Available", "Charging", "SuspendedEV", "Finishing", "Unavailable", "Faulted"}),
    "Finishing": frozenset({"Available", "Preparing", "Unavailable", "Faulted"}),
    "Reserved": frozenset({"Available", "Preparing", "Unavailable", "Faulted"}),
    "Unavailable": frozenset({"Available", "Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Faulted"}),
    "Faulted": frozenset({"Available", "Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing",
                          "Reserved", "Unavailable"}),
}
# Connector 0 (the charge point itself) only knows Available, Unavailable and Faulted (same section).
CHARGE_POINT_TRANSITIONS: dict[str, frozenset[str]] = {
    "Available": frozenset({"Unavailable", "Faulted"}),
    "Unavailable": frozenset({"Available", "Faulted"}),
    "Faulted": frozenset({"Available", "Unavailable"}),
}


@dataclass(frozen=True)
class CaseException:
    """A per-case exception of Appendix D to "an expected StatusNotification that is not received fails"."""

    status: str  # the expected status it is about
    why: str
    substitute: str | None = None  # None: may be absent; otherwise: may be replaced by this status
    step: int | None = None  # only the expectation with this document step; None: every one with `status`


_FIRMWARE = CaseException("Unavailable", "a station that updates firmware during a transaction may stay Available "
                                         "(Appendix D, first exception)")
_CHARGING_037 = CaseException("Charging", "StatusNotification(Charging) is optional in 037_1/2/3 (Appendix D)")
_FINISHING_038_039 = CaseException("Finishing", "StatusNotification(Finishing) is optional in 038 and 039 "
                                                "(Appendix D)")
CASE_EXCEPTIONS: dict[str, tuple[CaseException, ...]] = {
    "TC_037_1_CS": (_CHARGING_037,),
    "TC_037_2_CS": (_CHARGING_037,),
    "TC_037_3_CS": (_CHARGING_037,),
    "TC_038_CS": (_FINISHING_038_039,),
    "TC_039_CS": (_FINISHING_038_039,),
    # Step 5 is the Finishing before the reset; step 9 (after the reboot) keeps its own validation.
    "TC_015_CS": (CaseException("Finishing", "Unavailable instead of Finishing before the reset is correct in 015 "
                                             "(Appendix D)", substitute="Unavailable", step=5),),
    "TC_016_CS": (CaseException("Finishing", "Finishing may be absent before the reset in 016 (Appendix D)",
                                step=5),),
    "TC_044_1_CS": (_FIRMWARE,),
    "TC_044_2_CS": (_FIRMWARE,),
    "TC_044_3_CS": (_FIRMWARE,),
    # The test case document gives TC_080_CS the same "MAY set all connectors to Unavailable" clause as 044_x.
    "TC_080_CS": (_FIRMWARE,),
}


@dataclass(frozen=True)
class StatusObservation:
    """One StatusNotification.req from the charger."""

    index: int  # capture index (evidence)
    connector_id: int
    status: str
    error_code: str
    info: str | None = None
    vendor_error_code: str | None = None


@dataclass(frozen=True)
class ExpectedStatus:
    """One StatusNotification the scenario expects, with what the engine matched to it."""

    step: int | None  # document step number
    connector_id: int | None  # None: the scenario does not pin the connector
    status: str
    matched: int | None  # capture index of the matched observation, None when missing
    optional: bool = False  # the scenario itself marks it optional
    waiting_for: str | None = None  # "StartTransaction", "StopTransaction" or "boot" (see judge_statuses)


@dataclass
class Finding:
    rule: str
    message: str
    frames: list[int]
    fail: bool
    retest: bool = False


@dataclass
class StatusVerdict:
    ok: bool
    findings: list[Finding]
    retest: bool  # not ok, and every failure is one Appendix D says to retest rather than fail

    def as_record(self) -> dict[str, Any]:
        return {"ok": self.ok, "retest": self.retest,
                "findings": [{"rule": f.rule, "message": f.message, "frames": list(f.frames), "fail": f.fail,
                              "retest": f.retest} for f in self.findings]}


def observations_from_frames(frames: Iterable[CapturedFrame]) -> list[StatusObservation]:
    """The StatusNotification.req CALLs the charger sent, in capture order.

    A request without a usable connectorId/status/errorCode is left out: it already fails the case as a
    schema violation (section 1.2 of the test case document), and there is no status to judge.
    """
    observations = []
    for captured in frames:
        frame = captured.frame
        if captured.direction != TO_CSMS or frame.message_type != CALL or frame.action != "StatusNotification":
            continue
        payload = frame.payload if isinstance(frame.payload, dict) else {}
        connector_id, status, error_code = payload.get("connectorId"), payload.get("status"), payload.get("errorCode")
        if type(connector_id) is not int or not isinstance(status, str) or not isinstance(error_code, str):
            continue
        info, vendor = payload.get("info"), payload.get("vendorErrorCode")
        observations.append(StatusObservation(captured.index, connector_id, status, error_code,
                                              info if isinstance(info, str) else None,
                                              vendor if isinstance(vendor, str) else None))
    return sorted(observations, key=lambda o: o.index)


def judge_statuses(case_id: str, observed: list[StatusObservation], expected: list[ExpectedStatus], *,
                   reservation_case: bool = False, shared_evse_connectors: set[int] | frozenset[int] = frozenset(),
                   mode12_only: bool = False) -> StatusVerdict:
    """Apply Appendix D to one case.

    `expected` is in scenario order. `waiting_for` on an expectation says what else the tool awaits before or
    together with it; the Suspended* and Unavailable-after-(re)boot allowances apply to unexpected
    notifications on that connector while that expectation is the next one open. `shared_evse_connectors`
    are the connectors that share an EVSE with the connector under test (only used when `reservation_case`).
    """
    judge = _Judge(_case_key(case_id), observed, expected)
    findings = judge.missing()  # first: a case exception may claim an unexpected frame as a substitute
    findings += judge.observed(reservation_case, frozenset(shared_evse_connectors), mode12_only)
    failures = [f for f in findings if f.fail]
    return StatusVerdict(not failures, findings, bool(failures) and all(f.retest for f in failures))


def _case_key(case_id: str) -> str:
    """TC_037_1_CS, 037_1 and 37_1 name the same case (as on the command line)."""
    core = case_id.strip().upper().removeprefix("TC_").removesuffix("_CS")
    head, _, rest = core.partition("_")
    return f"TC_{head.zfill(3) if head.isdigit() else head}{'_' + rest if rest else ''}_CS"


def _info(o: StatusObservation) -> str | None:
    return o.info or None  # an empty info carries nothing, so it counts as absent


def _fields(o: StatusObservation) -> tuple[Any, ...]:
    # Appendix D names exactly these four; vendorErrorCode alone does not make a notification new.
    return o.connector_id, o.status, o.error_code, _info(o)


def _frame(o: StatusObservation) -> str:
    extra = f", info {o.info!r}" if _info(o) else ""
    return f"frame #{o.index} StatusNotification(connector {o.connector_id}, {o.status}, {o.error_code}{extra})"


class _Judge:
    def __init__(self, case: str, observed: list[StatusObservation], expected: list[ExpectedStatus]) -> None:
        self.case = case
        self.obs = sorted(observed, key=lambda o: o.index)
        self.exp = list(expected)
        by_index = {o.index: o for o in self.obs}
        for e in self.exp:
            if e.matched is not None and e.matched not in by_index:
                raise ValueError(f"step {e.step}: matched frame #{e.matched} is not an observed StatusNotification")
        # The connector an expectation is about: pinned by the scenario, else the one its match reported;
        # None for an unpinned expectation that never matched (it could have been any connector).
        self.connector: list[int | None] = [
            e.connector_id if e.connector_id is not None
            else by_index[e.matched].connector_id if e.matched is not None else None for e in self.exp]
        self.matched = {e.matched for e in self.exp if e.matched is not None}
        self.claimed: set[int] = set()  # unmatched frames a case exception accepted in place of an expectation
        self.expected_connectors = {c for c in self.connector if c is not None}
        self.open_unpinned = any(c is None for c in self.connector)

    def label(self, pos: int) -> str:
        e, c = self.exp[pos], self.connector[pos]
        where = f"connector {c}" if c is not None else "any connector"
        return f"step {e.step if e.step is not None else '?'}: StatusNotification({e.status}) on {where}"

    # ------------------------------------------------------------------ expected but not received
    def missing(self) -> list[Finding]:
        findings = []
        for pos, e in enumerate(self.exp):
            if e.matched is not None or e.optional:
                continue
            exception = next((x for x in CASE_EXCEPTIONS.get(self.case, ())
                              if x.status == e.status and x.step in (None, e.step)), None)
            if exception is not None and exception.substitute is None:
                findings.append(Finding("D.case-exception", f"{self.label(pos)} not received; allowed in "
                                                            f"{self.case}: {exception.why}", [], False))
                continue
            if exception is not None:
                substitute = self._substitute(pos, exception.substitute or "")
                if substitute is not None:
                    self.claimed.add(substitute.index)
                    findings.append(Finding("D.case-exception", f"{self.label(pos)} replaced by {_frame(substitute)};"
                                                                f" allowed in {self.case}: {exception.why}",
                                            [substitute.index], False))
                    continue
            findings.append(Finding("D.missing", f"{self.label(pos)} not received", [], True))
        return findings

    def _substitute(self, pos: int, status: str) -> StatusObservation | None:
        """The first unmatched `status` on the same connector between the neighbouring matched expectations."""
        c = self.connector[pos]
        anchors = [(p, m) for p, m in self._matched_positions() if c is None or self.connector[p] == c]
        low = max((m for p, m in anchors if p < pos), default=-1)
        high = min((m for p, m in anchors if p > pos), default=None)
        for o in self.obs:
            if (o.index > low and (high is None or o.index < high) and o.status == status
                    and o.index not in self.matched and o.index not in self.claimed
                    and (o.connector_id == c if c is not None else o.connector_id != 0)):
                return o
        return None

    # ------------------------------------------------------------------ received
    def observed(self, reservation_case: bool, shared: frozenset[int], mode12_only: bool) -> list[Finding]:
        findings = []
        mode12 = self._mode12_frames() if mode12_only else set()
        previous: dict[int, StatusObservation] = {}
        accepted: set[int] = self.matched | self.claimed
        # a (re)boot ends "one after another": the tool expects every connector to be reported again after it
        after_boot = {e.matched for e in self.exp if e.waiting_for == BOOT_WAIT and e.matched is not None}
        for o in self.obs:
            prev = previous.get(o.connector_id)
            previous[o.connector_id] = o
            if prev is not None and _fields(prev) == _fields(o) and o.index not in after_boot:
                findings.append(Finding("D.duplicate", f"{_frame(o)} repeats frame #{prev.index} exactly "
                                                       f"(connectorId, status, errorCode and info)",
                                        [prev.index, o.index], True))
                continue
            if o.index in accepted:
                continue
            finding = self._unexpected(o, prev, accepted, reservation_case, shared, mode12)
            if not finding.fail:
                accepted.add(o.index)
            findings.append(finding)
        return findings

    def _unexpected(self, o: StatusObservation, prev: StatusObservation | None, accepted: set[int],
                    reservation_case: bool, shared: frozenset[int], mode12: set[int]) -> Finding:
        if o.connector_id == 0:
            if o.error_code != NO_ERROR or _info(o):
                return Finding("D.connector0-with-error", f"{_frame(o)} is unexpected but reports an error or info,"
                                                          " which makes it valid", [o.index], False)
            if 0 in self.expected_connectors:
                allowed = self._allowance(o, prev, accepted, mode12)
                if allowed is not None:
                    return allowed
            return Finding("D.connector0-without-error", f"{_frame(o)} is unexpected and has neither an errorCode "
                                                         "other than NoError nor an info; retest the case",
                           [o.index], True, retest=True)
        if o.connector_id not in self.expected_connectors and not self.open_unpinned:
            if reservation_case and o.connector_id in shared and o.status in RESERVATION_OTHER_CONNECTOR:
                return Finding("D.reservation-other-connector", f"{_frame(o)}: another connector of the reserved "
                                                                "EVSE may report this status", [o.index], False)
            return Finding("D.unexpected-connector", f"{_frame(o)}: connector {o.connector_id} has no expected "
                                                     "StatusNotification in this case", [o.index], True)
        allowed = self._allowance(o, prev, accepted, mode12)
        if allowed is not None:
            return allowed
        pending = self._pending(o)
        waiting = self.label(pending) if pending is not None else "nothing more on this connector"
        before = prev.status if prev is not None else "not reported in this case"
        return Finding("D.unexpected-status", f"{_frame(o)} is unexpected (previous status {before}; waiting for "
                                              f"{waiting}) and no Appendix D allowance applies", [o.index], True)

    def _allowance(self, o: StatusObservation, prev: StatusObservation | None, accepted: set[int],
                   mode12: set[int]) -> Finding | None:
        """An unexpected status on a connector the case expects notifications for, if Appendix D allows it."""
        if o.index in mode12:
            return Finding("D.mode12-flow", f"{_frame(o)} is part of the Mode 1/2-only flow "
                                            "Preparing, Available, Preparing, Charging", [o.index], False)
        if prev is not None and prev.index in accepted and prev.status == o.status:
            # Not an exact duplicate (checked before): a change of errorCode or info is news (Appendix D).
            return Finding("D.repeat-with-new-details", f"{_frame(o)} repeats the status of frame #{prev.index} "
                                                        "with a different errorCode or info", [o.index], False)
        pending = self._pending(o)
        if pending is None:
            return None
        e = self.exp[pending]
        if o.status in SUSPENDED and e.waiting_for in TRANSACTION_WAITS:
            return Finding("D.suspended-before-transaction", f"{_frame(o)} came while waiting for "
                                                             f"{e.waiting_for} ({self.label(pending)})", [o.index],
                           False)
        if o.status == "Unavailable" and e.status == "Available" and e.waiting_for == BOOT_WAIT:
            return Finding("D.unavailable-before-boot-available", f"{_frame(o)} came after a (re)boot before "
                                                                  f"{self.label(pending)}", [o.index], False)
        # Our reading of "it is allowed to first receive some specified StatusNotification messages": while the
        # tool still waits for a notification on this connector, an intermediate status is valid when OCPP 1.6
        # allows the charger to move into it from the status it last reported there (e.g. Preparing -> Available
        # when the connection timeout runs out). The status before the case is unknown, so the first report on a
        # connector can only be accepted by one of the specific allowances above.
        table = CHARGE_POINT_TRANSITIONS if o.connector_id == 0 else CONNECTOR_TRANSITIONS
        if prev is not None and o.status in table.get(prev.status, frozenset()):
            return Finding("D.legal-transition", f"{_frame(o)}: {prev.status} -> {o.status} is a legal transition "
                                                 f"while waiting for {self.label(pending)}", [o.index], False)
        return None

    def _pending(self, o: StatusObservation) -> int | None:
        """Position of the expectation the tool was next waiting for on o's connector when o arrived.

        Expectations on the connector that were matched before o are done; the first one after the last done
        that was matched after o, or never, is the open one. Unpinned unmatched expectations count for any
        connector.
        """
        relevant = [p for p, c in enumerate(self.connector) if c is None or c == o.connector_id]
        last = max((p for p, m in self._matched_positions() if p in relevant and m < o.index), default=-1)
        for p in relevant:
            matched = self.exp[p].matched
            if p > last and (matched is None or matched > o.index):
                return p
        return None

    def _matched_positions(self) -> list[tuple[int, int]]:
        return [(p, e.matched) for p, e in enumerate(self.exp) if e.matched is not None]

    def _mode12_frames(self) -> set[int]:
        """Frames forming the Mode 1/2-only flow on one connector, except the Charging that ends it."""
        by_connector: dict[int, list[StatusObservation]] = {}
        for o in self.obs:
            by_connector.setdefault(o.connector_id, []).append(o)
        frames: set[int] = set()
        for seq in by_connector.values():
            for i in range(len(seq) - len(MODE12_FLOW) + 1):
                window = seq[i:i + len(MODE12_FLOW)]
                if tuple(o.status for o in window) == MODE12_FLOW:
                    frames.update(o.index for o in window[:-1])
        return frames
