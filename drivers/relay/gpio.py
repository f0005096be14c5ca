"""One relay channel on a GPIO pin of the bench's Raspberry Pi, optionally inverted, with minimum on/off times.

Levels:
    `set(True)` drives the pin to `True != invert`; `invert` and `safe_level` are logical levels, as for the
    Modbus coil backend, so a config says "mains on when safe" whatever the wiring.

Minimum on/off time (relays and contactors must not chatter):
    A level that has lasted less than its minimum is held until it has: `set(False)` right after a
    `set(True)` waits until the output has been on for `min_on_s`, `set(True)` right after `set(False)`
    waits until it has been off for `min_off_s` ("on" and "off" are logical levels). Setting the level the
    output already has never waits and does not restart the clock. The clock starts at `connect()`, because
    the level a pin had before (another process, a reboot) is unknown. `safe_state()` honours the minimums
    too, so it may take up to the longer of them. Calls are serialised: a second `set()` waits for the first.

Lifecycle:
    `connect()` (or the first call) sets the pin up as an output already driven to the safe level.
    `close()` releases the pin: it becomes an input and the relay board's own pull resistor decides, just
    as when the controller dies. Wire so that the safe level is the de-energised relay (docs/gpio-bench.md).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import Any, Callable, TypeVar

from ..gpio.pins import PinLayer, check_pin, claim_pins, pin_layer, release_pins
from ..safety import level as _level
from ..safety import logical_level, wire_level
from ..steplog import StepLog, step
from .protocol import DigitalOutputProtocol
from .settings import GpioRelaySettings

log = logging.getLogger("drivers.gpio")

T = TypeVar("T")


def _seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a number of seconds, 0 or more, not {value!r}")
    return float(value)


class GPIOOutput(DigitalOutputProtocol):
    """A relay driven by one BCM GPIO pin; `pins` is "rpi" (the Pi's header) or "fake" (tests, simulator)."""

    backend = "GPIO"
    kind = "digital_output"
    settings = GpioRelaySettings
    summary = "one relay on a Raspberry Pi GPIO pin"
    on_lost = (
        "as `gpio_ev`: wire so that a released pin is the safe level (NC contacts for mains and network)."
    )
    extra = "gpio"
    docs = "gpio-bench.md"

    def __init__(self, role: str, settings: GpioRelaySettings, *, steplog: StepLog | None = None) -> None:
        self.pin = check_pin("pin", settings.pin)
        super().__init__(role, f"BCM{self.pin}", steplog)
        self.invert = _level("invert", settings.invert)
        self.safe_level = _level("safe_level", settings.safe_level)
        self.min_on_s = _seconds("min_on_s", settings.min_on_s)
        self.min_off_s = _seconds("min_off_s", settings.min_off_s)
        self.pins: PinLayer = pin_layer(settings.pins, settings.chip)
        self._connected = False
        self._level: bool | None = None  # logical level driven, None before connect
        self._since = 0.0  # time.monotonic() when that level began
        self._lock = asyncio.Lock()
        if wire_level(self.safe_level, self.invert):
            log.warning(
                "%s: the safe level drives BCM%d high (safe_level=%s, invert=%s); a released pin or a dead "
                "controller drops the relay and leaves the output %s, not at its safe level. Wire the relay's "
                "other contact and flip invert so that safe means de-energised.",
                role, self.pin, self.safe_level, self.invert, not self.safe_level,
            )

    @step
    async def connect(self) -> None:
        async with self._lock:
            await self._connect()

    @step
    async def close(self) -> None:
        async with self._lock:
            if not self._connected:
                return
            try:
                if self._level is not None and self._raw(self._level):
                    # releasing a high pin drops the relay: that is a switch like any other
                    await self._hold(not self._level)
                self._call("release", lambda: self.pins.cleanup([self.pin]))
            finally:
                release_pins(self.pins, [self.pin], self)
                self._connected = False
                self._level = None

    @step
    async def set(self, level: bool) -> None:
        level = _level("level", level)
        async with self._lock:
            await self._connect()
            if level == self._level:
                # same level: write it again (cheap, fixes a pin changed behind our back), keep the clock
                self._call("write", lambda: self.pins.write(self.pin, self._raw(level)))
                return
            await self._hold(level)
            self._call("write", lambda: self.pins.write(self.pin, self._raw(level)))
            self._level = level
            self._since = time.monotonic()

    @step
    async def get(self) -> bool:
        async with self._lock:
            await self._connect()
            return logical_level(self._call("read", lambda: self.pins.read(self.pin)), self.invert)

    @step
    async def safe_state(self) -> None:
        await self.set(self.safe_level)

    @step
    async def self_test(self) -> dict[str, Any]:
        async with self._lock:
            await self._connect()
            raw = self._call("read", lambda: self.pins.read(self.pin))
        return {
            "pin": self.pin,
            "raw": raw,
            "level": logical_level(raw, self.invert),
            "invert": self.invert,
            "safe_level": self.safe_level,
            "safe_when_released": not self._raw(self.safe_level),  # a dead Pi leaves it safe (pull-down board)
        }

    def _raw(self, level: bool) -> bool:
        return wire_level(level, self.invert)

    async def _connect(self) -> None:
        if self._connected:
            return
        try:
            claim_pins(self.pins, [self.pin], self, f"role '{self.role}'")
        except ValueError as exc:
            raise self.error(str(exc)) from exc
        try:
            self._call("setup", lambda: self.pins.setup_output(self.pin, self._raw(self.safe_level)))
        except BaseException:
            release_pins(self.pins, [self.pin], self)
            raise
        self._connected = True
        self._level = self.safe_level
        self._since = time.monotonic()

    async def _hold(self, new_level: bool) -> None:
        """Wait until the current level has lasted its minimum, before switching to `new_level`."""
        if self._level is None or new_level == self._level:
            return
        minimum = self.min_on_s if self._level else self.min_off_s
        deadline = self._since + minimum
        # loop: the event loop may wake a sleeper a hair early, and the minimum is a promise
        while (remaining := deadline - time.monotonic()) > 0:
            await asyncio.sleep(remaining)

    def _call(self, what: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - RPi.GPIO / lgpio raise RuntimeError, ValueError, lgpio.error
            raise self.error(f"{what} failed: {type(exc).__name__}: {exc}") from exc
