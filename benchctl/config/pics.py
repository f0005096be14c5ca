"""The PICS file: what a vendor declares about a charging station, in the terms of Appendix A.

Appendix A of the OCA OCPP Certification Test Procedure (v1.1.4) is the Protocol Implementation Conformance
Statement a vendor fills in before certification: general facts about the DUT (A, "General information"),
optional features (A, "Optional features"), limits (A, "Other relevant settings and limits"), the feature
profiles supported (A.1) and the security profiles (A.2). Appendix C decides from these answers which test
cases apply, so a PICS file holds exactly the answers the Appendix C conditions ask about.

A few fields are not Appendix A rows but are what an Appendix C remark or a test case prerequisite depends
on (the station's power-loss behaviour, the hooks an optional case needs); their help says so.

The optional `performance:` section is Appendix A.4 (the values chapter 8 measures); no condition uses it, so
it is read with `load_performance` and kept out of `Pics`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchctl.config import MarkedDoc, load_marked
from benchctl.config.errors import Collector
from benchctl.config.schema import Field, Schema, validate

MODE_1_2_ONLY = "mode_1_2_only"
FILE_TRANSFER_PROTOCOLS = ("http", "https", "ftp", "ftps")
SECURITY_PROFILES = (1, 2, 3)


def _unique(value: list[Any]) -> str | None:
    duplicates = sorted({str(v) for v in value if value.count(v) > 1})
    return f"listed more than once: {', '.join(duplicates)}" if duplicates else None


def _an_evse(connectors: list[int]) -> str | None:
    return "an EVSE has at least one connector" if not connectors else _unique(connectors)


PICS_SCHEMA = Schema({
    # --- Appendix A, general information about the DUT
    "vendor": Field(str, default="", help="App. A general information 'Vendor name'"),
    "model": Field(str, default="", help="App. A general information 'Type / model'"),
    "dut_type": Field(str, required=True, choices=("charging_station",),
                      help="App. A general information 'DUT': benchctl tests Charging Stations only, not a CSMS"),
    "product_subtype": Field(str, required=True, choices=("standard", MODE_1_2_ONLY),
                             help="App. A general information 'Product subtype': standard for 'N.A.', "
                                  "mode_1_2_only for a 'Mode 1/2-only Charging Station'"),
    "connectors": Field(int, required=True, minimum=1,
                        help="App. A general information 'Socket(s) / connector(s)': how many"),
    "evses": Field(list, default=[], items=Field(list, items=Field(int, minimum=1), check=_an_evse),
                   help="App. A general information 'Socket(s) / connector(s)': the connectors that share one "
                        "EVSE, one list of connector ids per EVSE (e.g. [[1, 2]]); a connector in no list is an "
                        "EVSE of its own. Appendix D lets the other connectors of a reserved EVSE report "
                        "Available, Reserved, Preparing or Unavailable in the reservation cases"),
    "fixed_cable": Field(bool, required=True,
                         help="App. A general information 'Fixed cable': true for a tethered cable, "
                              "false for a socket"),
    "rfid_readers": Field(str, required=True, choices=("none", "single", "one_per_evse"),
                          help="App. A general information 'RFID readers'"),
    # --- local operation: what the 'local start/stop transaction' remarks of Appendix C ask
    "local_start": Field(bool, required=True,
                         help="App. C remarks (_003, _004_x, _046_1, ...): a transaction can be started at the "
                              "station itself (card, keypad, button), not only remotely"),
    "local_stop": Field(bool, required=True,
                        help="App. C remarks (_003, _038, ...): a transaction can be stopped at the station itself"),
    # --- Appendix A, optional features
    "authorization_cache": Field(bool, required=True, help="App. A optional feature 'Authorization Cache'"),
    "unknown_offline_authorization": Field(bool, default=False,
                                           help="App. A optional feature 'Unknown Offline Authorization' "
                                                "(AllowOfflineTxForUnknownId)"),
    "stop_transaction_on_ev_side_disconnect": Field(
        str, default="read_write", choices=("read_write", "read_only_true", "read_only_false", "not_implemented"),
        help="App. A optional feature 'Choice transaction stopped when cable disconnected on EV side': the "
             "accessibility and value of StopTransactionOnEVSideDisconnect (read_write is the 'Yes' answer)"),
    "reservation_charge_point": Field(bool, default=False,
                                      help="App. A optional feature 'Support reservations of entire Charging "
                                           "Station' (ReserveNow for connectorId 0)"),
    # --- not an Appendix A row: the behaviour App. C _032_1 / _032_2 are conditional on
    "power_loss_stop": Field(str, required=True, choices=("before_power_down", "after_reboot", "never"),
                             help="App. C _032_1/_032_2: when the station stops a transaction on a power loss"),
    # --- Appendix A.1, feature profiles beyond Core (Core is always supported)
    "local_auth_list": Field(bool, required=True, help="App. A.1 'Local Auth List Management' profile"),
    "reservation": Field(bool, required=True, help="App. A.1 'Reservation' profile"),
    "smart_charging": Field(bool, required=True, help="App. A.1 'Smart Charging' profile"),
    "firmware_management": Field(bool, required=True,
                                 help="App. A.1 'Firmware Management' profile: firmware update and diagnostics "
                                      "upload, which OCPP 1.6 keeps in one profile"),
    "remote_trigger": Field(bool, required=True, help="App. A.1 'Remote Trigger' profile"),
    # --- Appendix A, other relevant settings and limits (declare them when their profile is supported)
    "local_auth_list_max_length": Field(int, default=0, minimum=0,
                                        help="App. A limit 'LocalAuthListMaxLength'"),
    "send_local_list_max_length": Field(int, default=0, minimum=0, help="App. A limit 'SendLocalListMaxLength'"),
    "charge_profile_max_stack_level": Field(int, default=0, minimum=0,
                                            help="App. A limit 'ChargeProfileMaxStackLevel'"),
    "charging_schedule_max_periods": Field(int, default=0, minimum=0,
                                           help="App. A limit 'ChargingScheduleMaxPeriods'"),
    "max_charging_profiles_installed": Field(int, default=0, minimum=0,
                                             help="MaxChargingProfilesInstalled: not an App. A row, but the "
                                                  "App. C _066 prerequisite counts installed profiles"),
    "charging_rate_units": Field(list, default=[], items=Field(str, choices=("A", "W")), check=_unique,
                                 help="App. A limit 'ChargingScheduleAllowedChargingRateUnit'"),
    "file_transfer_protocols": Field(list, default=[], items=Field(str, choices=FILE_TRANSFER_PROTOCOLS),
                                     check=_unique,
                                     help="App. A 'Firmware Management: Supported file transfer protocols'"),
    # --- Appendix A.2, the OCPP 1.6 Security PICS
    "security_profiles": Field(list, default=[], items=Field(int, choices=SECURITY_PROFILES), check=_unique,
                               help="App. A.2 'Certificate Profiles': the security profiles implemented"),
    "security_certification": Field(bool, default=False,
                                    help="App. A.2 / App. C 'OCPP 1.6 Security': the station goes for the "
                                         "security certificate (needs security profile 2 or 3)"),
    # --- hooks the optional (O) cases need: the lab must be able to provoke the failure they test
    "can_report_lock_failure": Field(bool, default=False,
                                     help="App. C _024 (optional): the socket's cable lock can be made to fail and "
                                          "the station reports it (ConnectorLockFailure)"),
    "can_trigger_unlock_failure": Field(bool, default=False,
                                        help="App. C _030 (optional): the station can be put in a state where "
                                             "unlocking a connector fails"),
    "can_trigger_local_list_failure": Field(bool, default=False,
                                            help="App. C _043_3 (optional): the station can be prepared so that "
                                                 "storing a local list fails"),
    "rejects_reserve_now": Field(bool, default=False,
                                 help="App. C _048_4 (optional): without the Reservation profile the station "
                                      "still answers ReserveNow with status Rejected, not with a CallError"),
})

COMMUNICATION_TECHNOLOGIES = ("ethernet", "wifi", "mobile")


def _positive(value: float) -> str | None:
    return None if value > 0 else "a time must be more than 0 seconds"


# Appendix A.4, the PICS for the performance measurement (chapter 8): optional, and not something Appendix C
# conditions use, so it is validated here but kept out of PICS_SCHEMA and Pics (load_performance reads it)
PERFORMANCE_SCHEMA = Schema({
    "triggered_function_timeout_s": Field(
        float, required=True, check=_positive,
        help="App. A.4 'OCPP triggered function timeout' (seconds): an accepted request until the message it "
             "promises (CancelReservation, ReserveNow, ChangeAvailability, RemoteStart/StopTransaction, "
             "TriggerMessage)"),
    "response_timeout_s": Field(float, required=True, check=_positive,
                                help="App. A.4 'OCPP response timeout' (seconds): a request until its answer"),
    "authorize_response_time_s": Field(float, check=_positive,
                                       help="App. A.4 'Response time Authorize' (seconds); the row is for a CSMS, "
                                            "so a charging station may leave it out"),
    "remote_start_response_time_s": Field(float, required=True, check=_positive,
                                          help="App. A.4 'Response time RemoteStartTransaction' (seconds)"),
    "communication_technology": Field(str, required=True, choices=COMMUNICATION_TECHNOLOGIES,
                                      help="App. A.4 'Communication technology': the one link the performance is "
                                           "measured over"),
}, help="App. A.4 'PICS for OCPP 1.6 performance measurement'")
PICS_FILE_SCHEMA = Schema({**PICS_SCHEMA.fields, "performance": PERFORMANCE_SCHEMA})

# A supported profile is only usable by the plan with its limits: they decide the App. C prerequisites
PROFILE_LIMITS: dict[str, tuple[str, ...]] = {
    "local_auth_list": ("local_auth_list_max_length", "send_local_list_max_length"),
    "smart_charging": ("charge_profile_max_stack_level", "charging_schedule_max_periods",
                       "max_charging_profiles_installed", "charging_rate_units"),
    "firmware_management": ("file_transfer_protocols",),
}


@dataclass(frozen=True)
class Pics:
    """A validated PICS file. Every field but `file` is a name Appendix C conditions may use."""

    file: str
    vendor: str
    model: str
    dut_type: str
    product_subtype: str
    connectors: int
    fixed_cable: bool
    rfid_readers: str
    local_start: bool
    local_stop: bool
    authorization_cache: bool
    unknown_offline_authorization: bool
    stop_transaction_on_ev_side_disconnect: str
    reservation_charge_point: bool
    power_loss_stop: str
    local_auth_list: bool
    reservation: bool
    smart_charging: bool
    firmware_management: bool
    remote_trigger: bool
    local_auth_list_max_length: int
    send_local_list_max_length: int
    charge_profile_max_stack_level: int
    charging_schedule_max_periods: int
    max_charging_profiles_installed: int
    charging_rate_units: tuple[str, ...] = ()
    file_transfer_protocols: tuple[str, ...] = ()
    security_profiles: tuple[int, ...] = ()
    security_certification: bool = False
    can_report_lock_failure: bool = False
    can_trigger_unlock_failure: bool = False
    can_trigger_local_list_failure: bool = False
    rejects_reserve_now: bool = False
    evses: tuple[tuple[int, ...], ...] = ()  # connectors sharing an EVSE; a connector in none is its own EVSE

    @property
    def local_start_stop(self) -> bool:
        """Appendix C's 'supports local start/stop transaction'."""
        return self.local_start and self.local_stop

    def values(self) -> dict[str, Any]:
        """The PICS fields by name, as condition expressions see them."""
        out = asdict(self)
        del out["file"]
        return out


