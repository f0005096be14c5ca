"""An EV emulator made of relays on the bench's Raspberry Pi: they switch the CP resistors, the PP resistor and
the plug, the way the EV side of IEC 61851-1 Annex A does.

Channels (settings name BCM GPIO numbers; docs/gpio-bench.md has the wiring):

=================  =======================================================  ==========
setting            relay closes                                             needed for
=================  =======================================================  ==========
plug_pin           CP from the tester plug to the emulator (EV side)         required
state_b_pin        2.74 kΩ from behind the diode to PE                       required
state_c_pin        1.3 kΩ in parallel with it                                required
state_d_pin        270 Ω in parallel with it                                 state D
state_e_pin        CP straight to PE (0 V)                                   state E
diode_fault_pin    a short across the CP diode                               a diode fault
pp_pins            {rating A: pin}: the PP resistor for that cable rating    set_pp_rating
latch_pin          the actuator holding the Type 1 coupler's release button  set_latch
=================  =======================================================  ==========

`plug` is the tester plug (drivers/evse_tester/proximity.py): PP resistors only on a type2 tester cable, the
latch only on a type1 coupler.

CP states: A all open, B b, C b+c, D b+d, E e. F (CP at −12 V) is the charger's own error state: resistors
can only pull CP towards 0 V, so an EV cannot make it and `set_cp_state("F")` is a ValueError.

Switching order: a change never passes through state A while the EV stays connected; it may pass through
B for a moment (C → D opens c before closing d), as a real EV does. PP relays break before they make, so two
PP resistors are never in parallel.

This backend has no ADC: `measure()` raises DriverError; pair it with a measuring instrument.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable, TypeVar

from ..gpio.pins import PinLayer, check_pin, claim_pins, pin_layer, release_pins
from ..safety import all_safe_actions, logical_level, wire_level
from ..steplog import StepLog, step
from . import checks, iec61851, proximity
from .protocol import CPMeasurement, EVEmulatorProtocol
from .settings import GpioEvSettings

T = TypeVar("T")

# CP relays per state, and what each one switches (for error messages)
CP_RELAYS: dict[str, frozenset[str]] = {
    "A": frozenset(),
    "B": frozenset({"b"}),
    "C": frozenset({"b", "c"}),
    "D": frozenset({"b", "d"}),
    "E": frozenset({"e"}),
}
_CP_SETTINGS = {"b": "state_b_pin", "c": "state_c_pin", "d": "state_d_pin", "e": "state_e_pin"}
_CP_PARTS = {"b": "2.74 kΩ", "c": "1.3 kΩ", "d": "270 Ω", "e": "a short from CP to PE"}
# close the dominant relays first, open the unwanted ones, close the rest: see the module docstring
_CP_ORDER = (("e", True), ("b", True), ("c", False), ("d", False), ("b", False), ("e", False),
             ("c", True), ("d", True))


class GPIOEVEmulator(EVEmulatorProtocol):
    """Relays for CP, PP and plug on BCM GPIO pins; `pins` is "rpi" (the Pi's header) or "fake".

    `invert` applies to every channel (one relay board): True when a closed relay is a low pin.
    `pp_rating_a` selects a PP resistor when the driver connects (None: every PP relay open).
    """

    backend = "GPIO"
    kind = "ev_emulator"
    settings = GpioEvSettings
    summary = "EV emulator made of relays on Raspberry Pi GPIO pins (switches CP/PP resistors, cannot measure)"
    on_lost = (
        "released pins drop every relay on an active-high board with pull-downs (plug open, state A); a "
        "crashed process may hold its last levels."
    )
    extra = "gpio"
    docs = "gpio-bench.md"

    @classmethod
    def check_settings(cls, settings: dict[str, Any]) -> tuple[str, str] | None:
        pp = bool(settings.get("pp_pins")) or settings.get("pp_rating_a") is not None
        problem = proximity.fit_problem(settings["plug"], pp, settings.get("latch_pin") is not None)
        if problem is None:
            return None
        key = "latch_pin" if "latch" in problem else ("pp_rating_a" if settings.get("pp_rating_a") is not None
                                                      else "pp_pins")
        return key, problem

    def __init__(self, role: str, settings: GpioEvSettings, *, steplog: StepLog | None = None) -> None:
        # setting name -> pin, for every relay this bench has
        channels: dict[str, int] = {}
        self.plug = proximity.check_plug(settings.plug)
        if (problem := proximity.fit_problem(self.plug, bool(settings.pp_pins) or settings.pp_rating_a is not None,
                                             settings.latch_pin is not None)) is not None:
            raise ValueError(problem)
        for name in ("plug_pin", "state_b_pin", "state_c_pin", "state_d_pin", "state_e_pin", "diode_fault_pin",
                     "latch_pin"):
            value = getattr(settings, name)
            if value is not None or name in ("plug_pin", "state_b_pin", "state_c_pin"):
                channels[name] = check_pin(name, value)
        if settings.pp_pins is not None and not isinstance(settings.pp_pins, dict):
            raise ValueError(f"pp_pins must map a cable rating (A) to a pin, e.g. {{32: 23}}, not {settings.pp_pins!r}")
        self.pp_pins: dict[int, int] = {}
        for rating, pin in (settings.pp_pins or {}).items():
            amps = checks.pp_rating_setting("a pp_pins rating", rating)
            if amps in self.pp_pins:
                raise ValueError(f"pp_pins names {amps} A twice")
            self.pp_pins[amps] = channels[f"pp_pins[{amps}]"] = check_pin(f"pp_pins[{amps}]", pin)
        by_pin: dict[int, str] = {}
        for name, pin in channels.items():
            if pin in by_pin:
                raise ValueError(f"{name} and {by_pin[pin]} are both BCM{pin}; every relay needs its own pin")
            by_pin[pin] = name
        rating = settings.pp_rating_a
        self.pp_rating_a = None if rating is None else checks.pp_rating_setting("pp_rating_a", rating)
        if self.pp_rating_a is not None and self.pp_rating_a not in self.pp_pins:
            raise ValueError(f"pp_rating_a is {self.pp_rating_a} but pp_pins has no pin for {self.pp_rating_a} A")
        self.invert = checks.flag("invert", settings.invert)
        self.channels = channels
        address = "BCM " + " ".join(
            f"{name.removesuffix('_pin').removeprefix('state_').replace('pp_pins[', 'pp').rstrip(']')}={pin}"
            for name, pin in channels.items()
        )
        super().__init__(role, address, steplog)
        self.pins: PinLayer = pin_layer(settings.pins, settings.chip)
        self._connected = False

    # lifecycle

    @step
    async def connect(self) -> None:
        self._connect()

    @step
    async def close(self) -> None:
        if not self._connected:
            return
        try:
            self._call("all pins", "release", lambda: self.pins.cleanup(self.channels.values()))
        finally:
            release_pins(self.pins, self.channels.values(), self)
            self._connected = False

    @step
    async def safe_state(self) -> None:
        # Every action is tried even if an earlier one fails; the plug opens first, so the charger sees the EV
        # leave rather than a sequence of state changes. The PP selection stays: it is the cable's rating, not a
        # hazard, and it must still be there when the next case plugs in.
        self._connect()
        await all_safe_actions((lambda: self._write("plug_pin", False), lambda: self._switch_cp("A"),
                                lambda: self._diode(False), lambda: self._latch(False)))

    @step
    async def self_test(self) -> dict[str, Any]:
        self._connect()
        raw = {name: self._call(name, "read", partial(self.pins.read, pin))
               for name, pin in self.channels.items()}
        closed = {name: logical_level(level, self.invert) for name, level in raw.items()}
        cp = frozenset(r for r, name in _CP_SETTINGS.items() if closed.get(name))
        pp = [a for a in self.pp_pins if closed[f"pp_pins[{a}]"]]
        state = "E" if "e" in cp else next((s for s, relays in CP_RELAYS.items() if relays == cp), None)
        return {
            "plug_closed": closed["plug_pin"],
            "cp_state": state,  # None: a combination no CP state has (e.g. 1.3 kΩ without the 2.74 kΩ)
            "cp_relays": sorted(cp),
            "diode_fault": closed.get("diode_fault_pin", False),
            "plug": self.plug,
            "latch_pressed": closed.get("latch_pin"),  # None: no latch actuator
            "pp_rating_a": pp[0] if len(pp) == 1 else None,
            "pp_relays_closed": pp,  # more than one: resistors in parallel, no valid rating
            "pins": {name: {"pin": self.channels[name], "raw": raw[name], "closed": closed[name]} for name in raw},
            "invert": self.invert,
            "can_measure": False,
        }

    # the EV emulator role

    @step
    async def set_plug(self, connected: bool) -> None:
        connected = checks.flag("connected", connected)
        self._connect()
        self._write("plug_pin", connected)

    @step
    async def set_cp_state(self, state: str) -> None:
        if state == "F":
            raise ValueError(
                "state F cannot be set by an EV: F is the charger pulling CP to −12 V (EVSE not available); "
                "resistors on the EV side can only pull CP down towards 0 V (state E is a short to PE)"
            )
        state = checks.cp_state(state)
        for relay in sorted(CP_RELAYS[state]):
            setting = _CP_SETTINGS[relay]
            if setting not in self.channels:
                raise self.error(
                    f"state {state} needs a relay switching {_CP_PARTS[relay]}, and {setting} is not set"
                )
        self._connect()
        self._switch_cp(state)

    @step
    async def set_diode_fault(self, fault: bool) -> None:
        fault = checks.flag("fault", fault)
        if fault and "diode_fault_pin" not in self.channels:
            raise self.error("a diode fault needs a relay shorting the CP diode, and diode_fault_pin is not set")
        self._connect()
        self._diode(fault)

    @step
    async def set_latch(self, pressed: bool) -> None:
        pressed = checks.flag("pressed", pressed)
        self.latch_check()
        if "latch_pin" not in self.channels:
            raise self.no_latch("pressing the latch needs an actuator on its release button, and latch_pin is not set")
        self._connect()
        self._latch(pressed)

    @step
    async def set_pp_rating(self, amps: int) -> None:
        amps = checks.pp_rating(amps)
        self.pp_rating_check()
        if amps not in self.pp_pins:
            have = ", ".join(f"{a} A" for a in self.pp_pins) or "none"
            raise self.error(
                f"a {amps} A cable needs pp_pins[{amps}] (a relay switching "
                f"{iec61851.rating_to_pp_resistance(amps):g} Ω); pp_pins has: {have}"
            )
        self._connect()
        self._select_pp(amps)

    @step
    async def measure(self) -> CPMeasurement:
        raise self.error(
            "this backend only switches resistors and has no ADC, so it cannot measure the CP line; "
            "pair it with a measuring instrument"
        )

    # pins

    def _connect(self) -> None:
        if self._connected:
            return
        try:
            claim_pins(self.pins, self.channels.values(), self, f"role '{self.role}'")
        except ValueError as exc:
            raise self.error(str(exc)) from exc
        done: list[int] = []
        try:
            for name, pin in self.channels.items():
                closed = name == f"pp_pins[{self.pp_rating_a}]"
                self._call(name, "setup", lambda: self.pins.setup_output(pin, wire_level(closed, self.invert)))
                done.append(pin)
        except BaseException:
            try:
                self.pins.cleanup(done)
            except Exception:  # noqa: BLE001 - the setup error is the one to report
                pass
            release_pins(self.pins, self.channels.values(), self)
            raise
        self._connected = True

    def _write(self, name: str, closed: bool) -> None:
        pin = self.channels[name]
        self._call(name, "write", lambda: self.pins.write(pin, wire_level(closed, self.invert)))

    def _switch_cp(self, state: str) -> None:
        target = CP_RELAYS[state]
        for relay, close in _CP_ORDER:
            setting = _CP_SETTINGS[relay]
            if setting in self.channels and (relay in target) == close:
                self._write(setting, close)

    def _diode(self, fault: bool) -> None:
        if "diode_fault_pin" in self.channels:
            self._write("diode_fault_pin", fault)
        # without the relay the diode is always intact: "no fault" needs nothing

    def _latch(self, pressed: bool) -> None:
        if "latch_pin" in self.channels:
            self._write("latch_pin", pressed)

    def _select_pp(self, amps: int) -> None:
        for rating in self.pp_pins:
            if rating != amps:
                self._write(f"pp_pins[{rating}]", False)
        self._write(f"pp_pins[{amps}]", True)

    def _call(self, name: str, what: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - RPi.GPIO / lgpio raise RuntimeError, ValueError, lgpio.error
            pin = self.channels.get(name)
            where = f"{name} (BCM{pin})" if pin is not None else name
            raise self.error(f"{where}: {what} failed: {type(exc).__name__}: {exc}") from exc
