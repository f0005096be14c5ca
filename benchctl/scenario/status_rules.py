"""The StatusNotification rules of Appendix D ("OCTT Test Rules") of the OCA certification test procedure v1.1.4.

The tool only checks the StatusNotifications a scenario names; Appendix D tells the tester how to judge the
rest (and the missing ones) by hand at the end of each case. This module applies those rules to everything a
charger reported during one case, so the verdict names the frame and the rule instead of a tester's memory.
Pure: no I/O, no clock; the engine passes in what it observed and what it matched.

Allowances that were applied are kept as non-failing findings, so a report shows why a frame was accepted.
Three allowances depend on the station and the bench, so `Allowances` switches them on: the reservation rule
for connectors that share an EVSE and the Mode 1/2-only flow (both from the PICS), and a wider reading of
"some specified StatusNotification messages" than Appendix D names (a bench value, off by default).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from benchctl.csms.capture import TO_CSMS, CapturedFrame
from benchctl.csms.frames import CALL

NO_ERROR = "NoError"
SUSPENDED = frozenset({"SuspendedEV", "SuspendedEVSE"})
TRANSACTION_WAITS = frozenset({"StartTransaction", "StopTransaction"})
BOOT_WAIT = "boot"
# Appendix D, reservation cases: what the other connectors of a shared EVSE may report.
RESERVATION_OTHER_CONNECTOR = frozenset({"Available", "Reserved", "Preparing", "Unavailable"})
# Test case document section 1.2: each of these StatusNotifications and its transaction message may be reversed.
REVERSIBLE_WITH = {"Charging": "StartTransaction", "Finishing": "StopTransaction"}
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
    # the charger's own timestamp field and when the bench received the frame (epoch seconds); together with
    # the reconnections they tell a status the charger queued while offline (Allowances, `reconnected`)
    timestamp: float | None = field(default=None, compare=False)
    received: float | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Allowances:
    """What the station is and what the bench allows, for the Appendix D rules that depend on it."""

    mode12_only: bool = False  # PICS product_subtype mode_1_2_only: the Mode 1/2-only flow is allowed
    evses: tuple[tuple[int, ...], ...] = ()  # PICS evses: connectors on one EVSE (the reservation rule)
    # bench value appendix_d_wide_transitions: any OCPP 1.6 transition while a step waits (reported when used)
    wide_transitions: bool = False

    def evse_peers(self, connector_id: int) -> frozenset[int]:
        """The other connectors on connector_id's EVSE."""
        return frozenset(c for evse in self.evses if connector_id in evse for c in evse if c != connector_id)


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
    # not ok, and every failure is one Appendix D says to retest (connectorId 0 without errorCode or info); a
    # rule the charger broke (a duplicate, another connector, a missing or unallowed status) is a FAIL as it is
    retest: bool

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
                                              vendor if isinstance(vendor, str) else None,
                                              epoch(payload.get("timestamp")), captured.wall))
    return sorted(observations, key=lambda o: o.index)


