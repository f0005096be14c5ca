"""Meter values as the station's meter reports them, for the measurands its configuration asks for."""

from __future__ import annotations

from typing import Any

VOLTAGE_V = 230.0
PHASES = 3

# measurand -> (unit, how to read it off the connector and the present power)
SUPPORTED_MEASURANDS = ("Energy.Active.Import.Register", "Power.Active.Import", "Current.Import", "Voltage")


def unsupported(measurands: str) -> list[str]:
    return [m for m in split(measurands) if m not in SUPPORTED_MEASURANDS]


def split(measurands: str) -> list[str]:
    return [m.strip() for m in measurands.split(",") if m.strip()]


def sampled_values(measurands: str, register_wh: float, power_w: float, context: str) -> list[dict[str, Any]]:
    """`register_wh`: the energy register as the station reports it (SimStation.register_wh)."""
    values = []
    for measurand in split(measurands):
        if measurand == "Energy.Active.Import.Register":
            value, unit = f"{register_wh:.0f}", "Wh"
        elif measurand == "Power.Active.Import":
            value, unit = f"{power_w:.0f}", "W"
        elif measurand == "Current.Import":
            value, unit = f"{power_w / VOLTAGE_V / PHASES:.1f}", "A"
        elif measurand == "Voltage":
            value, unit = f"{VOLTAGE_V:.1f}", "V"
        else:
            continue
        values.append({"value": value, "measurand": measurand, "unit": unit, "context": context})
    return values
