"""The lab's connection checks before the performance cases (test procedure 8.2.2, 8.2.3, 8.3 step 2).

With the bench's modem role (a mobile dongle, `drivers.dongle`) the link is measured on 2G, 3G and 4G in turn:
bandwidth (kB/s), latency (ms) and signal strength (RSSI in dBm, CSQ), each judged against the limits of
a4.yaml. The technology the PICS names for the performance measurement is measured too where the bench can:
`mobile` through the dongle at the generation it was set to, `ethernet` / `wifi` against a link endpoint on
the charger's network (the bench reads no Wi-Fi signal, so a Wi-Fi RSSI is reported as not measured). When a
limit is missed the report says to improve the setup first. The dongle is set back to its original generation
afterwards (to its safe state when that could not be read), whatever happened.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from drivers.dongle.link import DEFAULT_BYTES, DEFAULT_PINGS, LinkError, LinkFigures, measure
from drivers.dongle.protocol import DongleProtocol, Signal, parse_endpoint
from drivers.dongle.signal import csq_to_dbm
from drivers.errors import DriverError

from .a4 import LinkLimits, a4

MET, MISSED, UNMEASURED = "met", "missed", "not measured"
SETUP_OK, SETUP_IMPROVE, SETUP_INCOMPLETE = ("the setup meets the limits", "improve the setup first",
                                             "not every limit could be checked")
ATTACH_TIMEOUT_S = 30.0
_POLL_S = 0.2


@dataclass(frozen=True)
class Judgment:
    parameter: str  # bandwidth, latency, rssi
    value: float | None
    unit: str
    limit: str  # ">= 5 kB/s"
    result: str  # MET, MISSED, UNMEASURED
    reason: str = ""


@dataclass
class LinkCheck:
    """One link measured: a generation on the dongle, or the technology under test."""

    name: str
    technology: str  # mobile, ethernet, wifi
    setting: str | None = None  # what the dongle was set to
    serving: str | None = None  # what it camped on
    figures: dict[str, Any] | None = None  # LinkFigures.as_dict()
    signal: dict[str, Any] | None = None  # Signal.as_dict()
    error: str | None = None  # why it could not be measured
    note: str = ""
    judgments: list[Judgment] = field(default_factory=list)

    @property
    def bandwidth_kB_s(self) -> float | None:
        return None if self.figures is None else self.figures["bandwidth_Bps"] / 1000

    @property
    def latency_ms(self) -> float | None:
        return None if self.figures is None else self.figures["latency_p50_ms"]

    @property
    def result(self) -> str:
        results = {j.result for j in self.judgments}
        return MISSED if MISSED in results else UNMEASURED if UNMEASURED in results or not results else MET

    def as_record(self) -> dict[str, Any]:
        record = {k: v for k, v in asdict(self).items() if k != "judgments"}
        record.update(bandwidth_kB_s=_round(self.bandwidth_kB_s), latency_ms=_round(self.latency_ms),
                      result=self.result, judgments=[asdict(j) for j in self.judgments])
        return record


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def judge(check: LinkCheck, limits: LinkLimits, rssi: str = "measure") -> list[Judgment]:
    """The 8.2.2 judgments of one check. `rssi`: "measure" (judge the reading), "not applicable" (ethernet), or
    a reason it cannot be read."""
    out: list[Judgment] = []
    failed = f"not measured: {check.error}" if check.error else "not measured"
    kB_s, ms = check.bandwidth_kB_s, check.latency_ms
    out.append(Judgment("bandwidth", _round(kB_s), "kB/s", f">= {limits.bandwidth_kB_s_min:g} kB/s",
                        UNMEASURED if kB_s is None else MET if kB_s >= limits.bandwidth_kB_s_min else MISSED,
                        failed if kB_s is None else ""))
    out.append(Judgment("latency", _round(ms), "ms", f"<= {limits.latency_ms_max:g} ms",
                        UNMEASURED if ms is None else MET if ms <= limits.latency_ms_max else MISSED,
                        failed if ms is None else "median echo round trip"))
    limit = f">= {limits.rssi_dbm_min:g} dBm (CSQ {limits.csq_min})"
    if rssi == "not applicable":
        return out
    if rssi != "measure":
        out.append(Judgment("rssi", None, "dBm", limit, UNMEASURED, rssi))
        return out
    reading = check.signal or {}
    dbm, csq = reading.get("rssi_dbm"), reading.get("csq")
    if dbm is not None:
        out.append(Judgment("rssi", dbm, "dBm", limit, MET if dbm >= limits.rssi_dbm_min else MISSED,
                            f"CSQ {csq}" if csq is not None else ""))
    elif csq is not None:
        out.append(Judgment("rssi", float(csq_to_dbm(csq) or 0), "dBm", limit,
                            MET if csq >= limits.csq_min else MISSED, f"from CSQ {csq}"))
    else:
        out.append(Judgment("rssi", None, "dBm", limit, UNMEASURED,
                            failed if check.error else "the modem gave no RSSI reading"))
    return out


@dataclass
class LinkReport:
    limits: LinkLimits
    checks: list[LinkCheck] = field(default_factory=list)
    technology: LinkCheck | None = None
    restored_to: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def all_checks(self) -> list[LinkCheck]:
        return ([self.technology] if self.technology is not None else []) + self.checks

    @property
    def setup(self) -> str:
        results = {c.result for c in self.all_checks}
        if MISSED in results:
            return SETUP_IMPROVE
        return SETUP_INCOMPLETE if UNMEASURED in results or not results else SETUP_OK

    @property
    def advice(self) -> str:
        missed = [f"{c.name} {j.parameter} {_shown(j)} (limit {j.limit})"
                  for c in self.all_checks for j in c.judgments if j.result == MISSED]
        unmeasured = [f"{c.name} {j.parameter}" for c in self.all_checks for j in c.judgments
                      if j.result == UNMEASURED]
        if missed:
            return f"{SETUP_IMPROVE}: " + "; ".join(missed)
        if unmeasured:
            return f"{SETUP_INCOMPLETE}: not measured " + ", ".join(unmeasured)
        return SETUP_OK

    def as_record(self) -> dict[str, Any]:
        return {"limits": asdict(self.limits), "setup": self.setup, "advice": self.advice,
                "technology": self.technology.as_record() if self.technology else None,
                "generations": [c.as_record() for c in self.checks], "restored_to": self.restored_to,
                "notes": self.notes}


def _shown(j: Judgment) -> str:
    return "not measured" if j.value is None else f"{j.value:g} {j.unit}"


async def _attach(dongle: DongleProtocol, generation: str, timeout_s: float) -> Signal:
    """Wait until the dongle serves the generation it was set to (a real stick takes seconds to camp)."""
    deadline = time.monotonic() + timeout_s
    while True:
        reading = await dongle.signal()
        if reading.generation == generation or time.monotonic() >= deadline:
            return reading
        await asyncio.sleep(_POLL_S)


async def _measure_dongle(dongle: DongleProtocol, check: LinkCheck, bytes_: int, pings: int) -> None:
    try:
        figures = await dongle.measure_link(bytes_=bytes_, pings=pings)
        check.figures = figures.as_dict()
    except (DriverError, ValueError) as exc:
        check.error = str(exc)


async def check_generation(dongle: DongleProtocol, generation: str, limits: LinkLimits, *,
                           bytes_: int = DEFAULT_BYTES, pings: int = DEFAULT_PINGS,
                           attach_timeout_s: float = ATTACH_TIMEOUT_S) -> LinkCheck:
    check = LinkCheck(generation, "mobile", setting=generation)
    try:
        await dongle.set_generation(generation)
        reading = await _attach(dongle, generation, attach_timeout_s)
        check.signal, check.serving = reading.as_dict(), reading.generation
        if reading.generation != generation:
            check.error = (f"the modem does not serve {generation} after {attach_timeout_s:g} s "
                           f"(serving: {reading.generation or 'no service'})")
        else:
            await _measure_dongle(dongle, check, bytes_, pings)
    except DriverError as exc:
        check.error = str(exc)
    check.judgments = judge(check, limits)
    return check


async def check_technology(technology: str, limits: LinkLimits, *, dongle: DongleProtocol | None = None,
                           endpoint: str | None = None, bytes_: int = DEFAULT_BYTES,
                           pings: int = DEFAULT_PINGS, note: str = "") -> LinkCheck:
    """The one technology the PICS names for the performance measurement (A.4), as far as the bench can."""
    check = LinkCheck(f"{technology} (under test)", technology, note=note)
    if technology == "mobile":
        if dongle is None:
            check.error = "the bench has no modem role to measure a mobile link with"
        else:
            try:
                check.setting = await dongle.get_generation()
                reading = await dongle.signal()
                check.signal, check.serving = reading.as_dict(), reading.generation
                check.note = note or f"the dongle as it was set ({check.setting}), serving {reading.generation}"
                await _measure_dongle(dongle, check, bytes_, pings)
            except DriverError as exc:
                check.error = str(exc)
        check.judgments = judge(check, limits)
        return check
    if endpoint is None:
        check.error = ("no link endpoint on the charger's network: give --link-endpoint HOST:PORT (run "
                       "`python -m hil_sim.gear.link_endpoint --host <address>` there)")
    else:
        host, port = parse_endpoint(endpoint)
        try:
            figures: LinkFigures = await measure(host, port, bytes_=bytes_, pings=pings)
            check.figures = figures.as_dict()
        except LinkError as exc:
            check.error = f"link measurement against {endpoint}: {exc}"
    rssi = "not applicable" if technology == "ethernet" else "the bench has no Wi-Fi signal reader"
    check.judgments = judge(check, limits, rssi=rssi)
    return check


async def measure_links(dongle: DongleProtocol | None, technology: str | None, *,
                        limits: LinkLimits | None = None, endpoint: str | None = None,
                        bytes_: int = DEFAULT_BYTES, pings: int = DEFAULT_PINGS,
                        attach_timeout_s: float = ATTACH_TIMEOUT_S, technology_note: str = "") -> LinkReport:
    """The technology under test first (the dongle untouched), then every generation of the limits in turn;
    the dongle goes back to the generation it had."""
    limits = limits or a4().link_limits
    report = LinkReport(limits)
    if technology is None:
        report.notes.append("no PICS performance section: the technology under test is not known, so only "
                            "the mobile generations are measured")
    else:
        report.technology = await check_technology(technology, limits, dongle=dongle, endpoint=endpoint,
                                                   bytes_=bytes_, pings=pings, note=technology_note)
    if dongle is None:
        report.notes.append("the bench has no modem role: the 2G / 3G / 4G links are not measured")
        return report
    original: str | None = None
    try:
        original = await dongle.get_generation()
    except DriverError as exc:
        report.notes.append(f"could not read the dongle's generation before switching: {exc}")
    try:
        for generation in limits.generations:
            report.checks.append(await check_generation(dongle, generation, limits, bytes_=bytes_, pings=pings,
                                                        attach_timeout_s=attach_timeout_s))
    finally:
        report.restored_to = await _restore(dongle, original, report)
    return report


async def _restore(dongle: DongleProtocol, original: str | None, report: LinkReport) -> str | None:
    try:
        if original is not None:
            await dongle.set_generation(original)
            return original
        await dongle.safe_state()
        return await dongle.get_generation()
    except DriverError as exc:
        report.notes.append(f"could not put the dongle back ({original or 'safe state'}): {exc}")
        return None
