"""The settings of the EV emulators without a Modbus link (the Modbus one declares its own beside it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from benchctl.config.typed import setting

from ..gpio.settings import BCM, PinLayerSettings
from ..retry import retries_setting, timeout_setting

PP_RATINGS = (13, 20, 32, 63)
PLUGS = ("type1", "type2", "tethered")  # proximity.PLUGS (not imported: hil_sim shares proximity, not settings)


@dataclass(kw_only=True)
class PlugSettings:
    """What every EV emulator declares: the plug between the station and the emulator (docs/backends.md)."""

    plug: str = setting(default="type2", choices=PLUGS,
                        help="the tester plug: type2 (a tester cable in the station's socket, PP resistor by cable "
                             "rating), tethered (the station's own Type 2 cable in the emulator's inlet) or type1 "
                             "(the station's SAE J1772 coupler: the unplug action presses its latch first)")


@dataclass(kw_only=True)
class SerialEvSettings(PlugSettings):
    port: str = setting(required=True, refs=True, type=str,
                        help="serial device, e.g. /dev/serial/by-id/usb-Arduino_...-if00")
    baudrate: int = setting(default=115200, minimum=1200)
    timeout_s: float = timeout_setting(1.0, help="how long one command waits for the board's ack")
    retries: int = retries_setting(2)
    standard: str = setting(default="iec", choices=("iec", "sae"))


def _check_pp_pins(value: dict[Any, Any]) -> str | None:
    # the config loader keeps mapping keys as written: "32", not 32 (the driver takes either)
    for rating, pin in value.items():
        if str(rating).strip() not in {str(r) for r in PP_RATINGS}:
            return f"{rating!r} is not a Type 2 cable rating (13, 20, 32 or 63)"
        if isinstance(pin, bool) or not isinstance(pin, int) or not 0 <= pin <= 27:
            return f"the pin for {rating} A must be a BCM GPIO number 0..27, not {pin!r}"
    return None


@dataclass(kw_only=True)
class GpioEvSettings(PlugSettings, PinLayerSettings):
    plug_pin: int = setting(required=True, **BCM, help="BCM pin of the plug relay")
    state_b_pin: int = setting(required=True, **BCM, help="BCM pin of the 2.74 kΩ relay (state B)")
    state_c_pin: int = setting(required=True, **BCM, help="BCM pin of the 1.3 kΩ relay (state C)")
    state_d_pin: int | None = setting(default=None, **BCM, help="BCM pin of the 270 Ω relay (state D)")
    state_e_pin: int | None = setting(default=None, **BCM, help="BCM pin of the CP-to-PE relay (state E)")
    diode_fault_pin: int | None = setting(default=None, **BCM, help="BCM pin of the relay shorting the CP diode")
    pp_pins: dict[Any, int] | None = setting(default=None, check=_check_pp_pins,
                                             help="cable rating (A) -> BCM pin of the relay of its PP resistor")
    pp_rating_a: int | None = setting(default=None, choices=PP_RATINGS, help="PP resistor selected at connect")
    latch_pin: int | None = setting(default=None, **BCM, help="BCM pin of the actuator pressing the Type 1 "
                                                                "coupler's latch release (plug: type1)")
    invert: bool = setting(default=False, help="a low pin closes a relay (active-low board)")
