"""The settings of the relay drivers without a Modbus link (the Modbus coil declares its own beside it)."""

from __future__ import annotations

from dataclasses import dataclass

from benchctl.config.typed import setting

from ..gpio.settings import BCM, PinLayerSettings
from ..retry import retries_setting, timeout_setting


@dataclass(kw_only=True)
class OutputLevelSettings:
    """How a logical level reaches the wire, and which one is safe (drivers/safety.py)."""

    invert: bool = setting(default=False, help="the output is switched the opposite of the logical level "
                                               "(normally-closed or active-low wiring)")
    safe_level: bool = setting(default=False, help="logical level in the safe state")


def _mqtt_topic_part(value: str) -> str | None:
    if not value or any(c in value for c in "+#") or value.startswith("/") or value.endswith("/"):
        return "must be a device topic without '+', '#' or a leading/trailing '/'"
    return None


@dataclass(kw_only=True)
class MqttRelaySettings(OutputLevelSettings):
    host: str = setting(required=True, refs=True, type=str, help="IP address or host name of the MQTT broker")
    port: int | str = setting(default=1883, refs=True, minimum=1, maximum=65535)
    device: str = setting(required=True, check=_mqtt_topic_part,
                          help="Tasmota topic, Shelly Gen1 id (shellyplug-s-AABBCC) or Shelly Gen2 topic prefix")
    channel: int = setting(default=0, minimum=0, maximum=31,
                           help="relay index on the device from 0 (Tasmota POWER<channel+1>)")
    flavour: str = setting(default="tasmota", choices=("tasmota", "shelly_gen1", "shelly_gen2"))
    username: str | None = setting(default=None, type=str)
    password: str | None = setting(default=None, type=str)
    tls_ca: str | None = setting(default=None, type=str, help="CA certificate (PEM) to use TLS, usually port 8883")
    timeout_s: float = timeout_setting(2.0, help="how long one command waits for the device's state report")
    retries: int = retries_setting(1)


@dataclass(kw_only=True)
class GpioRelaySettings(OutputLevelSettings, PinLayerSettings):
    pin: int = setting(required=True, **BCM, help="BCM GPIO number (GPIO17 is header pin 11)")
    min_on_s: float = setting(default=0.0, minimum=0.0, help="an on level lasts at least this long")
    min_off_s: float = setting(default=0.0, minimum=0.0, help="an off level lasts at least this long")
