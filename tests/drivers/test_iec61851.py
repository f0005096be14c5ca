"""IEC 61851-1 / SAE J1772 tables: every band boundary, from both sides."""

from __future__ import annotations

import pytest

from drivers.evse_tester.iec61851 import (
    cp_voltage_to_state,
    current_to_duty,
    duty_to_current,
    pp_resistance_to_rating,
    rating_to_pp_resistance,
    state_to_cp_voltage,
)

# (duty %, IEC current, SAE current); None = no charging (or digital communication)
DUTY_TABLE = [
    (-1.0, None, None),
    (0.0, None, None),
    (2.9, None, None),
    (3.0, None, None),  # digital communication band starts
    (5.0, None, None),
    (7.0, None, None),  # digital communication band ends
    (7.1, None, None),
    (7.9, None, None),
    (8.0, 6.0, None),  # IEC-only 6 A band starts
    (9.9, 6.0, None),
    (10.0, 6.0, 6.0),
    (10.1, 6.06, 6.06),
    (50.0, 30.0, 30.0),
    (53.3, 31.98, 31.98),
    (84.9, 50.94, 50.94),
    (85.0, 51.0, 51.0),
    (85.1, 52.75, 52.75),
    (90.0, 65.0, 65.0),
    (95.9, 79.75, 79.75),
    (96.0, 80.0, 80.0),
    (96.1, 80.0, 80.0),
    (97.0, 80.0, 80.0),
    (97.1, None, None),
    (100.0, None, None),
]


@pytest.mark.parametrize("duty, iec, sae", DUTY_TABLE)
def test_duty_to_current(duty: float, iec: float | None, sae: float | None) -> None:
    assert duty_to_current(duty) == (pytest.approx(iec) if iec is not None else None)
    assert duty_to_current(duty, "iec") == duty_to_current(duty)
    assert duty_to_current(duty, "sae") == (pytest.approx(sae) if sae is not None else None)


def test_duty_to_current_is_free_of_float_noise() -> None:
    assert duty_to_current(50) == 30.0
    assert duty_to_current(10) == 6.0


@pytest.mark.parametrize("func, arg", [(duty_to_current, 50.0), (current_to_duty, 16.0)])
def test_unknown_standard_names_the_field(func, arg) -> None:
    with pytest.raises(ValueError, match="standard"):
        func(arg, standard="gb")


CURRENT_TABLE = [
    (6.0, 10.0),
    (16.0, 26.666667),
    (30.0, 50.0),
    (32.0, 53.333333),
    (51.0, 85.0),
    (51.5, 85.0),  # not signallable: offer the 51 A below rather than more than asked
    (52.5, 85.0),
    (52.6, 85.04),
    (60.0, 88.0),
    (80.0, 96.0),
]


@pytest.mark.parametrize("amps, duty", CURRENT_TABLE)
@pytest.mark.parametrize("standard", ["iec", "sae"])
def test_current_to_duty(amps: float, duty: float, standard: str) -> None:
    assert current_to_duty(amps, standard) == pytest.approx(duty)


@pytest.mark.parametrize("amps", [-1.0, 0.0, 5.9, 5.999, 80.001, 80.1, 100.0])
def test_current_to_duty_outside_pwm_range(amps: float) -> None:
    with pytest.raises(ValueError, match="amps"):
        current_to_duty(amps)


@pytest.mark.parametrize("amps", [6, 6.5, 10, 13, 16, 20, 25.2, 32, 40, 51, 53, 63, 70, 79.9, 80])
def test_current_round_trip(amps: float) -> None:
    assert duty_to_current(current_to_duty(amps)) == pytest.approx(amps)