def _cross_check(doc: MarkedDoc, data: dict[str, Any]) -> None:
    """Answers that contradict each other, all of them; each error points at the answer that cannot stand."""
    errors = Collector()

    def problem(key: str | tuple[str, int], message: str) -> None:
        errors.add(doc.error(key if isinstance(key, tuple) else (key,), message))

    for profile, limits in PROFILE_LIMITS.items():
        if not data[profile]:
            continue
        for limit in limits:
            if limit not in doc.data:
                problem(profile, f"{profile} is true, so declare {limit} as well ({PICS_SCHEMA.fields[limit].help})")
        if profile == "firmware_management" and not data["file_transfer_protocols"]:
            problem("file_transfer_protocols", "name at least one protocol the station downloads with")
        if profile == "smart_charging" and not data["charging_rate_units"]:
            problem("charging_rate_units", "name at least one unit (A or W)")
    if data["reservation_charge_point"] and not data["reservation"]:
        problem("reservation_charge_point", "reserving the whole station needs reservation: true")
    if data["can_trigger_local_list_failure"] and not data["local_auth_list"]:
        problem("can_trigger_local_list_failure", "a local list failure needs local_auth_list: true")
    if data["rejects_reserve_now"] and data["reservation"]:
        problem("rejects_reserve_now", "this is about stations without the Reservation profile; with "
                                       "reservation: true leave it out")
    if data["can_report_lock_failure"] and data["fixed_cable"]:
        problem("can_report_lock_failure", "a fixed cable has no socket lock to fail; set fixed_cable: false or "
                                           "this to false")
    seen: dict[int, int] = {}
    for i, evse in enumerate(data["evses"]):
        for connector in evse:
            if connector > data["connectors"]:
                problem(("evses", i), f"connector {connector} does not exist: connectors is {data['connectors']}")
            elif connector in seen:
                problem(("evses", i), f"connector {connector} is already on EVSE {seen[connector] + 1}: a connector "
                                      "belongs to one EVSE")
            seen[connector] = i
    if data["security_certification"] and not {2, 3} & set(data["security_profiles"]):
        problem("security_certification", "the security certificate needs security profile 2 or 3 in "
                                          "security_profiles (App. A.2)")
    errors.raise_any()


