"""The bench config: which gear plays which role, the DUT's connection facts and the configured values.

A YAML file is validated completely on load; the first problem found is raised as a ConfigError that names
the file, the line and the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchctl.config import ConfigError, MarkedDoc, load_marked
from benchctl.config.errors import Collector
from benchctl.config.names import unsafe_name
from benchctl.config.suggest import did_you_mean
from benchctl.config.schema import Field, Schema, check_value, validate
from benchctl.csms.handshake import charge_point_id_problem
from benchctl.csms.security import authorization_key_problem
from benchctl.csms.server import DEFAULT_MAX_FRAME_BYTES
from benchctl.transfer.server import check_host
from hil_sim.settings import SIMULATOR_SCHEMA, SimSettings

from .registry import DRIVERS, KIND_NAMES, driver_names_for, role_kind

REQUIRED_ROLES = ("ev",)  # every charging case plugs a cable in


def _authorization_key_format(value: str) -> str | None:
    return None if value == "" else authorization_key_problem(value)


# The configured values the test case document refers to ("<Configured Heartbeat interval>", ...).
VALUES_SCHEMA = Schema({
    "connector_id": Field(int, default=1, minimum=1),
    "heartbeat_interval_s": Field(int, default=60, minimum=1),
    "boot_retry_interval_s": Field(int, default=10, minimum=1,
                                   help="interval the tool sends with BootNotification Rejected/Pending"),
    "meter_value_interval_s": Field(int, default=60, minimum=1),
    "clock_aligned_interval_s": Field(int, default=900, minimum=1,
                                      help="<Configured Clock Aligned Data interval>: the ClockAlignedDataInterval "
                                           "the meter value cases set (keep it below message_timeout_s)"),
    "connection_timeout_s": Field(int, default=60, minimum=1,
                                  help="<Configured connectionTimeout>: the ConnectionTimeOut the cases set"),
    "valid_id_tag": Field(str, default="04A1B2C3"),
    "valid_id_tag_2": Field(str, default="04D4E5F6"),
    "invalid_id_tag": Field(str, default="0BADCAFE"),
    "parent_id_tag": Field(str, default="PARENT-GROUP-1",
                           help="parentIdTag the tool gives valid_id_tag and valid_id_tag_2 in the group cases"),
    "message_timeout_s": Field(float, default=30.0, minimum=0.1,
                               help="how long to wait for a charger message when the case sets no timing"),
    "timing_tolerance_s": Field(float, default=2.0, minimum=0,
                                help="allowed deviation of intervals the charger must keep"),
    "power_off_s": Field(float, default=3.0, minimum=0, help="how long a power cycle keeps mains off"),
    "transaction_duration_s": Field(float, default=10.0, minimum=0,
                                    help="<Configured Transaction Duration>: how long the tool watches for a "
                                         "transaction that must not start (TC_041, TC_024)"),
    "stop_before_power_down_key": Field(str, default="",
                                        help="vendor key that makes a station with backup power stop its "
                                             "transactions before going down (TC_032_1 prerequisite); empty: none "
                                             "needed"),
    "ev_ready_delay_s": Field(float, default=0.5, minimum=0,
                              help="time between EV state B and C after plug-in"),
    "latch_press_s": Field(float, default=0.5, minimum=0, maximum=10,
                           help="on a Type 1 plug, how long the latch release is held before the unplug: the time a "
                                "vehicle and a station have to stop the current, as a driver's thumb gives them"),
    "appendix_d_wide_transitions": Field(bool, default=False,
                                         help="also accept, while a step waits, any unexpected status OCPP 1.6 "
                                              "lets the connector move into (wider than Appendix D, which names "
                                              "only Suspended* before Start/StopTransaction and Unavailable "
                                              "before Available after a boot); every use is a reported finding"),
    # the security cases (2.24): which profile each one runs the station on, per the station's PICS
    "basic_auth_security_profile": Field(int, default=1, choices=(1, 2),
                                         help="the profile with HTTP Basic authentication the Basic-auth cases "
                                              "(TC_073, TC_085) put the station on, and TC_083 upgrades from"),
    "tls_security_profile": Field(int, default=2, choices=(2, 3),
                                  help="the TLS profile TC_086 puts the station on and TC_084 downgrades from"),
    "cpo_name": Field(str, default="benchctl lab CPO",
                      help="<Configured Vendor Name> of TC_074/077: the CpoName the station puts in its CSR"),
    "charge_point_serial_number": Field(str, default="",
                                        help="the station's serial number, the commonName its client certificate "
                                             "must carry (TC_087); empty: dut.charge_point_id"),
    "reservation_expiry_s": Field(int, default=60, minimum=1,
                                  help="<Configured Reservation Expiry Date Offset>: the expiryDate of the "
                                       "reservation that must expire (TC_047) is this many seconds from its "
                                       "ReserveNow"),
    # the smart charging cases (2.22): the document's <Configured ...> values of the profiles the tool sends
    "charging_rate_unit": Field(str, default="A", choices=("A", "W"),
                                help="<Configured chargingRateUnit>: a unit in the station's "
                                     "ChargingScheduleAllowedChargingRateUnit (W: the document's limits x 1000)"),
    "charging_schedule_duration_s": Field(int, default=300, minimum=1,
                                          help="<Configured duration> of the profiles and composite schedules of "
                                               "TC_056/057/059/082"),
    "charging_profile_stack_level": Field(int, default=0, minimum=0,
                                          help="<Configured StackLevel>: at most ChargeProfileMaxStackLevel"),
    "number_phases": Field(int, default=3, choices=(1, 2, 3),
                           help="<Configured numberPhases> of the schedule periods; also how A and W convert"),
    "max_time_deviation_s": Field(float, default=5.0, minimum=0,
                                  help="<Configured Max Time Deviation>: profiles start this long before they are "
                                       "sent, and a composite schedule must start within it of its answer"),
    "local_limit_a": Field(float, default=None, minimum=0,
                           help="<The local limit of the Charging Station>: the current it offers with no "
                                "charging profile at all (TC_067 step 12); null or left out: it has none, so where "
                                "no profile applies its composite schedule may give no period or its connector's "
                                "maximum, and that stretch is not judged"),
    "operator_pause_s": Field(float, default=2.0, minimum=0,
                              help="how long a tester takes between a charger's message and the next physical step "
                                   "(plug in, present a card): a charger acting before the cable is in shows in it"),
    "supply_voltage_v": Field(float, default=230.0, minimum=1, help="phase voltage, to convert A and W"),
    "pwm_current_tolerance_a": Field(float, default=0.5, minimum=0,
                                     help="how far the current the PWM offers (duty -> A) may be from the limit"),
    "pwm_settle_s": Field(float, default=3.0, minimum=0,
                          help="how long the station may take to put a new limit on the PWM"),
    # warnings (benchctl/run/warnings.py): findings beyond the document that never change a verdict
    "clock_warning_s": Field(float, default=60.0, minimum=0,
                             help="a MeterValues or StatusNotification timestamp further than this from the bench "
                                  "clock is a warning (not one queued while the charger was offline)"),
    "meter_accuracy_pct": Field(float, default=2.0, minimum=0,
                                help="accuracy class of the charger's energy register: a transaction's energy "
                                     "further than this (+ 1 Wh) from the reference meter's (role meter) is a "
                                     "warning"),
    # the file server of the firmware, diagnostics and log cases (benchctl/transfer)
    "file_server_host": Field(str, default="127.0.0.1", check=check_host,
                              help="address the file server listens on: loopback for the simulator, else the "
                                   "bench's address on the charger's network (never a wildcard address)"),
    "firmware_image": Field(str, default="",
                            help="<Firmware Download URL>'s file: the vendor's dummy firmware image (relative to "
                                 "this file); empty on a simulated bench, which builds one"),
    "unsupported_firmware_image": Field(str, default="",
                                        help="a file the station must refuse to install (TC_044_3); empty: a file "
                                             "that is no firmware at all (the simulator: a corrupted image)"),
})

BENCH_SCHEMA = Schema({
    "bench": Schema({
        "name": Field(str, required=True, check=unsafe_name,
                      help="names the bench's run directories and lock file, so a safe file name"),
        "description": Field(str, default=""),
    }, required=True),
    "simulator": Field(dict, default=None, help="present: start hil_sim inside the run"),
    "dut": Schema({
        "charge_point_id": Field(str, required=True),
        "connectors": Field(int, default=1, minimum=1),
        "pics": Field(str, default=None, help="the DUT's PICS file (relative to this bench config): "
                                              "`benchctl run` runs the plan it gives"),
        "csms": Schema({
            "host": Field(str, default="127.0.0.1", help="address benchctl's Central System listens on"),
            "port": Field(int, default=9000, minimum=0, maximum=65535, help="0 picks a free port"),
            "path": Field(str, default="/ocpp"),
            "security_profile": Field(int, default=0, choices=(0, 1, 2, 3),
                                      help="the OCPP security profile the station is commissioned with (0: plain ws:// "
                                           "without credentials); between cases the station is brought back to it"),
            "tls_port": Field(int, default=None, minimum=0, maximum=65535,
                              help="port of the wss:// listener for profiles 2 and 3, with the run's test PKI "
                                   "(0 picks a free port); absent: no TLS"),
            "authorization_key": Field(str, default="", check=_authorization_key_format,
                                       help="the station's AuthorizationKey (hexadecimal, 16 to 20 bytes): its HTTP "
                                            "Basic password for profiles 1 and 2"),
            "authorization_keys": Schema(values=Field(str, required=True, check=_authorization_key_format),
                                         help="charge point id -> its own AuthorizationKey, for ids whose password "
                                              "is not authorization_key (the dut's own id included)"),
            "max_frame_bytes": Field(int, default=DEFAULT_MAX_FRAME_BYTES, minimum=1 << 16, maximum=1 << 30,
                                     help="the largest WebSocket message the Central System takes from a charger; "
                                          "a larger one closes the connection with 1009 and ends the case as ERROR"),
        }),
    }, required=True),
    "values": VALUES_SCHEMA,
    "cards": Schema(values=Field(str), help="idTag -> card UID for tags that are not a UID themselves"),
    "roles": Schema(values=Field(dict), required=True),
})


@dataclass
class RoleConfig:
    name: str
    driver: str
    settings: dict[str, Any]
    line: int | None
    setting_lines: dict[str, int | None] = field(default_factory=dict)


@dataclass
class BenchConfig:
    file: str
    name: str
    description: str
    simulator: SimSettings | None
    charge_point_id: str
    connectors: int
    csms_host: str
    csms_port: int
    csms_path: str
    values: dict[str, Any]
    cards: dict[str, str]
    roles: dict[str, RoleConfig] = field(default_factory=dict)
    pics: str | None = None  # path of the DUT's PICS file, resolved against the bench file
    # the OCPP security profile the station is commissioned with, the wss:// port (None: no TLS) and its password
    security_profile: int = 0
    tls_port: int | None = None
    authorization_key: str = ""  # the dut's own (its entry of authorization_keys when it has one)
    authorization_keys: dict[str, str] = field(default_factory=dict)  # other charge point ids' own passwords
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES


def _validate_role(doc: MarkedDoc, name: str, raw: dict[str, Any]) -> RoleConfig:
    path: tuple[str | int, ...] = ("roles", name)
    kind = role_kind(name)
    if not isinstance(raw, dict):
        raise doc.error(path, f"expected a mapping with 'driver' and its settings, got {raw!r}")
    if "driver" not in raw:
        raise doc.error(path, f"missing required key 'driver' (drivers for this role: "
                              f"{', '.join(driver_names_for(kind)) or 'none yet'})")
    driver = raw["driver"]
    spec = DRIVERS.get(driver) if isinstance(driver, str) else None
    if spec is None:
        hint = did_you_mean(driver, DRIVERS) if isinstance(driver, str) else ""
        raise doc.error(path + ("driver",), f"unknown driver {driver!r}{hint}; known drivers: "
                                            f"{', '.join(sorted(DRIVERS))}")
    if spec.kind != kind:
        raise doc.error(path + ("driver",), f"role '{name}' needs {KIND_NAMES[kind]}, but {driver} is "
                                            f"{KIND_NAMES[spec.kind]} (use one of: {', '.join(driver_names_for(kind))})")
    settings = validate(doc, Schema(dict(spec.settings)), {k: v for k, v in raw.items() if k != "driver"}, path)
    if spec.check is not None and (problem := spec.check(settings)) is not None:
        key, message = problem
        if key in raw:
            raise doc.error(path + (key,), f"{key}: {message}")
        raise doc.error(path, f"missing key '{key}': {message}")
    lines = {key: doc.line(path + (key,)) for key in settings}
    return RoleConfig(name, driver, settings, doc.line(path), lines)


def load_bench(path: str | Path) -> BenchConfig:
    """Load and validate a bench config; every problem of the file is reported, each a ConfigError naming file,
    line and field (several: ConfigErrors). The checks across sections run once the sections are valid."""
    doc = load_marked(path)
    data = validate(doc, BENCH_SCHEMA)
    errors = Collector()
    sim = None
    if data["simulator"] is not None:
        with errors:
            sim = _simulator(doc, data["simulator"])
    roles = {}
    for name, raw in data["roles"].items():
        with errors:
            roles[name] = _validate_role(doc, name, raw)
    for required in REQUIRED_ROLES:
        if required not in data["roles"]:
            errors.add(doc.error(("roles",), f"missing role '{required}' ({KIND_NAMES[role_kind(required)]}); "
                                             f"every bench needs it"))
    if sim is not None and "ev" in roles:
        with errors:
            _check_plug(doc, sim, roles["ev"])
    dut, csms = data["dut"], data["dut"]["csms"]
    if sim is not None and sim.station.connectors != dut["connectors"]:
        errors.add(doc.error(("dut", "connectors"), f"dut.connectors is {dut['connectors']} but the simulated "
                                                    f"station has {sim.station.connectors} "
                                                    f"(simulator.station.connectors)"))
    if data["values"]["connector_id"] > dut["connectors"]:
        errors.add(doc.error(("values", "connector_id"), f"connector {data['values']['connector_id']} does not "
                                                         f"exist; dut.connectors is {dut['connectors']}"))
    problem = charge_point_id_problem(dut["charge_point_id"])
    if problem is not None:  # the Central System would refuse every connection of it at the handshake
        errors.add(doc.error(("dut", "charge_point_id"), problem))
    with errors:
        _check_security(doc, csms, dut["charge_point_id"])
    keys = {str(cp): key.upper() for cp, key in csms["authorization_keys"].items()}
    pics = None
    if dut["pics"] is not None:
        pics_path = Path(path).parent / dut["pics"]
        if not pics_path.is_file():
            errors.add(doc.error(("dut", "pics"), f"PICS file {pics_path} does not exist"))
        pics = str(pics_path.resolve())
    errors.raise_any()
    if not data["values"]["charge_point_serial_number"]:
        data["values"]["charge_point_serial_number"] = dut["charge_point_id"]
    return BenchConfig(
        file=str(path), name=data["bench"]["name"], description=data["bench"]["description"], simulator=sim,
        charge_point_id=dut["charge_point_id"], connectors=dut["connectors"], csms_host=csms["host"],
        csms_port=csms["port"], csms_path=csms["path"], values=data["values"], cards=data["cards"], roles=roles,
        pics=pics, security_profile=csms["security_profile"], tls_port=csms["tls_port"],
        authorization_key=keys.get(dut["charge_point_id"], csms["authorization_key"].upper()), authorization_keys=keys,
        max_frame_bytes=csms["max_frame_bytes"])


def _simulator(doc: MarkedDoc, raw: dict[str, Any]) -> SimSettings:
    sim = SimSettings.from_validated(validate(doc, SIMULATOR_SCHEMA, raw, ("simulator",)))
    if sim.station.mode_1_2_only and sim.station.fixed_cable:
        raise doc.error(("simulator", "station", "mode_1_2_only"),
                        "a Mode 1/2-only station has a socket: set fixed_cable: false")
    if sim.station.plug == "type1" and not sim.station.fixed_cable:
        raise doc.error(("simulator", "station", "plug"),
                        "a Type 1 (SAE J1772) coupler is always on the station's own cable: set fixed_cable: true")
    return sim


def _check_plug(doc: MarkedDoc, sim: SimSettings, ev: RoleConfig) -> None:
    """The EV emulator's plug is the simulated station's: a Type 1 coupler on one side and not the other cannot
    mate."""
    plug = ev.settings.get("plug", "type2")
    if (plug == "type1") != (sim.station.plug == "type1"):
        path = ("roles", "ev", "plug") if ("roles", "ev", "plug") in doc.lines else ("simulator", "station", "plug")
        raise doc.error(path, f"the EV emulator's plug is {plug} but the simulated station's is {sim.station.plug} "
                              f"(simulator.station.plug): a Type 1 coupler mates with a Type 1 inlet only")
    if plug == "tethered" and not sim.station.fixed_cable:
        raise doc.error(("roles", "ev", "plug"), "the EV emulator takes the station's tethered cable, but the simulated "
                                                 "station has a socket (simulator.station.fixed_cable: false)")


def _check_security(doc: MarkedDoc, csms: dict[str, Any], charge_point_id: str) -> None:
    """What the commissioned profile needs: a password for Basic authentication, a TLS listener for 2 and 3."""
    profile = csms["security_profile"]
    for cp_id in csms["authorization_keys"]:
        problem = charge_point_id_problem(str(cp_id))
        if problem is not None:
            raise doc.error(("dut", "csms", "authorization_keys", cp_id), problem)
    if profile in (1, 2) and not {str(k): v for k, v in csms["authorization_keys"].items()}.get(
            charge_point_id, csms["authorization_key"]):
        raise doc.error(("dut", "csms", "security_profile"), f"security profile {profile} authenticates the station "
                                                             f"with HTTP Basic: give dut.csms.authorization_key")
    if profile >= 2 and csms["tls_port"] is None:
        raise doc.error(("dut", "csms", "security_profile"), f"security profile {profile} uses TLS: give "
                                                             f"dut.csms.tls_port (0 picks a free port)")
    if csms["tls_port"] is not None and csms["tls_port"] != 0 and csms["tls_port"] == csms["port"]:
        raise doc.error(("dut", "csms", "tls_port"), "the wss:// listener needs a port of its own (not dut.csms.port)")


def resolve_refs(role: RoleConfig, endpoints: dict[str, Any], file: str) -> dict[str, Any]:
    """Replace `${sim.<gear>.<field>}` references in a role's settings with the simulator's endpoints."""
    spec = DRIVERS[role.driver]
    out = {}
    for key, value in role.settings.items():
        if isinstance(value, str) and value.startswith("${"):
            name = value[2:-1]
            if name not in endpoints:
                raise ConfigError(file, role.setting_lines.get(key, role.line), f"roles.{role.name}.{key}",
                                  f"unknown reference {value}{did_you_mean(name, endpoints)}; available: "
                                  f"{', '.join(sorted(endpoints)) or 'none (no simulator)'}")
            setting = spec.settings[key]
            assert isinstance(setting, Field), "a ${...} reference is only accepted by a plain setting"
            value = check_value(setting, endpoints[name],
                                lambda m: ConfigError(file, role.setting_lines.get(key, role.line),
                                                      f"roles.{role.name}.{key}", m))
        out[key] = value
    return out
