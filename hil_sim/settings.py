"""Settings of a simulated bench, as the `simulator:` section of a bench config gives them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from benchctl.config.schema import Field, Schema

from .faults import unknown_faults_message

# OCPP 1.6 feature profiles (section 3 of the spec) as SupportedFeatureProfiles names them
PROFILES = ("Core", "FirmwareManagement", "LocalAuthListManagement", "Reservation", "SmartCharging",
            "RemoteTrigger")


def _profiles_known(names: list[str]) -> str | None:
    unknown = sorted(set(names) - set(PROFILES))
    if unknown:
        return f"unknown feature profile(s) {', '.join(unknown)}; known: {', '.join(PROFILES)}"
    return None if "Core" in names else "Core is not optional: list it"


def _fault_known(name: str) -> str | None:
    return unknown_faults_message([name])


def _fixed_keys_known(keys: dict[str, Any]) -> str | None:
    bad = [k for k, v in keys.items() if not isinstance(k, str) or not isinstance(v, (str, bool, int))]
    return f"fixed_keys: give each key a string, boolean or integer value ({', '.join(map(str, bad))})" if bad else None


def _rate_units_known(units: list[str]) -> str | None:
    return None if units and len(set(units)) == len(units) else "name A, W or both, once each"


def _evses_valid(evses: list[list[int]]) -> str | None:
    ids = [c for evse in evses for c in evse]
    if len(ids) != len(set(ids)) or any(not evse for evse in evses):
        return "each connector belongs to at most one EVSE, and an EVSE has connectors"
    return None


SIMULATOR_SCHEMA = Schema({
    "station": Schema({
        "connectors": Field(int, default=1, minimum=1, maximum=2),
        "fixed_cable": Field(bool, default=True, help="tethered cable: the charger side is always plugged"),
        "plug": Field(str, default="type2", choices=("type1", "type2"),
                      help="the connectors' plug: type2 (IEC 62196-2: a socket whose PP reads the tester cable's "
                           "rating, or a tethered cable) or type1 (SAE J1772: a tethered coupler whose PP reads its "
                           "latch switch S3; needs fixed_cable: true)"),
        "vendor": Field(str, default="benchctl"),
        "model": Field(str, default="hil_sim"),
        "firmware_version": Field(str, default="1.0.0"),
        "boot_delay_s": Field(float, default=0.3, minimum=0),
        "mode_1_2_only": Field(bool, default=False,
                               help="a Mode 1/2-only station (PICS product subtype): a domestic socket outlet without "
                                    "Control Pilot nor lock; it sees the plug and the current, not the CP state, "
                                    "and during a transaction the Mode 2 cable's control box opening when the EV "
                                    "side is unplugged"),
        "rfid_readers": Field(str, default="single", choices=("none", "single", "one_per_evse"),
                              help="as the PICS says: no reader, one reader for every connector, or one per "
                                   "connector (the card presenter stands at the reader of world.card_reader)"),
        "offline_statuses": Field(str, default="current", choices=("current", "replay"),
                                  help="status changes while the link is down: current: not sent, the status "
                                       "of the moment goes out after reconnecting; replay: each is queued with "
                                       "its own timestamp and sent after reconnecting, in order with the "
                                       "transaction messages (both are what OCPP 1.6 allows)"),
        "meter_w": Field(float, default=7400.0, minimum=0, help="power the simulated EV draws when allowed"),
        "same_card_withdraws": Field(bool, default=True,
                                     help="the same card again before a cable is in withdraws the authorization; "
                                          "false: it is ignored and only ConnectionTimeOut ends it (both are "
                                          "allowed, TC_061_CS step 3)"),
        "station_operative_only": Field(bool, default=False,
                                        help="ChangeAvailability(0, Operative) lifts the station's own "
                                             "Inoperative only; a connector set Inoperative by itself stays so "
                                             "(another reading OCPP 1.6 allows)"),
        "energy_register_wh": Field(float, default=0.0, minimum=0,
                                    help="what the energy register (and the reference meter) read at power-on"),
        "backup_power_s": Field(float, default=0.0, minimum=0,
                                help="hold-up time of a backup supply after mains is lost (0: none); with "
                                     "StopTransactionsBeforePowerDown the firmware stops its transactions in it"),
        "profiles": Field(list, default=list(PROFILES), items=Field(str), check=_profiles_known,
                          help="the feature profiles the firmware implements (SupportedFeatureProfiles); a "
                               "request of a profile left out is answered as firmware without it would"),
        "fixed_keys": Field(dict, default={}, check=_fixed_keys_known,
                            help="configuration keys the firmware fixes: key -> value, reported read-only with "
                                 "that value, ChangeConfiguration of them Rejected"),
        "charging_before_start": Field(bool, default=False,
                                       help="report StatusNotification Charging before sending StartTransaction "
                                            "(the test case document's section 1.2 allows either order)"),
        "station_status_last": Field(bool, default=False,
                                     help="at boot, report connectorId 0 (the whole station) after the connectors "
                                          "instead of before them"),
        "charging_rate_units": Field(list, default=["A", "W"], items=Field(str, choices=("A", "W")),
                                     check=_rate_units_known,
                                     help="ChargingScheduleAllowedChargingRateUnit: A (Current), W (Power); a "
                                          "schedule or composite request in a unit left out is Rejected"),
        "local_limit": Field(bool, default=True,
                             help="the station has a local limit (its 32 A maximum) that a composite schedule "
                                  "reports where no profile applies; false: it reports no period there"),
        "evses": Field(list, default=[], items=Field(list, items=Field(int, minimum=1, maximum=2)),
                       check=_evses_valid,
                       help="connectors sharing one power stage, e.g. [[1, 2]]; while one is in use the others "
                            "are Unavailable (default: each connector its own EVSE)"),
        "manufacturer_root": Field(str, default="",
                                   help="PEM file of the manufacturer root certificate installed at production: a "
                                        "SignedUpdateFirmware's signing certificate must chain to it (empty: none "
                                        "installed; a run gives the simulator its own test PKI's)"),
    }),
    "faults": Field(list, default=[], items=Field(str, check=_fault_known)),
    # the simulated hardware as a firmware's simulation API: for software gear (drivers/software)
    "control": Schema({
        "http": Field(bool, default=False, help="serve the REST control surface on loopback: ${sim.control.url}"),
        "mqtt": Schema({
            "host": Field(str, required=True, help="the broker (loopback) the MQTT control surface uses"),
            "port": Field(int, default=1883, minimum=1, maximum=65535),
            "prefix": Field(str, default="hil_sim", help="topic prefix of its commands and state"),
        }, help="present: take commands and publish state over MQTT: ${sim.control.mqtt_host} / _port / _prefix"),
    }),
})


@dataclass
class StationSettings:
    connectors: int = 1
    fixed_cable: bool = True
    plug: str = "type2"  # see SIMULATOR_SCHEMA
    vendor: str = "benchctl"
    model: str = "hil_sim"
    firmware_version: str = "1.0.0"
    boot_delay_s: float = 0.3
    rfid_readers: str = "single"  # see SIMULATOR_SCHEMA
    mode_1_2_only: bool = False
    offline_statuses: str = "current"  # see SIMULATOR_SCHEMA
    meter_w: float = 7400.0
    same_card_withdraws: bool = True  # see SIMULATOR_SCHEMA
    station_operative_only: bool = False  # see SIMULATOR_SCHEMA
    energy_register_wh: float = 0.0
    backup_power_s: float = 0.0
    profiles: list[str] = field(default_factory=lambda: list(PROFILES))
    manufacturer_root: str = ""  # PEM file; see SIMULATOR_SCHEMA
    # implementation choices OCPP 1.6 leaves open (hil_sim/variants.py names combinations of them)
    fixed_keys: dict[str, Any] = field(default_factory=dict)  # key -> value, read-only
    charging_before_start: bool = False
    station_status_last: bool = False
    charging_rate_units: list[str] = field(default_factory=lambda: ["A", "W"])
    local_limit: bool = True
    evses: list[list[int]] = field(default_factory=list)
    # commissioning of the security extension (a run sets these from dut.csms and its test PKI): the profile and
    # AuthorizationKey (hex) the installer sets, and the CentralSystemRootCertificate installed at production
    security_profile: int = 0
    authorization_key: str = ""
    csms_root: str = ""  # PEM file
    serial_number: str = ""  # the commonName of its client certificate requests; empty: the charge point id

    def supports(self, profile: str) -> bool:
        return profile in self.profiles

    def evse_mates(self, connector_id: int) -> list[int]:
        """The other connectors of the EVSE (power stage) this connector belongs to."""
        for evse in self.evses:
            if connector_id in evse:
                return [c for c in evse if c != connector_id and c <= self.connectors]
        return []


@dataclass
class ControlSettings:
    """The control surfaces of the simulated hardware (hil_sim/gear/control_*.py); None: not started."""

    http: bool = False
    mqtt: dict[str, Any] | None = None  # host, port, prefix


@dataclass
class SimSettings:
    station: StationSettings = field(default_factory=StationSettings)
    faults: list[str] = field(default_factory=list)
    control: ControlSettings = field(default_factory=ControlSettings)

    @classmethod
    def from_validated(cls, data: dict[str, Any]) -> "SimSettings":
        control = data.get("control") or {}
        return cls(StationSettings(**data["station"]), list(data["faults"]),
                   ControlSettings(bool(control.get("http")), control.get("mqtt")))