@dataclass(frozen=True)
class PerformancePics:
    """The A.4 answers: the vendor's declared times (seconds; None when not declared) and the technology."""

    file: str
    triggered_function_timeout_s: float
    response_timeout_s: float
    remote_start_response_time_s: float
    communication_technology: str
    authorize_response_time_s: float | None = None

    def declared_s(self, field_name: str) -> float | None:
        value = getattr(self, field_name)
        return value if isinstance(value, float) else None

    def values(self) -> dict[str, Any]:
        out = asdict(self)
        del out["file"]
        return out


def _validated(path: str | Path) -> dict[str, Any]:
    doc = load_marked(path)
    data = validate(doc, PICS_FILE_SCHEMA)
    _cross_check(doc, data)
    return data


def load_performance(path: str | Path) -> PerformancePics | None:
    """The `performance:` section (App. A.4) of a PICS file, None when it has none; the whole file is validated,
    so every problem is a ConfigError naming file, line and field."""
    section = _validated(path)["performance"]
    return None if section is None else PerformancePics(file=str(path), **section)


def scenario_variables(source: str | Path | dict[str, Any] | None) -> dict[str, Any]:
    """The PICS answers (a file, or answers already loaded) as scenario variables, `pics.<field>` (e.g. `when:
    {var: pics.local_auth_list, equals: "true"}`: a memory state the document marks "(If implemented)"); none
    without a PICS."""
    if source is None:
        return {}
    values = source if isinstance(source, dict) else load_pics(source).values()
    return {f"pics.{name}": value for name, value in values.items()}


def load_pics(path: str | Path) -> Pics:
    """Load and validate a PICS file; every problem is a ConfigError naming file, line and field."""
    data = _validated(path)
    del data["performance"]  # App. A.4: see load_performance
    # tuples: a loaded PICS is a value, and the schema hands out its list defaults shared
    return Pics(file=str(path), **{k: _frozen(v) for k, v in data.items()})


def _frozen(value: Any) -> Any:
    return tuple(_frozen(v) for v in value) if isinstance(value, list) else value
