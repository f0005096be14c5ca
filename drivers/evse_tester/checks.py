"""Argument checks every EV emulator backend makes before any I/O, so each refuses bad input the same way."""

from __future__ import annotations

from . import iec61851
from .protocol import CP_STATES


def flag(name: str, value: object) -> bool:
    """A boolean argument; a YAML config may hand us 0/1, anything else is more likely a mistake than a wish."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ValueError(f"{name} must be true or false, not {value!r}")


def cp_state(state: object, allowed: tuple[str, ...] = CP_STATES) -> str:
    """A CP state letter among `allowed` (upper case, as the standard writes them)."""
    if not isinstance(state, str) or state not in allowed:
        raise ValueError(f"state must be one of {', '.join(allowed)}, not {state!r}")
    return state


def pp_rating(amps: object) -> int:
    """A Type 2 cable rating the PP resistor can signal: 13, 20, 32 or 63 A."""
    if isinstance(amps, bool) or not isinstance(amps, (int, float)) or amps not in iec61851.PP_OHMS_BY_RATING:
        raise ValueError(
            f"amps must be one of {', '.join(str(a) for a in iec61851.PP_OHMS_BY_RATING)}, not {amps!r}"
        )
    return int(amps)  # type: ignore[call-overload]


def standard(value: object) -> str:
    """How a PWM duty is read: "iec" (IEC 61851-1) or "sae" (SAE J1772)."""
    if value not in iec61851.STANDARDS:
        raise ValueError(f"standard must be one of {', '.join(iec61851.STANDARDS)}, not {value!r}")
    return value  # type: ignore[return-value]


def pp_rating_setting(name: str, value: object) -> int:
    """A cable rating from a config (a mapping key may arrive quoted from YAML)."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or value not in iec61851.PP_OHMS_BY_RATING:
        raise ValueError(
            f"{name} must be one of {', '.join(str(a) for a in iec61851.PP_OHMS_BY_RATING)} (amps), not {value!r}"
        )
    return int(value)  # type: ignore[call-overload]
