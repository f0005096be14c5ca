"""Which driver names a bench config may use, what settings each takes, and how to build it.

Driver classes are imported only when a bench uses them, so a plain install works on any Linux machine and
hardware libraries (GPIO) are needed only on the bench that has that hardware.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

from benchctl.config.schema import Field

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
    settings: dict[str, Field]
    help: str
    prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    extra: str | None = None  # the pyproject extra holding its hardware library

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


_MODBUS_LINK = {
    "host": Field(str, required=True, refs=True, help="IP address or host name of the Modbus TCP device"),
    "port": Field(int, default=502, refs=True, minimum=0, maximum=65535),
    "device_id": Field(int, default=1, minimum=0, maximum=247),
    "timeout_s": Field(float, default=1.0, minimum=0.01),
    "retries": Field(int, default=3, minimum=1, maximum=10),
}

def _mqtt_topic_part(value: str) -> str | None:
    if not value or any(c in value for c in "+#") or value.startswith("/") or value.endswith("/"):
        return "must be a device topic without '+', '#' or a leading/trailing '/'"
    return None


DRIVERS: dict[str, DriverSpec] = {s.name: s for s in [
    DriverSpec(
        "modbus_ev", "ev_emulator", "drivers.evse_tester.modbus:ModbusEVEmulator",
        {**_MODBUS_LINK,
         "registers": Field(dict, default=None, help="register addresses overriding the default map"),
         "standard": Field(str, default="iec", choices=("iec", "sae"))},
        "EV emulator over Modbus TCP", prepare=_modbus_ev_prepare),
    DriverSpec(
        "chameleon", "rfid", "drivers.rfid.chameleon:ChameleonPresenter",
        {"port": Field(str, required=True, refs=True, help="serial device, e.g. /dev/ttyACM0"),
         "baudrate": Field(int, default=115200, minimum=1200),
         "timeout_s": Field(float, default=1.0, minimum=0.01),
         "retries": Field(int, default=2, minimum=1, maximum=10)},
        "ChameleonMini-style programmable card emulator on a serial port"),
    DriverSpec(
        "modbus_coil", "digital_output", "drivers.relay.modbus_coil:ModbusCoilOutput",
        {**_MODBUS_LINK,
         "coil": Field(int, required=True, minimum=0, maximum=65535),
         "invert": Field(bool, default=False),
         "safe_level": Field(bool, default=False, help="logical level in the safe state")},
        "one coil of a Modbus relay board"),
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
]}


def driver_names_for(kind: str) -> list[str]:
    return sorted(n for n, s in DRIVERS.items() if s.kind == kind)
