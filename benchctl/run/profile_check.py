"""Meet the charger before the first case: its BootNotification and GetConfiguration against the bench config and
the PICS, as step 3 of the test procedure's preparation (7.3, "fill in the test configuration") asks.

A contradiction that would make cases fail for a reason that is not the charger's (the bench drives two connectors
of a one-connector station, the PICS plans a profile the firmware does not have, the bench sends a rate unit the
station refuses) or a required Core key the charger lacks stops the run before its first case; a read-only key
that decides whether a case can run is reported, not a stop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from rich.markup import escape
from rich.table import Table

from benchctl.bench.config import BenchConfig
from benchctl.csms.link import ChargerLink, ToolRequestError
from benchctl.plan.appendix_c import load_appendix_c
from benchctl.scenario.model import Scenario, Step
from benchctl.scenario.values import UnknownVariable, substitute

from .configuration import ConfigKey, read_configuration

# The Core configuration keys the test case document requires of every Charge Point: TC_019_CS step 4 (test case
# document 2.8.1, Table 25, "Core: Configuration Key / accessibility"), the keys OCPP 1.6 section 9.1 marks
# "Required". Access as the document gives it: R, RW, or None for "R OR RW".
REQUIRED_CORE_KEYS: dict[str, str | None] = {
    "AuthorizeRemoteTxRequests": None,
    "ClockAlignedDataInterval": "RW",
    "ConnectionTimeOut": "RW",
    "ConnectorPhaseRotation": "RW",
    "GetConfigurationMaxKeys": "R",
    "HeartbeatInterval": "RW",
    "LocalAuthorizeOffline": "RW",
    "LocalPreAuthorize": "RW",
    "MeterValuesAlignedData": "RW",
    "MeterValuesSampledData": "RW",
    "MeterValueSampleInterval": "RW",
    "NumberOfConnectors": "R",
    "ResetRetries": "RW",
    "StopTransactionOnInvalidId": "RW",
    "StopTxnAlignedData": "RW",
    "StopTxnSampledData": "RW",
    "SupportedFeatureProfiles": "R",
    "TransactionMessageAttempts": "RW",
    "TransactionMessageRetryInterval": "RW",
    "UnlockConnectorOnEVSideDisconnect": None,
}
# The same table's keys of the optional profiles, which the document leaves to a manual check: a missing one is
# reported, not a stop. Reservation and Remote Trigger require none.
PROFILE_KEYS: dict[str, tuple[str, ...]] = {
    "LocalAuthListManagement": ("LocalAuthListEnabled", "LocalAuthListMaxLength", "SendLocalListMaxLength"),
    "SmartCharging": ("ChargeProfileMaxStackLevel", "ChargingScheduleAllowedChargingRateUnit",
                      "ChargingScheduleMaxPeriods", "MaxChargingProfilesInstalled"),
}
# PICS field (App. A.1) -> the SupportedFeatureProfiles name of the same profile (OCPP 1.6 section 3)
PICS_PROFILES: dict[str, str] = {
    "local_auth_list": "LocalAuthListManagement",
    "reservation": "Reservation",
    "smart_charging": "SmartCharging",
    "firmware_management": "FirmwareManagement",
    "remote_trigger": "RemoteTrigger",
}
# ChargingScheduleAllowedChargingRateUnit names the units by word; the bench and the PICS by symbol
RATE_UNITS = {"Current": "A", "Power": "W"}

STOP, NOTE, OK = "STOP", "NOTE", "OK"


@dataclass
class ProfileRow:
    key: str
    charger: str  # what the charger says (its value, or that it does not report the key)
    expected: str  # what the bench config or the PICS says
    cases: list[str]  # the planned cases the row concerns
    outcome: str  # STOP, NOTE or OK
    note: str = ""

    def as_record(self) -> dict[str, Any]:
        return {"key": self.key, "charger": self.charger, "expected": self.expected, "cases": self.cases,
                "outcome": self.outcome, "note": self.note}


@dataclass
class DutProfile:
    rows: list[ProfileRow] = field(default_factory=list)
    error: str | None = None  # why the charger's profile could not be read (nothing is compared then)

    @property
    def contradictions(self) -> list[ProfileRow]:
        return [r for r in self.rows if r.outcome == STOP]

    def as_record(self, overridden: bool = False) -> dict[str, Any]:
        return {"rows": [r.as_record() for r in self.rows], "error": self.error,
                "contradictions": [r.key for r in self.contradictions], "overridden": overridden}


class ProfileContradiction(Exception):
    """The charger contradicts the bench or the PICS in a way that would make cases fail: the run stops."""

    def __init__(self, profile: DutProfile) -> None:
        super().__init__("the charger contradicts the bench or the PICS: "
                         + "; ".join(f"{r.key}: {r.note}" for r in profile.contradictions))
        self.profile = profile


def _listed(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def _cases_naming(planned: list[Scenario], pics_field: str) -> list[str]:
    """The planned cases Appendix C decides by the PICS field (e.g. every Smart Charging case)."""
    rules = {r.id: r for r in load_appendix_c()}
    return [s.id for s in planned
            if s.id in rules and pics_field in getattr(rules[s.id].applies_if, "names", ())]


def _state_configurations(steps: Iterable[Step]) -> Iterator[dict[str, Any]]:
    for step in steps:
        if step.kind == "state":
            yield step.data.get("configuration") or {}
        yield from _state_configurations(step.children)


def _config_text(value: Any, values: dict[str, Any]) -> str:
    try:
        value = substitute(value, values)
    except (UnknownVariable, ValueError):  # a variable only the case sets: show the reference itself
        return str(value)
    return str(value).lower() if isinstance(value, bool) else str(value)


def needed_keys(planned: list[Scenario], values: dict[str, Any]) -> dict[str, dict[str, str]]:
    """key -> {case id: value} for every key a planned case (or a reusable state it uses) sets before its steps."""
    needed: dict[str, dict[str, str]] = {}
    for scenario in planned:
        for configuration in [scenario.configuration, *_state_configurations(scenario.steps)]:
            for key, value in configuration.items():
                needed.setdefault(key, {})[scenario.id] = _config_text(value, values)
    return needed


def _same(a: str | None, b: str) -> bool:
    if a is None:
        return False
    if a.lower() in ("true", "false"):
        return a.lower() == b.lower()
    return a.strip() == b.strip()


def _boot_row(boot: dict[str, Any] | None, pics: dict[str, Any] | None) -> ProfileRow:
    if boot is None:
        return ProfileRow("BootNotification", "not seen since the Central System started", "-", [], NOTE,
                          "the charger was already registered; its vendor and model are not known")
    said = f"{boot.get('chargePointVendor')} {boot.get('chargePointModel')} {boot.get('firmwareVersion') or ''}"
    declared = f"{(pics or {}).get('vendor') or '-'} {(pics or {}).get('model') or '-'}"
    differs = pics is not None and any(pics.get(k) and pics[k] != boot.get(b) for k, b in
                                       (("vendor", "chargePointVendor"), ("model", "chargePointModel")))
    return ProfileRow("BootNotification", said.strip(), declared, [], NOTE if differs else OK,
                      "the PICS names another vendor or model" if differs else "")


def _connectors_row(keys: dict[str, ConfigKey], config: BenchConfig, pics: dict[str, Any] | None,
                    planned: list[Scenario]) -> ProfileRow | None:
    reported = keys.get("NumberOfConnectors")
    if reported is None:
        return None  # a missing required Core key: its own row
    expected = f"dut.connectors {config.connectors}" + (f", PICS {pics['connectors']}" if pics else "")
    every = [s.id for s in planned]
    if reported.value != str(config.connectors):
        return ProfileRow("NumberOfConnectors", str(reported.value), expected, every, STOP,
                          f"the bench drives {config.connectors} connector(s) of a station with {reported.value}: "
                          f"fix dut.connectors")
    if pics and str(pics["connectors"]) != reported.value:
        return ProfileRow("NumberOfConnectors", str(reported.value), expected, every, NOTE,
                          "the PICS declares another number: its plan may not fit the station")
    return ProfileRow("NumberOfConnectors", str(reported.value), expected, [], OK)


def _profiles_row(keys: dict[str, ConfigKey], pics: dict[str, Any] | None,
                  planned: list[Scenario]) -> ProfileRow | None:
    reported = keys.get("SupportedFeatureProfiles")
    if reported is None or pics is None:
        return None
    has = set(_listed(reported.value))
    claimed = ["Core"] + [name for f, name in PICS_PROFILES.items() if pics.get(f)]
    missing = [f for f, name in PICS_PROFILES.items() if pics.get(f) and name not in has]
    unclaimed = [name for f, name in PICS_PROFILES.items() if not pics.get(f) and name in has]
    row = ProfileRow("SupportedFeatureProfiles", str(reported.value), "PICS: " + ",".join(claimed), [], OK)
    if missing:
        row.outcome = STOP
        row.cases = sorted({c for f in missing for c in _cases_naming(planned, f)})
        row.note = (f"the PICS claims {', '.join(PICS_PROFILES[f] for f in missing)}, which the charger does not "
                    f"report: its cases would fail")
    elif unclaimed:
        row.outcome = NOTE
        row.note = f"the charger also reports {', '.join(unclaimed)}; the PICS leaves it out, so its cases are not planned"
    return row


def _rate_unit_row(keys: dict[str, ConfigKey], values: dict[str, Any], pics: dict[str, Any] | None,
                   planned: list[Scenario]) -> ProfileRow | None:
    claimed = bool(pics and pics.get("smart_charging"))
    reported = keys.get("ChargingScheduleAllowedChargingRateUnit")
    if reported is None or not (claimed or pics is None):
        return None  # not reported: PROFILE_KEYS' row; no Smart Charging in the PICS: no case sends a profile
    bench_unit = str(values.get("charging_rate_unit"))
    pics_units = list((pics or {}).get("charging_rate_units") or [])
    has = {RATE_UNITS.get(word, word) for word in _listed(reported.value)}
    expected = f"values.charging_rate_unit {bench_unit}" + (f", PICS {','.join(pics_units)}" if pics else "")
    row = ProfileRow("ChargingScheduleAllowedChargingRateUnit", str(reported.value), expected, [], OK)
    refused = ([bench_unit] if bench_unit not in has else []) + [u for u in pics_units if u not in has]
    if refused:
        row.outcome, row.cases = STOP, _cases_naming(planned, "smart_charging")
        row.note = (f"the charger does not allow {', '.join(sorted(set(refused)))}: fix values.charging_rate_unit "
                    f"or the PICS charging_rate_units")
    return row


def _key_rows(keys: dict[str, ConfigKey], pics: dict[str, Any] | None, planned: list[Scenario],
              values: dict[str, Any]) -> list[ProfileRow]:
    rows: list[ProfileRow] = []
    needed = needed_keys(planned, values)
    tc_019 = [s.id for s in planned if s.id == "TC_019_CS"]
    missing_core = [k for k in REQUIRED_CORE_KEYS if k not in keys]
    for key in missing_core:
        rows.append(ProfileRow(key, "not reported", "required Core key (TC_019_CS step 4)",
                               sorted(set(tc_019) | set(needed.get(key, {}))), STOP,
                               "a required Core key is missing: the charger does not implement Core as the "
                               "document requires"))
    if not missing_core:
        rows.append(ProfileRow("required Core keys", f"all {len(REQUIRED_CORE_KEYS)} reported",
                               "TC_019_CS step 4", [], OK))
    profiles = set(_listed(keys["SupportedFeatureProfiles"].value)) if "SupportedFeatureProfiles" in keys else set()
    claimed = {name for f, name in PICS_PROFILES.items() if pics and pics.get(f)} | profiles
    for profile, profile_keys in PROFILE_KEYS.items():
        for key in profile_keys:
            if profile in claimed and key not in keys:
                rows.append(ProfileRow(key, "not reported", f"{profile} key (TC_019_CS step 4)",
                                       sorted(needed.get(key, {})), NOTE, "the document asks for it with "
                                       f"{profile}; checked by hand on certification day"))
    rowed = {row.key for row in rows}
    for key, by_case in sorted(needed.items()):
        if key not in rowed:
            rows.extend(_needed_row(key, by_case, keys.get(key)))
    return rows


def _needed_row(key: str, by_case: dict[str, str], reported: ConfigKey | None) -> list[ProfileRow]:
    wanted = ", ".join(sorted(set(by_case.values())))
    if reported is None:
        return [ProfileRow(key, "not reported", f"set to {wanted} by the cases", sorted(by_case), NOTE,
                           "the cases set it \"if implemented\": they run, and NotSupported is accepted")]
    if not reported.readonly:
        return []
    fits = sorted(c for c, v in by_case.items() if _same(reported.value, v))
    misfits = sorted(c for c, v in by_case.items() if not _same(reported.value, v))
    rows = []
    if fits:
        rows.append(ProfileRow(key, f"{reported.value} (read-only)", f"{_values(by_case, fits)} by the cases",
                               fits, OK, "read-only, already at the value the cases need: they run"))
    if misfits:
        rows.append(ProfileRow(key, f"{reported.value} (read-only)", f"{_values(by_case, misfits)} by the cases",
                               misfits, NOTE, "read-only at another value: these cases will be NOT_APPLICABLE"))
    return rows


def _values(by_case: dict[str, str], cases: list[str]) -> str:
    return ", ".join(sorted({by_case[c] for c in cases}))


def compare_profile(boot: dict[str, Any] | None, keys: dict[str, ConfigKey], config: BenchConfig,
                    pics: dict[str, Any] | None, planned: list[Scenario]) -> DutProfile:
    """The charger's BootNotification payload and GetConfiguration keys against the bench config, the PICS (its
    values, None without one) and the planned cases."""
    rows = [_boot_row(boot, pics)]
    for row in (_connectors_row(keys, config, pics, planned), _profiles_row(keys, pics, planned),
                _rate_unit_row(keys, config.values, pics, planned)):
        if row is not None:
            rows.append(row)
    rows.extend(_key_rows(keys, pics, planned, config.values))
    return DutProfile(rows)


async def read_profile(link: ChargerLink, config: BenchConfig, pics: dict[str, Any] | None,
                       planned: list[Scenario], timeout: float) -> DutProfile:
    """`benchctl check`: wait for the charger's BootNotification (a charger already registered may not send one),
    read every key and compare."""
    boot = await link.wait_until(lambda: next((i.payload for i in reversed(link.inbox)
                                               if i.action == "BootNotification"), None), timeout)
    try:
        keys = await read_configuration(link)
    except ToolRequestError as exc:
        return DutProfile([_boot_row(boot, pics)], f"GetConfiguration not answered: {exc}")
    return compare_profile(boot, keys, config, pics, planned)


OUTCOME_STYLE = {STOP: "[red]STOP[/]", NOTE: "[yellow]NOTE[/]", OK: "[green]OK[/]"}


def profile_table(profile: DutProfile, title: str = "DUT profile") -> Table:
    table = Table(title=title)
    for column in ("key", "charger says", "bench/PICS says", "cases affected", "", "why"):
        table.add_column(column, overflow="fold")
    for r in profile.rows:
        cases = ", ".join(r.cases) if len(r.cases) <= 6 else f"{len(r.cases)} cases ({', '.join(r.cases[:3])}, ...)"
        table.add_row(escape(r.key), escape(r.charger), escape(r.expected), escape(cases), OUTCOME_STYLE[r.outcome],
                      escape(r.note))
    if profile.error:
        table.add_row("GetConfiguration", escape(profile.error), "-", "", OUTCOME_STYLE[NOTE],
                      "nothing compared: the profile is unknown")
    return table
