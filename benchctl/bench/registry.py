"""Which driver names a bench config may use, what settings each takes, and how to build it.

Driver classes are imported only when a bench uses them, so a plain install works on any Linux machine and
hardware libraries (GPIO) are needed only on the bench that has that hardware.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

from benchctl.config.schema import Field, Schema

from .software import software_specs

from drivers.base import Driver
from drivers.steplog import StepLog

# The kind of gear each well-known role name must be; any other role name is a digital output (relay).
ROLE_KINDS = {"ev": "ev_emulator", "card": "rfid", "modem": "dongle", "meter": "meter"}
KIND_NAMES = {"ev_emulator": "an EV emulator", "rfid": "an RFID presenter", "dongle": "a dongle",
              "meter": "an energy meter", "digital_output": "a digital output (relay)"}


def role_kind(role: str) -> str:
    return ROLE_KINDS.get(role, "digital_output")


@dataclass(frozen=True)
class DriverSpec:
    name: str
    kind: str
    target: str  # "module:Class", imported lazily
    settings: dict[str, Field | Schema]
    help: str
    prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    extra: str | None = None  # the pyproject extra holding its hardware library
    # settings that only make sense together: (setting, message) for what is missing or misplaced, else None
    check: Callable[[dict[str, Any]], tuple[str, str] | None] | None = None

    def build(self, role: str, settings: dict[str, Any], steplog: StepLog) -> Driver:
        module_name, class_name = self.target.split(":")
        cls = getattr(importlib.import_module(module_name), class_name)
        kwargs = self.prepare(dict(settings)) if self.prepare else dict(settings)
        return cls(role=role, steplog=steplog, **kwargs)


def _modbus_ev_prepare(settings: dict[str, Any]) -> dict[str, Any]:
    from drivers.evse_tester.register_map import RegisterMap

    registers = settings.pop("registers")
    settings["register_map"] = RegisterMap.from_dict(registers) if registers else None
    return settings


def _modbus_meter_prepare(settings: dict[str, Any]) -> dict[str, Any]:
    from drivers.meter.modbus_meter import PRESETS, MeterRegisterMap

    base = PRESETS[settings.pop("map")]
    registers = settings.pop("registers")
    settings["register_map"] = MeterRegisterMap.from_dict(registers, base) if registers else base
    return settings


def _modbus_transport_check(settings: dict[str, Any]) -> tuple[str, str] | None:
    from drivers.modbus_transport import missing_transport_setting

    return missing_transport_setting(settings)


_MODBUS_LINK = {
    "transport": Field(str, default="tcp", choices=("tcp", "rtu-over-tcp", "rtu-serial"),
                       help="tcp: Modbus TCP; rtu-over-tcp: RTU frames through a TCP to RS-485 converter; "
                            "rtu-serial: RTU on a serial port (RS-485 adapter)"),
    "host": Field(str, default=None, refs=True, help="IP address or host name (tcp, rtu-over-tcp)"),
    "port": Field(int, default=502, refs=True, minimum=0, maximum=65535, help="TCP port (tcp, rtu-over-tcp)"),
    "serial_port": Field(str, default=None, refs=True, help="serial device for rtu-serial, e.g. /dev/ttyUSB0"),
    "baudrate": Field(int, default=9600, minimum=300, maximum=921600, help="rtu-serial only"),
    "parity": Field(str, default="N", choices=("N", "E", "O"), help="rtu-serial only: none, even, odd"),
    "stopbits": Field(int, default=1, choices=(1, 2), help="rtu-serial only"),
    "device_id": Field(int, default=1, minimum=0, maximum=247),
    "timeout_s": Field(float, default=1.0, minimum=0.01),
    "retries": Field(int, default=3, minimum=1, maximum=10),
}

def _e3372_at_prepare(settings: dict[str, Any]) -> dict[str, Any]:
    ports = settings.pop("ports")
    if ports and settings.get("port"):
        raise ValueError("give port or ports, not both")
    if ports:
        settings["port"] = list(ports)
    elif not settings.get("port"):
        raise ValueError("give port (the AT port) or ports (candidates probed with AT)")
    return settings


_PP_RATINGS = (13, 20, 32, 63)

_PLUG = Field(str, default="type2", choices=("type1", "type2", "tethered"),
              help="the tester plug: type2 (a tester cable in the station's socket, PP resistor by cable rating), "
                   "tethered (the station's own Type 2 cable in the emulator's inlet) or type1 (the station's SAE "
                   "J1772 coupler: the unplug action presses its latch first)")


def _gpio_ev_check(settings: dict[str, Any]) -> tuple[str, str] | None:
    from drivers.evse_tester.proximity import fit_problem

    pp = bool(settings.get("pp_pins")) or settings.get("pp_rating_a") is not None
    problem = fit_problem(settings["plug"], pp, settings.get("latch_pin") is not None)
    if problem is None:
        return None
    key = "latch_pin" if "latch" in problem else ("pp_rating_a" if settings.get("pp_rating_a") is not None
                                                  else "pp_pins")
    return key, problem


def _check_pp_pins(value: dict[Any, Any]) -> str | None:
    # the config loader keeps mapping keys as written: "32", not 32 (the driver takes either)
    for rating, pin in value.items():
        if str(rating).strip() not in {str(r) for r in _PP_RATINGS}:
            return f"{rating!r} is not a Type 2 cable rating (13, 20, 32 or 63)"
        if isinstance(pin, bool) or not isinstance(pin, int) or not 0 <= pin <= 27:
            return f"the pin for {rating} A must be a BCM GPIO number 0..27, not {pin!r}"
    return None


_BCM: dict[str, Any] = {"minimum": 0, "maximum": 27}
_GPIO_PINS = {
    "pins": Field(str, default="rpi", choices=("rpi", "fake"),
                  help="rpi: the Raspberry Pi's header; fake: the in-process fake pins (tests, simulator)"),
    "chip": Field(str, default="default", help="which fake chip (pins: fake only)"),
}

_LINK_ENDPOINT = Field(str, default=None, refs=True,
                       help="host:port of the link endpoint measured through the dongle")


def _carousel_cards(value: dict[Any, Any]) -> str | None:
    from drivers.rfid.carousel import check_cards

    return check_cards(value)


def _mqtt_topic_part(value: str) -> str | None:
    if not value or any(c in value for c in "+#") or value.startswith("/") or value.endswith("/"):
        return "must be a device topic without '+', '#' or a leading/trailing '/'"
    return None


DRIVERS: dict[str, DriverSpec] = {s.name: s for s in [
    DriverSpec(
        "modbus_ev", "ev_emulator", "drivers.evse_tester.modbus:ModbusEVEmulator",
        {**_MODBUS_LINK,
         "registers": Field(dict, default=None, help="register addresses overriding the default map"),
         "standard": Field(str, default="iec", choices=("iec", "sae")),
         "plug": _PLUG},
        "EV emulator over Modbus TCP or RTU", prepare=_modbus_ev_prepare, check=_modbus_transport_check),
    DriverSpec(
        "serial_ev", "ev_emulator", "drivers.evse_tester.serial_ev:SerialEVEmulator",
        {"port": Field(str, required=True, refs=True,
                       help="serial device, e.g. /dev/serial/by-id/usb-Arduino_...-if00"),
         "baudrate": Field(int, default=115200, minimum=1200),
         "timeout_s": Field(float, default=1.0, minimum=0.01),
         "retries": Field(int, default=2, minimum=0, maximum=10),
         "standard": Field(str, default="iec", choices=("iec", "sae")),
         "plug": _PLUG},
        "open-hardware EV emulator board (Arduino style) on a serial port; see docs/serial-ev-emulator.md"),
    DriverSpec(
        "chameleon", "rfid", "drivers.rfid.chameleon:ChameleonPresenter",
        {"port": Field(str, required=True, refs=True, help="serial device, e.g. /dev/ttyACM0"),
         "baudrate": Field(int, default=115200, minimum=1200),
         "timeout_s": Field(float, default=1.0, minimum=0.01),
         "retries": Field(int, default=2, minimum=1, maximum=10)},
        "ChameleonMini-style programmable card emulator on a serial port"),
    DriverSpec(
        "proxmark3", "rfid", "drivers.rfid.proxmark3:Proxmark3Presenter",
        {"port": Field(str, required=True, refs=True,
                       help="the Proxmark3's device, e.g. /dev/ttyACM0 (or tcp:host:port, bt:...)"),
         "client": Field(str, default="pm3", refs=True,
                         help="the Proxmark3 client (Iceman/RRG): pm3, proxmark3 or a path, with options if any"),
         "timeout_s": Field(float, default=5.0, minimum=0.1,
                            help="how long one client run may take to open the device and answer"),
         "stop_grace_s": Field(float, default=1.0, minimum=0.05,
                               help="wait after SIGINT (then SIGTERM) before the next signal")},
        "Proxmark3 (Iceman firmware) emulating the card, through its command-line client"),
    DriverSpec(
        "carousel", "rfid", "drivers.rfid.carousel:CardCarousel",
        {"cards": Field(dict, required=True, check=_carousel_cards,
                        help="card UID (hex, quoted) -> role of the digital output the card sits on"),
         "swap_gap_s": Field(float, default=0.0, minimum=0.0,
                             help="time with no card in the field between two cards")},
        "real cards, one per relay channel (actuator or antenna relay), switched one at a time"),
    DriverSpec(
        "modbus_coil", "digital_output", "drivers.relay.modbus_coil:ModbusCoilOutput",
        {**_MODBUS_LINK,
         "coil": Field(int, required=True, minimum=0, maximum=65535),
         "invert": Field(bool, default=False),
         "safe_level": Field(bool, default=False, help="logical level in the safe state"),
         "watchdog_s": Field(float, default=0.0, minimum=0,
                             help="arm the board's communication watchdog: with no request for this long it "
                                  "switches its outputs off (0: not armed; docs/unattended.md)"),
         "watchdog_register": Field(int, default=4096, minimum=0, maximum=65535,
                                    help="holding register of the watchdog time in 100 ms ticks")},
        "one coil of a Modbus relay board", check=_modbus_transport_check),
    DriverSpec(
        "modbus_meter", "meter", "drivers.meter.modbus_meter:ModbusEnergyMeter",
        {**_MODBUS_LINK,
         "map": Field(str, default="sdm630", choices=("sdm630",), help="register layout preset"),
         "registers": Field(dict, default=None, help="map entries overriding the preset (docs/energy-meter.md)"),
         "word_order": Field(str, default=None, choices=("big", "little"),
                             help="order of the two registers of a float, overriding the map's")},
        "reference energy meter over Modbus (IEEE-754 float registers)", prepare=_modbus_meter_prepare,
        check=_modbus_transport_check),
    DriverSpec(
        "mqtt_relay", "digital_output", "drivers.relay.mqtt:MQTTOutput",
        {"host": Field(str, required=True, refs=True, help="IP address or host name of the MQTT broker"),
         "port": Field(int, default=1883, refs=True, minimum=1, maximum=65535),
         "device": Field(str, required=True, check=_mqtt_topic_part,
                         help="Tasmota topic, Shelly Gen1 id (shellyplug-s-AABBCC) or Shelly Gen2 topic prefix"),
         "channel": Field(int, default=0, minimum=0, maximum=31,
                          help="relay index on the device from 0 (Tasmota POWER<channel+1>)"),
         "flavour": Field(str, default="tasmota", choices=("tasmota", "shelly_gen1", "shelly_gen2")),
         "username": Field(str, default=None),
         "password": Field(str, default=None),
         "tls_ca": Field(str, default=None, help="CA certificate (PEM) to use TLS, usually port 8883"),
         "invert": Field(bool, default=False),
         "safe_level": Field(bool, default=False, help="logical level in the safe state"),
         "timeout_s": Field(float, default=2.0, minimum=0.01),
         "retries": Field(int, default=2, minimum=1, maximum=10)},
        "one relay channel of a Tasmota or Shelly device over MQTT"),
    DriverSpec(
        "e3372_at", "dongle", "drivers.dongle.e3372_at:E3372ATDongle",
        {"port": Field(str, default=None, refs=True, help="AT serial device, e.g. /dev/ttyUSB0"),
         "ports": Field(list, default=None, refs=True, items=Field(str),
                        help="candidate serial devices; the first answering AT with OK is used"),
         "baudrate": Field(int, default=115200, minimum=1200),
         "timeout_s": Field(float, default=2.0, minimum=0.01),
         "retries": Field(int, default=2, minimum=0, maximum=10),
         "link_endpoint": _LINK_ENDPOINT},
        "Huawei E3372h in stick mode: AT commands on a serial port", prepare=_e3372_at_prepare),
    DriverSpec(
        "hilink", "dongle", "drivers.dongle.hilink:HiLinkDongle",
        {"host": Field(str, default="192.168.8.1", refs=True, help="the stick's web address"),
         "port": Field(int, default=80, refs=True, minimum=1, maximum=65535),
         "timeout_s": Field(float, default=3.0, minimum=0.01),
         "retries": Field(int, default=2, minimum=0, maximum=10),
         "link_endpoint": _LINK_ENDPOINT},
        "Huawei E3372h in HiLink mode: the stick's HTTP API"),
    DriverSpec(
        "gpio_ev", "ev_emulator", "drivers.evse_tester.gpio:GPIOEVEmulator",
        {"plug_pin": Field(int, required=True, **_BCM, help="BCM pin of the plug relay"),
         "state_b_pin": Field(int, required=True, **_BCM, help="BCM pin of the 2.74 kΩ relay (state B)"),
         "state_c_pin": Field(int, required=True, **_BCM, help="BCM pin of the 1.3 kΩ relay (state C)"),
         "state_d_pin": Field(int, default=None, **_BCM, help="BCM pin of the 270 Ω relay (state D)"),
         "state_e_pin": Field(int, default=None, **_BCM, help="BCM pin of the CP-to-PE relay (state E)"),
         "diode_fault_pin": Field(int, default=None, **_BCM, help="BCM pin of the relay shorting the CP diode"),
         "pp_pins": Field(dict, default=None, check=_check_pp_pins,
                          help="cable rating (A) -> BCM pin of the relay of its PP resistor"),
         "pp_rating_a": Field(int, default=None, choices=_PP_RATINGS, help="PP resistor selected at connect"),
         "latch_pin": Field(int, default=None, **_BCM,
                            help="BCM pin of the actuator pressing the Type 1 coupler's latch release (plug: type1)"),
         "plug": _PLUG,
         "invert": Field(bool, default=False, help="a low pin closes a relay (active-low board)"),
         **_GPIO_PINS},
        "EV emulator made of relays on Raspberry Pi GPIO pins (switches CP/PP resistors, cannot measure)",
        extra="gpio", check=_gpio_ev_check),
    DriverSpec(
        "gpio_relay", "digital_output", "drivers.relay.gpio:GPIOOutput",
        {"pin": Field(int, required=True, **_BCM, help="BCM GPIO number (GPIO17 is header pin 11)"),
         "invert": Field(bool, default=False),
         "safe_level": Field(bool, default=False, help="logical level in the safe state"),
         "min_on_s": Field(float, default=0.0, minimum=0.0, help="an on level lasts at least this long"),
         "min_off_s": Field(float, default=0.0, minimum=0.0, help="an off level lasts at least this long"),
         **_GPIO_PINS},
        "one relay on a Raspberry Pi GPIO pin", extra="gpio"),
    *software_specs(DriverSpec),
]}


def driver_names_for(kind: str) -> list[str]:
    return sorted(n for n, s in DRIVERS.items() if s.kind == kind)
