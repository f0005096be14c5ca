"""A tiny pin layer: set a GPIO up as an output, write it, read it back, release it.

Two implementations:

- `RPiGPIOPins` drives the header of the Raspberry Pi the bench runs on, through the RPi.GPIO API (BCM
  numbering). On a Raspberry Pi 5 the `rpi-lgpio` package provides that module; on older Pis either works.
  It is imported only when the layer is constructed, so a plain install runs anywhere.
- `FakePins` keeps the levels in memory, records every write with a monotonic timestamp, can call back on
  every write (the simulator wires pins to the World that way) and can be told to fail (`broken_pins`). It
  is the only faked layer in the project: the GPIO drivers above it are the real code.

Levels here are *raw* pin levels (True = 3.3 V); inversion and safe levels belong to the drivers.

Releasing a pin (`cleanup`) makes it an input with no pull: what the relay behind it does from then on is
decided by the relay board's own pull resistor, exactly as when the controller dies. See docs/gpio-bench.md.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Protocol, runtime_checkable

from ..errors import MissingExtraError

# BCM GPIO numbers on the 40-pin header (GPIO0/1 are the HAT EEPROM bus, usable but best avoided).
BCM_PINS = range(0, 28)

WriteCallback = Callable[[int, bool], None]


def check_pin(name: str, value: object) -> int:
    """The BCM number `value`, or ValueError naming the setting and the value."""
    if isinstance(value, bool) or not isinstance(value, int) or value not in BCM_PINS:
        raise ValueError(
            f"{name} must be a BCM GPIO number {BCM_PINS.start}..{BCM_PINS.stop - 1} "
            f"(GPIO17 is header pin 11), not {value!r}"
        )
    return value


@runtime_checkable
class PinLayer(Protocol):
    """What the GPIO drivers need from the pins. `key` names the hardware, so two layers on the same pins agree."""

    key: str

    def setup_output(self, pin: int, initial: bool) -> None:
        """Make `pin` an output, driven to `initial` from the first moment."""

    def write(self, pin: int, level: bool) -> None:
        """Drive an output pin high (True) or low (False)."""

    def read(self, pin: int) -> bool:
        """The level of a pin set up by `setup_output` (for an output: the level it is driven to)."""

    def cleanup(self, pins: Iterable[int]) -> None:
        """Release these pins (inputs, no pull); never touches other pins."""


class RPiGPIOPins:
    """The Raspberry Pi's own GPIO through RPi.GPIO (rpi-lgpio on a Pi 5), BCM numbering, warnings off.

    Construction imports the library (MissingExtraError when it is not installed); the GPIO chip itself is
    opened on the first `setup_output`, so a permission problem is reported when a driver connects.
    """

    key = "rpi"

    def __init__(self) -> None:
        try:
            import RPi.GPIO as gpio  # type: ignore[import-not-found]  # the `gpio` extra
        except ImportError as exc:
            raise MissingExtraError("RPi.GPIO (rpi-lgpio on a Raspberry Pi 5)", "gpio") from exc
        except RuntimeError as exc:
            # both RPi.GPIO and rpi-lgpio refuse to import on a machine that is not a Raspberry Pi
            raise RuntimeError(
                f"RPi.GPIO is installed but does not load here ({exc}); the GPIO backends need a Raspberry Pi"
            ) from exc
        self._gpio: Any = gpio
        self._ready = False

    def _init(self) -> Any:
        if not self._ready:
            self._gpio.setwarnings(False)
            # ValueError if something else in this process chose BOARD numbering: our pin numbers would be wrong
            self._gpio.setmode(self._gpio.BCM)
            self._ready = True
        return self._gpio

    def setup_output(self, pin: int, initial: bool) -> None:
        gpio = self._init()
        gpio.setup(pin, gpio.OUT, initial=gpio.HIGH if initial else gpio.LOW)

    def write(self, pin: int, level: bool) -> None:
        gpio = self._init()
        gpio.output(pin, gpio.HIGH if level else gpio.LOW)

    def read(self, pin: int) -> bool:
        # RPi.GPIO reads an output pin as the level it drives
        return bool(self._init().input(pin))

    def cleanup(self, pins: Iterable[int]) -> None:
        pins = list(pins)
        if pins:  # GPIO.cleanup() with no argument would release every pin of the process, not just ours
            self._init().cleanup(pins)


@dataclass(frozen=True)
class PinWrite:
    """One change of a fake pin: `kind` is "setup", "write" or "release"; `at` is time.monotonic()."""

    pin: int
    level: bool
    at: float
    kind: str = "write"


class FakePins:
    """In-memory pins for tests and the simulator.

    - `writes`: every setup, write and release, in order, with its monotonic timestamp;
    - `on_write(pin, level)`: called after every level change a driver makes, releases included;
    - `broken_pins`: any call touching one of these raises RuntimeError (as RPi.GPIO does on a failed call);
    - `released_level`: the level a released pin settles at (False: a relay board with pull-downs).

    Like RPi.GPIO, writing or reading a pin that is not set up as an output is an error.
    """

    def __init__(
        self,
        chip: str = "default",
        on_write: WriteCallback | None = None,
        broken_pins: Iterable[int] = (),
        released_level: bool = False,
    ) -> None:
        self.chip = chip
        self.key = f"fake:{chip}"
        self.on_write = on_write
        self.broken_pins: set[int] = set(broken_pins)
        self.released_level = released_level
        self.writes: list[PinWrite] = []
        self.outputs: set[int] = set()
        self._levels: dict[int, bool] = {}

    # the pin layer

    def setup_output(self, pin: int, initial: bool) -> None:
        self._check(pin)
        self.outputs.add(pin)
        self._set(pin, bool(initial), "setup")

    def write(self, pin: int, level: bool) -> None:
        self._check(pin)
        if pin not in self.outputs:
            raise RuntimeError(f"GPIO{pin} has not been set up as an output")
        self._set(pin, bool(level), "write")

    def read(self, pin: int) -> bool:
        self._check(pin)
        if pin not in self.outputs:
            raise RuntimeError(f"GPIO{pin} has not been set up; call setup first")
        return self._levels[pin]

    def cleanup(self, pins: Iterable[int]) -> None:
        for pin in list(pins):
            self._check(pin)
            if pin in self.outputs:
                self.outputs.discard(pin)
                self._set(pin, self.released_level, "release")

    # for tests and the simulator

    def level(self, pin: int) -> bool | None:
        """The level a pin is at (driven or released), None if it was never touched; never fails."""
        return self._levels.get(pin)

    def history(self, pin: int) -> list[PinWrite]:
        return [w for w in self.writes if w.pin == pin]

    def reset(self) -> None:
        """Forget every pin, write, fault and callback."""
        self.writes.clear()
        self.outputs.clear()
        self._levels.clear()
        self.broken_pins.clear()
        self.on_write = None

    def _check(self, pin: int) -> None:
        if pin in self.broken_pins:
            raise RuntimeError(f"GPIO{pin} does not respond (injected fault)")

    def _set(self, pin: int, level: bool, kind: str) -> None:
        self._levels[pin] = level
        self.writes.append(PinWrite(pin, level, time.monotonic(), kind))
        if self.on_write is not None:
            self.on_write(pin, level)


_lock = threading.Lock()
_fake_chips: dict[str, FakePins] = {}
# (layer key, pin) -> (owner token, owner label): two drivers must never drive one relay
_claims: dict[tuple[str, int], tuple[int, str]] = {}


def fake_pins(chip: str = "default") -> FakePins:
    """The process-wide FakePins for `chip`, created on first use, so a test and a driver see the same pins."""
    with _lock:
        if chip not in _fake_chips:
            _fake_chips[chip] = FakePins(chip)
        return _fake_chips[chip]


def reset_fake_pins(chip: str | None = None) -> None:
    """Forget one fake chip (or all of them) and the pin claims on it."""
    with _lock:
        chips = [chip] if chip is not None else list(_fake_chips)
        for name in chips:
            _fake_chips.pop(name, None)
            for key in [k for k in _claims if k[0] == f"fake:{name}"]:
                del _claims[key]


PIN_LAYERS = ("rpi", "fake")


def pin_layer(name: str, chip: str = "default") -> PinLayer:
    """"rpi": the Pi's own GPIO (`chip` is not used: rpi-lgpio finds the GPIO chip itself); "fake": the
    shared FakePins of `chip`."""
    if name == "rpi":
        return RPiGPIOPins()
    if name == "fake":
        return fake_pins(chip)
    raise ValueError(f"pins must be one of {', '.join(PIN_LAYERS)}, not {name!r}")


def claim_pins(layer: PinLayer, pins: Iterable[int], owner: object, label: str) -> None:
    """Reserve pins for one driver; ValueError naming the holder when another driver already has one."""
    wanted = [(layer.key, pin) for pin in pins]
    with _lock:
        for key in wanted:
            held = _claims.get(key)
            if held is not None and held[0] != id(owner):
                raise ValueError(f"BCM{key[1]} is already used by {held[1]}")
        for key in wanted:
            _claims[key] = (id(owner), label)


def release_pins(layer: PinLayer, pins: Iterable[int], owner: object) -> None:
    """Give back pins claimed by `owner` (others' claims are left alone)."""
    with _lock:
        for pin in pins:
            key = (layer.key, pin)
            if key in _claims and _claims[key][0] == id(owner):
                del _claims[key]