# (volts, state with the default ±1 V)
CP_TABLE = [
    (13.01, None),
    (13.0, "A"),
    (12.0, "A"),
    (11.0, "A"),
    (10.99, None),
    (10.0, "B"),
    (9.0, "B"),
    (8.0, "B"),
    (7.99, None),
    (7.5, None),
    (7.01, None),
    (7.0, "C"),
    (6.0, "C"),
    (5.0, "C"),
    (4.99, None),
    (4.0, "D"),
    (3.0, "D"),
    (2.0, "D"),
    (1.99, None),
    (1.0, "E"),
    (0.0, "E"),
    (-1.0, "E"),
    (-1.01, None),
    (-10.99, None),
    (-11.0, "F"),
    (-12.0, "F"),
    (-13.0, "F"),
    (-13.01, None),
]


@pytest.mark.parametrize("volts, state", CP_TABLE)
def test_cp_voltage_to_state(volts: float, state: str | None) -> None:
    assert cp_voltage_to_state(volts) == state


@pytest.mark.parametrize("volts, state", [(11.5, "A"), (11.49, None), (9.5, "B"), (9.51, None), (0.0, "E")])
def test_cp_voltage_to_state_with_narrow_tolerance(volts: float, state: str | None) -> None:
    assert cp_voltage_to_state(volts, tolerance_v=0.5) == state


@pytest.mark.parametrize("tolerance", [-0.1, 1.5, 3.0])
def test_cp_tolerance_must_keep_bands_apart(tolerance: float) -> None:
    with pytest.raises(ValueError, match="tolerance_v"):
        cp_voltage_to_state(9.0, tolerance_v=tolerance)


@pytest.mark.parametrize(
    "state, volts", [("A", 12.0), ("B", 9.0), ("C", 6.0), ("D", 3.0), ("E", 0.0), ("F", -12.0)]
)
def test_state_to_cp_voltage(state: str, volts: float) -> None:
    assert state_to_cp_voltage(state) == volts
    assert cp_voltage_to_state(state_to_cp_voltage(state)) == state


@pytest.mark.parametrize("state", ["G", "a", "", "AB"])
def test_state_to_cp_voltage_rejects_unknown_state(state: str) -> None:
    with pytest.raises(ValueError, match="state"):
        state_to_cp_voltage(state)


# (ohms, rating with the default ±10 %)
PP_TABLE = [
    (1650.1, None),
    (1650.0, 13),
    (1500.0, 13),
    (1350.0, 13),
    (1349.9, None),
    (748.1, None),
    (748.0, 20),
    (680.0, 20),
    (612.0, 20),
    (611.9, None),
    (242.1, None),
    (242.0, 32),
    (220.0, 32),
    (198.0, 32),
    (197.9, None),
    (110.1, None),
    (110.0, 63),
    (100.0, 63),
    (90.0, 63),
    (89.9, None),
    (0.0, None),  # PP shorted
    (1e9, None),  # PP open: no cable
]


@pytest.mark.parametrize("ohms, rating", PP_TABLE)
def test_pp_resistance_to_rating(ohms: float, rating: int | None) -> None:
    assert pp_resistance_to_rating(ohms) == rating


@pytest.mark.parametrize("ohms, rating", [(220.0, 32), (220.1, None), (219.9, None), (1500.0, 13)])
def test_pp_resistance_with_zero_tolerance(ohms: float, rating: int | None) -> None:
    assert pp_resistance_to_rating(ohms, tolerance_pct=0) == rating


@pytest.mark.parametrize("tolerance", [-1, 40, 100])
def test_pp_tolerance_must_keep_bands_apart(tolerance: float) -> None:
    with pytest.raises(ValueError, match="tolerance_pct"):
        pp_resistance_to_rating(220.0, tolerance_pct=tolerance)


@pytest.mark.parametrize("amps, ohms", [(13, 1500.0), (20, 680.0), (32, 220.0), (63, 100.0)])
def test_rating_to_pp_resistance(amps: int, ohms: float) -> None:
    assert rating_to_pp_resistance(amps) == ohms
    assert pp_resistance_to_rating(rating_to_pp_resistance(amps)) == amps


@pytest.mark.parametrize("amps", [0, 6, 16, 40, 64, True])
def test_rating_to_pp_resistance_rejects_other_ratings(amps: int) -> None:
    with pytest.raises(ValueError, match="amps"):
        rating_to_pp_resistance(amps)
