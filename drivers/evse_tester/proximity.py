"""The proximity circuit of each tester plug, as pure functions: what PP reads to PE for a plug in a given state.

Three plugs a bench may have between the station and the EV emulator:

- ``type2``: a tester cable in the station's socket (IEC 62196-2). Its plug carries the PP resistor that tells
  the station the cable's current rating (IEC 61851-1 Annex B; the table is `iec61851.PP_OHMS_BY_RATING`), and
  the EV emulator selects that resistor.
- ``tethered``: the station's own cable, plugged straight into the emulator's inlet. The cable and its rating are
  the station's: there is no PP resistor on the station side for the emulator to choose.
- ``type1``: the station's SAE J1772 (IEC 62196-2 Type 1) coupler, always a tethered cable. PP carries no cable
  rating; it is the latch circuit: a fixed resistor in series with a second one that the latch switch S3 shorts.
  S3 is closed while the latch holds the coupler and opens while the release button is pressed, so PP to PE reads
  about 150 ohm latched and about 480 ohm (150 + 330) pressed, and nothing (open) with the coupler out.

Figures: the 150 ohm / 330 ohm pair and the 150 / 480 ohm readings are those of the SAE J1772 proximity
detection circuit as the OpenEVSE support article "Basics of SAE J1772" and the simple-evse project's "J1772
button connection schematic" (github.com/kortas87/simple-evse) publish them; Wikipedia's "SAE J1772" article
describes the same circuit. Both sources say why the button is wired in: the vehicle sees S3 open and stops
drawing current before the pins part, so the contacts do not break the load.
"""

from __future__ import annotations

from . import iec61851

PLUGS = ("type1", "type2", "tethered")
PLUG_NAMES = {"type1": "Type 1 (SAE J1772)", "type2": "Type 2 (IEC 62196-2) tester cable",
              "tethered": "the station's tethered cable"}

# SAE J1772 coupler: R6 in series with R7, S3 across R7 (closed = latched).
TYPE1_R6_OHMS = 150.0
TYPE1_R7_OHMS = 330.0
TYPE1_LATCHED_OHMS = TYPE1_R6_OHMS
TYPE1_PRESSED_OHMS = TYPE1_R6_OHMS + TYPE1_R7_OHMS

# The two Type 1 readings are far apart (a factor of 3.2), so a wide band still tells them apart.
_TYPE1_TOLERANCE_PCT = 20.0


def check_plug(value: object) -> str:
    """A plug name: type1, type2 or tethered."""
    if value not in PLUGS:
        raise ValueError(f"plug must be one of {', '.join(PLUGS)}, not {value!r}")
    return value  # type: ignore[return-value]


def fit_problem(plug: str, pp_selected: bool, latch_actuator: bool) -> str | None:
    """Why settings do not fit the plug, or None: PP resistors belong to a Type 2 tester cable, the latch actuator
    to a Type 1 coupler."""
    if plug != "type2" and pp_selected:
        return (f"a PP cable rating selects a Type 2 tester cable's resistor; a {plug} plug has none the bench "
                f"sets")
    if plug != "type1" and latch_actuator:
        return f"a latch actuator presses a Type 1 coupler's release button; a {plug} plug has no latch switch S3"
    return None


def type1_pp_ohms(mated: bool, latch_pressed: bool) -> float | None:
    """PP to PE of a Type 1 coupler: None (open) when it is not in the inlet, else 150 ohm or 480 ohm pressed."""
    if not mated:
        return None
    return TYPE1_PRESSED_OHMS if latch_pressed else TYPE1_LATCHED_OHMS


def type1_latch_reading(ohms: float | None) -> str | None:
    """What a Type 1 PP reading means: "latched", "pressed", "unplugged" (open), or None for no valid reading."""
    if ohms is None:
        return "unplugged"
    for meaning, nominal in (("latched", TYPE1_LATCHED_OHMS), ("pressed", TYPE1_PRESSED_OHMS)):
        if abs(ohms - nominal) <= nominal * _TYPE1_TOLERANCE_PCT / 100:
            return meaning
    return None


def pp_ohms(plug: str, mated: bool, latch_pressed: bool = False, rating_a: int | None = None) -> float | None:
    """PP to PE as the station measures it through a mated plug (None: open circuit, nothing there).

    `rating_a` is the Type 2 cable rating the emulator selected; a tethered cable's PP is the station's own business
    and reads as None here (nothing the bench sets).
    """
    plug = check_plug(plug)
    if plug == "type1":
        return type1_pp_ohms(mated, latch_pressed)
    if plug == "tethered" or not mated or rating_a is None:
        return None
    return iec61851.rating_to_pp_resistance(rating_a)
