"""The bench config: which gear plays which role, the DUT's connection facts and the configured values.

A YAML file is validated completely on load; the first problem found is raised as a ConfigError that names
the file, the line and the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchctl.config import MarkedDoc, load_marked
from benchctl.config.errors import Collector
from benchctl.config.names import unsafe_name
from benchctl.config.schema import Field, Schema, validate
from benchctl.csms.handshake import charge_point_id_problem
from benchctl.csms.security import authorization_key_problem
from benchctl.csms.server import DEFAULT_MAX_FRAME_BYTES
from hil_sim.settings import SIMULATOR_SCHEMA, SimSettings

from .registry import KIND_NAMES, role_kind
from .roles import RoleConfig, validate_role
from .values import VALUES_SCHEMA

REQUIRED_ROLES = ("ev",)  # every charging case plugs a cable in


def _authorization_key_format(value: str) -> str | None:
    return None if value == "" else authorization_key_problem(value)


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
            roles[name] = validate_role(doc, name, raw, Path(path).parent)
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
