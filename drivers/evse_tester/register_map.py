"""Where a Modbus EV emulator keeps each setting and measurement, and how the values are encoded.

The driver (`drivers.evse_tester.modbus`) and the simulated gear (`hil_sim.gear.modbus_gear`) both read this,
so the simulator cannot drift away from what the driver sends. A bench whose emulator uses other addresses
overrides them in its config (`RegisterMap.from_dict`); the units below are fixed. See
docs/modbus-ev-emulator.md for the table.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar, Mapping

# Holding-register value of the CP resistor state: index in this string (0 = A ... 5 = F).
CP_STATE_CODES = "ABCDEF"

MAX_ADDRESS = 0xFFFF


@dataclass(frozen=True)
class RegisterMap:
    """Register addresses (0-based, as on the wire) of one EV emulator layout."""

    # Holding registers: read with FC 3, written with FC 6.
    cp_state: int = 0  # CP resistor state the EV presents, 0 = A ... 5 = F
    plug_relay: int = 1  # 1 = plug relay closed (cable reaches the EV), 0 = open
    diode_fault: int = 2  # 1 = CP diode shorted
    pp_rating_a: int = 3  # cable rating selected by the PP resistor, amps: 13, 20, 32 or 63
    # 1 = the Type 1 coupler's latch release pressed (S3 open); None when the device has no latch actuator
    latch_pressed: int | None = 4
    # Input registers: read with FC 4.
    cp_high_cv: int = 0  # high level of the CP line, signed, 0.01 V
    cp_low_cv: int = 1  # low level of the CP line, signed, 0.01 V
    duty_permille: int = 2  # PWM duty, 0.1 % (1000 = constant high, 0 = no PWM / constant low)
    frequency_hz: int = 3  # PWM frequency, Hz (0 without PWM)
    # The CP state the emulator itself classifies (0 = A ... 5 = F); None when the device has no such register.
    cp_state_seen: int | None = 4

    HOLDING: ClassVar[tuple[str, ...]] = ("cp_state", "plug_relay", "diode_fault", "pp_rating_a", "latch_pressed")
    INPUT: ClassVar[tuple[str, ...]] = ("cp_high_cv", "cp_low_cv", "duty_permille", "frequency_hz", "cp_state_seen")
    OPTIONAL: ClassVar[tuple[str, ...]] = ("cp_state_seen", "latch_pressed")

    def __post_init__(self) -> None:
        for table in (self.HOLDING, self.INPUT):
            seen: dict[int, str] = {}
            for name in table:
                address = getattr(self, name)
                if address is None and name in self.OPTIONAL:
                    continue
                if isinstance(address, bool) or not isinstance(address, int) or not 0 <= address <= MAX_ADDRESS:
                    raise ValueError(f"register {name}: address must be an integer 0..{MAX_ADDRESS}, not {address!r}")
                if address in seen:
                    # two settings on one register would make every write to one of them change the other
                    raise ValueError(f"register {name}: address {address} is already used by {seen[address]}")
                seen[address] = name

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], base: RegisterMap | None = None) -> RegisterMap:
        """`base` (the default layout if None) with the addresses named in `d` replaced."""
        known = {f.name for f in fields(cls)}
        for name in d:
            if name not in known:
                raise ValueError(f"unknown register {name!r}; known registers: {', '.join(sorted(known))}")
        merged = {**(base or cls()).as_dict(), **dict(d)}
        return cls(**merged)

    def as_dict(self) -> dict[str, int | None]:
        return asdict(self)

    def holding(self) -> dict[str, int]:
        """Holding-register name -> address, leaving out registers this device does not have."""
        return {name: getattr(self, name) for name in self.HOLDING if getattr(self, name) is not None}

    def inputs(self) -> dict[str, int]:
        """Input-register name -> address, leaving out registers this device does not have."""
        return {name: getattr(self, name) for name in self.INPUT if getattr(self, name) is not None}


DEFAULT_MAP = RegisterMap()


def check_registers(value: object) -> str | None:
    """a mapping of register name -> address, or a YAML file naming one"""
    if isinstance(value, str):
        return None if value.strip() else "name a YAML file of register addresses, or give them as a mapping"
    if not isinstance(value, dict):
        return f"expected a mapping of register name -> address, or a file name, got {value!r}"
    try:
        RegisterMap.from_dict(value)
    except (TypeError, ValueError) as exc:
        return str(exc)
    return None

# Not a real product: we found no EV emulator with a published Modbus map. This preset shows how a bench
# overrides addresses, here for a device with its control block at 100, its measurements at 200 and no
# state register of its own (the driver then judges the state from the CP voltage alone).
EXAMPLE_OFFSET_MAP = RegisterMap(
    cp_state=100,
    plug_relay=101,
    diode_fault=102,
    pp_rating_a=103,
    latch_pressed=104,
    cp_high_cv=200,
    cp_low_cv=201,
    duty_permille=202,
    frequency_hz=203,
    cp_state_seen=None,
)

PRESETS: dict[str, RegisterMap] = {"default": DEFAULT_MAP, "example-offset": EXAMPLE_OFFSET_MAP}


def encode_cp_state(state: str) -> int:
    return CP_STATE_CODES.index(state)


def decode_cp_state(code: int) -> str | None:
    """State letter for a register value, None for a value no state has."""
    return CP_STATE_CODES[code] if 0 <= code < len(CP_STATE_CODES) else None


def to_int16_register(value: int) -> int:
    """Two's complement in one 16-bit register, as signed values travel on the wire."""
    if not -0x8000 <= value <= 0x7FFF:
        raise ValueError(f"{value} does not fit a signed 16-bit register")
    return value & 0xFFFF


def from_int16_register(raw: int) -> int:
    return raw - 0x10000 if raw & 0x8000 else raw
