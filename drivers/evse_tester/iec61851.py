"""IEC 61851-1 / SAE J1772 numbers as pure functions: PWM duty <-> current, CP voltage <-> state, PP <-> rating.

No I/O here, so the drivers, the simulator and the scenario checks all judge the CP line by the same table.

Duty cycle -> maximum current (percent, as the vehicle interprets it):

=================  =======================  =========================
duty d             "iec" (IEC 61851-1)      "sae" (SAE J1772)
=================  =======================  =========================
d < 3              None (no charging)       None (no charging)
3 <= d <= 7        None (digital comm.)     None (digital comm.)
7 < d < 8          None (no charging)       None (no charging)
8 <= d < 10        6 A                      None (no charging)
10 <= d <= 85      d x 0.6 A                d x 0.6 A
85 < d <= 96       (d - 64) x 2.5 A         (d - 64) x 2.5 A
96 < d <= 97       80 A                     80 A
d > 97             None (no charging)       None (no charging)
=================  =======================  =========================

The 8-10 % band meaning 6 A is the IEC reading; for "sae" we only accept what a J1772 EVSE is allowed to
send (5 % for digital communication, 10-96 % for a current), so a J1772 bench flags an 8-10 % duty as an
error rather than silently reading 6 A. Published summaries of J1772 disagree on that band, which is why the
standard is a setting and not hard-wired.
"""

from __future__ import annotations

STANDARDS = ("iec", "sae")

# Nominal high level of the CP line per state, volts.
CP_STATE_VOLTS: dict[str, float] = {"A": 12.0, "B": 9.0, "C": 6.0, "D": 3.0, "E": 0.0, "F": -12.0}

# Type 2 PP resistor (between PP and PE in the plug) per cable rating, ohms.
PP_OHMS_BY_RATING: dict[int, float] = {13: 1500.0, 20: 680.0, 32: 220.0, 63: 100.0}

MIN_PWM_CURRENT_A = 6.0
MAX_PWM_CURRENT_A = 80.0
_LOW_RANGE_MAX_DUTY = 85.0
_LOW_RANGE_MAX_A = 51.0  # 85 % x 0.6: above this the steeper (d - 64) x 2.5 segment takes over
_HIGH_RANGE_MIN_A = 52.5  # (85 - 64) x 2.5: the steeper segment starts just above 85 %, i.e. above this

# Above this tolerance neighbouring CP bands (3 V apart) would overlap and a voltage would mean two states.
_MAX_CP_TOLERANCE_V = 1.5


def _check_standard(standard: str) -> str:
    if standard not in STANDARDS:
        raise ValueError(f"standard must be one of {', '.join(STANDARDS)}, not {standard!r}")
    return standard


def _clean(value: float) -> float:
    # 50 * 0.6 is 29.999999999999996 in binary floating point; nobody wants that in a report or a check
    return round(value, 6)


def duty_to_current(duty_pct: float, standard: str = "iec") -> float | None:
    """Maximum current in amps a PWM duty cycle allows, or None when it allows no charging.

    None also covers the 3-7 % band (digital communication: the current is negotiated over PLC, not by PWM).
    """
    _check_standard(standard)
    d = float(duty_pct)
    if standard == "iec" and 8.0 <= d < 10.0:
        return MIN_PWM_CURRENT_A
    if 10.0 <= d <= 85.0:
        return _clean(d * 0.6)
    if 85.0 < d <= 96.0:
        return _clean((d - 64.0) * 2.5)
    if 96.0 < d <= 97.0:
        return MAX_PWM_CURRENT_A
    return None


def current_to_duty(amps: float, standard: str = "iec") -> float:
    """PWM duty (percent) an EVSE sends to offer this current; ValueError outside 6-80 A.

    The same in both standards: 6 A is sent as 10 %, never in the IEC-only 8-10 % band. The two segments do
    not meet: 85 % means 51 A, and just above 85 % already means 52.5 A. A current in between cannot be
    signalled, so it gets 85 % (51 A): an EVSE must never offer more than it was asked to.
    """
    _check_standard(standard)
    a = float(amps)
    if MIN_PWM_CURRENT_A <= a <= _LOW_RANGE_MAX_A:
        return _clean(a / 0.6)
    if _LOW_RANGE_MAX_A < a <= _HIGH_RANGE_MIN_A:
        return _LOW_RANGE_MAX_DUTY
    if _HIGH_RANGE_MIN_A < a <= MAX_PWM_CURRENT_A:
        return _clean(a / 2.5 + 64.0)
    raise ValueError(
        f"amps must be between {MIN_PWM_CURRENT_A:g} and {MAX_PWM_CURRENT_A:g} A to be signalled by PWM, not {amps!r}"
    )


def cp_voltage_to_state(volts: float, tolerance_v: float = 1.0) -> str | None:
    """CP state whose nominal high level is within `tolerance_v` of `volts` (bounds included), else None."""
    if not 0.0 <= tolerance_v < _MAX_CP_TOLERANCE_V:
        raise ValueError(
            f"tolerance_v must be at least 0 and below {_MAX_CP_TOLERANCE_V} V so the bands do not overlap, "
            f"not {tolerance_v!r}"
        )
    for state, nominal in CP_STATE_VOLTS.items():
        if abs(volts - nominal) <= tolerance_v:
            return state
    return None


def state_to_cp_voltage(state: str) -> float:
    """Nominal high level of the CP line in this state (A..F), volts."""
    if state not in CP_STATE_VOLTS:
        raise ValueError(f"state must be one of {', '.join(CP_STATE_VOLTS)}, not {state!r}")
    return CP_STATE_VOLTS[state]


def _check_pp_tolerance(tolerance_pct: float) -> None:
    bands = sorted(
        (ohms * (1 - tolerance_pct / 100), ohms * (1 + tolerance_pct / 100))
        for ohms in PP_OHMS_BY_RATING.values()
    )
    overlapping = any(upper >= next_lower for (_, upper), (next_lower, _) in zip(bands, bands[1:]))
    if tolerance_pct < 0 or overlapping:
        raise ValueError(
            f"tolerance_pct must be at least 0 and small enough that the PP bands do not overlap, "
            f"not {tolerance_pct!r}"
        )


def pp_resistance_to_rating(ohms: float, tolerance_pct: float = 10) -> int | None:
    """Cable rating (A) whose Type 2 PP resistor is within ±tolerance_pct of `ohms` (bounds included), else None."""
    _check_pp_tolerance(tolerance_pct)
    for rating, nominal in PP_OHMS_BY_RATING.items():
        # a relative band, because resistor tolerances are relative; the tiny epsilon keeps the bound itself in
        if abs(ohms - nominal) <= nominal * tolerance_pct / 100 + 1e-9:
            return rating
    return None


def rating_to_pp_resistance(amps: int) -> float:
    """Nominal Type 2 PP resistor (ohms) for a cable rating of 13, 20, 32 or 63 A."""
    if amps not in PP_OHMS_BY_RATING:
        raise ValueError(
            f"amps must be one of {', '.join(str(a) for a in PP_OHMS_BY_RATING)} (a Type 2 cable rating), "
            f"not {amps!r}"
        )
    return PP_OHMS_BY_RATING[amps]
