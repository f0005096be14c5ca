"""The bench config: which gear plays which role, the DUT's connection facts and the configured values.

A YAML file is validated completely on load; the first problem found is raised as a ConfigError that names
the file, the line and the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchctl.config import ConfigError, MarkedDoc, load_marked
from benchctl.config.schema import Field, Schema, check_value, validate
from hil_sim.settings import SIMULATOR_SCHEMA, SimSettings

from .registry import DRIVERS, KIND_NAMES, driver_names_for, role_kind

REQUIRED_ROLES = ("ev",)  # every charging case plugs a cable in

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
                                         "transaction that must not start (TC_041)"),
    "stop_before_power_down_key": Field(str, default="",
                                        help="vendor key that makes a station with backup power stop its "
                                             "transactions before going down (TC_032_1 prerequisite); empty: none "
                                             "needed"),
    "ev_ready_delay_s": Field(float, default=0.5, minimum=0,
                              help="time between EV state B and C after plug-in"),
})

BENCH_SCHEMA = Schema({
    "bench": Schema({
        "name": Field(str, required=True),
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
        raise doc.error(path + ("driver",), f"unknown driver {driver!r}; known drivers: {', '.join(sorted(DRIVERS))}")
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
    doc = load_marked(path)
    data = validate(doc, BENCH_SCHEMA)
    sim = None
    if data["simulator"] is not None:
        sim = SimSettings.from_validated(validate(doc, SIMULATOR_SCHEMA, data["simulator"], ("simulator",)))
    roles = {name: _validate_role(doc, name, raw) for name, raw in data["roles"].items()}
    for required in REQUIRED_ROLES:
        if required not in roles:
            raise doc.error(("roles",), f"missing role '{required}' ({KIND_NAMES[role_kind(required)]}); "
                                        f"every bench needs it")
    dut, csms = data["dut"], data["dut"]["csms"]
    if sim is not None and sim.station.connectors != dut["connectors"]:
        raise doc.error(("dut", "connectors"), f"dut.connectors is {dut['connectors']} but the simulated station "
                                              f"has {sim.station.connectors} (simulator.station.connectors)")
    if data["values"]["connector_id"] > dut["connectors"]:
        raise doc.error(("values", "connector_id"),
                        f"connector {data['values']['connector_id']} does not exist; dut.connectors is {dut['connectors']}")
    pics = None
    if dut["pics"] is not None:
        pics_path = Path(path).parent / dut["pics"]
        if not pics_path.is_file():
            raise doc.error(("dut", "pics"), f"PICS file {pics_path} does not exist")
        pics = str(pics_path.resolve())
    return BenchConfig(
        file=str(path), name=data["bench"]["name"], description=data["bench"]["description"], simulator=sim,
        charge_point_id=dut["charge_point_id"], connectors=dut["connectors"], csms_host=csms["host"],
        csms_port=csms["port"], csms_path=csms["path"], values=data["values"], cards=data["cards"], roles=roles,
        pics=pics)


def resolve_refs(role: RoleConfig, endpoints: dict[str, Any], file: str) -> dict[str, Any]:
    """Replace `${sim.<gear>.<field>}` references in a role's settings with the simulator's endpoints."""
    spec = DRIVERS[role.driver]
    out = {}
    for key, value in role.settings.items():
        if isinstance(value, str) and value.startswith("${"):
            name = value[2:-1]
            if name not in endpoints:
                raise ConfigError(file, role.setting_lines.get(key, role.line), f"roles.{role.name}.{key}",
                                  f"unknown reference {value}; available: {', '.join(sorted(endpoints)) or 'none (no simulator)'}")
            value = check_value(spec.settings[key], endpoints[name],
                                lambda m: ConfigError(file, role.setting_lines.get(key, role.line),
                                                      f"roles.{role.name}.{key}", m))
        out[key] = value
    return out
