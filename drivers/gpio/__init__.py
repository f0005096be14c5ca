"""GPIO pins of the controller itself (a Raspberry Pi), under the relay and EV emulator backends.

`pins.pin_layer("rpi")` drives the real header through RPi.GPIO (rpi-lgpio on a Pi 5, the `gpio` extra);
`pin_layer("fake", chip)` is the in-process stand-in that tests and the simulator share.
"""

from .pins import (
    BCM_PINS,
    PIN_LAYERS,
    FakePins,
    PinLayer,
    PinWrite,
    RPiGPIOPins,
    check_pin,
    claim_pins,
    fake_pins,
    pin_layer,
    release_pins,
    reset_fake_pins,
)

__all__ = [
    "BCM_PINS",
    "PIN_LAYERS",
    "FakePins",
    "PinLayer",
    "PinWrite",
    "RPiGPIOPins",
    "check_pin",
    "claim_pins",
    "fake_pins",
    "pin_layer",
    "release_pins",
    "reset_fake_pins",
]