def epoch(value: Any) -> float | None:
    """An OCPP dateTime as epoch seconds; None when absent or not a dateTime with a zone."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.timestamp() if parsed.tzinfo is not None else None


def judge_statuses(case_id: str, observed: list[StatusObservation], expected: list[ExpectedStatus], *,
                   reservation_case: bool = False, allowances: Allowances = Allowances(),
                   reconnected: Iterable[float] = ()) -> StatusVerdict:
    """Apply Appendix D to one case.

    `expected` is in scenario order. `waiting_for` on an expectation says what else the tool awaits before or
    together with it; the Suspended* and Unavailable-after-(re)boot allowances apply to unexpected
    notifications on that connector while that expectation is the next one open. `reconnected` are the times
    (epoch seconds) the charger's connections of the case were accepted: a notification received on one of
    them but stamped before it was queued while the charger was offline.
    """
    judge = _Judge(_case_key(case_id), observed, expected, allowances, sorted(reconnected))
    findings = judge.missing()  # first: a case exception may claim an unexpected frame as a substitute
    findings += judge.observed(reservation_case)
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


def _utc(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _frame(o: StatusObservation) -> str:
    extra = f", info {o.info!r}" if _info(o) else ""
    return f"frame #{o.index} StatusNotification(connector {o.connector_id}, {o.status}, {o.error_code}{extra})"


class _Judge:
    def __init__(self, case: str, observed: list[StatusObservation], expected: list[ExpectedStatus],
                 allowances: Allowances, reconnected: list[float]) -> None:
        self.case = case
        self.allow = allowances
        self.reconnected = reconnected
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
    def observed(self, reservation_case: bool) -> list[Finding]:
        findings = []
        mode12 = self._mode12_frames() if self.allow.mode12_only else set()
        replayed = self._replayed()
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
            finding = replayed.get(o.index) or self._unexpected(o, prev, accepted, reservation_case, mode12)
            if not finding.fail:
                accepted.add(o.index)
            findings.append(finding)
        return findings

    def _unexpected(self, o: StatusObservation, prev: StatusObservation | None, accepted: set[int],
                    reservation_case: bool, mode12: set[int]) -> Finding:
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
            peers = self.allow.evse_peers(o.connector_id) & self.expected_connectors
            if reservation_case and peers and o.status in RESERVATION_OTHER_CONNECTOR:
                return Finding("D.reservation-other-connector", f"{_frame(o)}: connector {o.connector_id} shares an "
                                                                f"EVSE with connector {min(peers)} (PICS evses) and "
                                                                "may report this status in a reservation case",
                               [o.index], False)
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
                                            "Preparing, Available, Preparing, Charging (PICS product_subtype)",
                           [o.index], False)
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
        if e.waiting_for is not None and REVERSIBLE_WITH.get(o.status) == e.waiting_for:
            return Finding("D.reversed-with-transaction", f"{_frame(o)} came while waiting for {e.waiting_for} "
                                                          f"({self.label(pending)}); the test case document "
                                                          f"(section 1.2) lets {o.status} and {e.waiting_for} "
                                                          "come in either order", [o.index], False)
        table = CHARGE_POINT_TRANSITIONS if o.connector_id == 0 else CONNECTOR_TRANSITIONS
        if self.allow.wide_transitions and prev is not None and o.status in table.get(prev.status, frozenset()):
            # Wider than Appendix D, which names only the two allowances above: any status OCPP 1.6 lets the
            # charger move into while the tool still waits on this connector. Only on the bench's say-so.
            return Finding("D.legal-transition", f"{_frame(o)}: {prev.status} -> {o.status} is a legal OCPP 1.6 "
                                                 f"transition while waiting for {self.label(pending)}; accepted only "
                                                 "because the bench sets appendix_d_wide_transitions (Appendix D "
                                                 "does not name it)", [o.index], False)
        return None

    def _replayed(self) -> dict[int, Finding]:
        """Notifications the charger queued while offline and sent after reconnecting, each stamped with when it
        happened (before the connection it came on) and each a legal OCPP 1.6 transition from the status before it
        on its connector, in time order. The statuses before the case are the general precondition's (section
        1.3 of the test case document: connectors available)."""
        allowed: dict[int, Finding] = {}
        status: dict[int, str] = {}
        stamped: dict[int, float] = {}
        for o in self.obs:
            before = status.get(o.connector_id, "Available")
            status[o.connector_id] = o.status
            since = self._reconnected_before(o)
            if since is None or o.timestamp is None or o.timestamp >= since:
                continue
            table = CHARGE_POINT_TRANSITIONS if o.connector_id == 0 else CONNECTOR_TRANSITIONS
            in_order = o.timestamp >= stamped.get(o.connector_id, o.timestamp)
            stamped[o.connector_id] = o.timestamp
            if o.status in table.get(before, frozenset()) and in_order:
                allowed[o.index] = Finding(
                    "D.offline-replay", f"{_frame(o)} was queued while the charger was offline (stamped "
                    f"{_utc(o.timestamp)}, before its connection of {_utc(since)}) and follows {before} legally",
                    [o.index], False)
        return allowed

    def _reconnected_before(self, o: StatusObservation) -> float | None:
        """When the connection o came on was accepted, if the charger (re)connected during the case."""
        if o.received is None:
            return None
        return max((t for t in self.reconnected if t <= o.received), default=None)

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
