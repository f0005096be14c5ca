"""A reference energy meter read over Modbus (TCP, RTU over TCP or RS-485): IEEE-754 floats in two registers.

The register layout is data (`MeterRegisterMap`), so another meter that publishes its values as 32-bit
floats is a config change. The default, `SDM630_MAP`, is the layout of the Eastron SDM630 family (and the
same first addresses on SDM72/SDM230-style meters); see docs/energy-meter.md. The simulated meter
(`hil_sim.gear.energy_meter`) serves the map and encodes with the functions below, so the two cannot drift.
"""

from __future__ import annotations

import math
import struct
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, ClassVar, Mapping, Sequence

from benchctl.config.typed import setting

from ..modbus_device import ModbusDevice, register_runs
from ..modbus_settings import ModbusLinkSettings
from ..steplog import StepLog, step
from .protocol import EnergyMeterProtocol, MeterReading

WORD_ORDERS = ("big", "little")  # big: high word first (Modbus convention); little: low word first
TABLES = ("input", "holding")
MAX_ADDRESS = 0xFFFE  # a float takes this register and the next


def encode_float32(value: float, word_order: str = "big") -> list[int]:
    """Two registers holding `value` as an IEEE-754 single; bytes within a register are always big-endian."""
    _check_word_order(word_order)
    high, low = struct.unpack(">HH", struct.pack(">f", value))
    return [high, low] if word_order == "big" else [low, high]


def decode_float32(registers: Sequence[int], word_order: str = "big") -> float:
    """The float in two registers, as a Python float rounded to the 7 significant digits a single carries."""
    _check_word_order(word_order)
    if len(registers) != 2:
        raise ValueError(f"a 32-bit float takes 2 registers, not {len(registers)}")
    high, low = registers if word_order == "big" else (registers[1], registers[0])
    value = struct.unpack(">f", struct.pack(">HH", high, low))[0]
    # 230.1 as a single is 230.10000610351562; nobody wants that in a report or a check
    return float(f"{value:.7g}") if math.isfinite(value) else value


def _check_word_order(word_order: str) -> None:
    if word_order not in WORD_ORDERS:
        raise ValueError(f"word_order must be one of {', '.join(WORD_ORDERS)}, not {word_order!r}")


def _address(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ADDRESS:
        raise ValueError(f"register {name}: address must be an integer 0..{MAX_ADDRESS}, not {value!r}")
    return value


@dataclass(frozen=True)
class MeterRegisterMap:
    """Where a meter keeps each value: the first of two registers (0-based, as on the wire) per float."""

    voltage_v: tuple[int, ...] = (0x0000, 0x0002, 0x0004)  # L1, L2, L3 to neutral, V
    current_a: tuple[int, ...] = (0x0006, 0x0008, 0x000A)  # L1, L2, L3, A
    power_w: int = 0x0034  # total system active power
    frequency_hz: int = 0x0046
    energy: int = 0x0156  # total active energy
    power_w_per_unit: float = 1.0  # W per register unit (1000 for a meter that publishes kW)
    energy_wh_per_unit: float = 1000.0  # Wh per register unit: the SDM630 counts kWh
    table: str = "input"  # "input" (read with FC 4) or "holding" (FC 3)
    word_order: str = "big"

    PER_PHASE: ClassVar[tuple[str, ...]] = ("voltage_v", "current_a")
    SINGLE: ClassVar[tuple[str, ...]] = ("power_w", "frequency_hz", "energy")

    def __post_init__(self) -> None:
        for name in self.PER_PHASE:
            addresses = getattr(self, name)
            if not isinstance(addresses, tuple) or not 1 <= len(addresses) <= 3:
                raise ValueError(f"register {name}: give one address per phase (1 to 3), not {addresses!r}")
        if len(self.voltage_v) != len(self.current_a):
            raise ValueError(
                f"voltage_v has {len(self.voltage_v)} phases but current_a has {len(self.current_a)}"
            )
        seen: dict[int, str] = {}
        for name, address in self.registers().items():
            _address(name, address)
            for register in (address, address + 1):
                if register in seen:
                    # two values sharing a register would each read half of the other
                    raise ValueError(f"register {name}: register {register} is already used by {seen[register]}")
                seen[register] = name
        for name in ("power_w_per_unit", "energy_wh_per_unit"):
            scale = getattr(self, name)
            if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
                raise ValueError(f"{name} must be a positive number, not {scale!r}")
        if self.table not in TABLES:
            raise ValueError(f"table must be one of {', '.join(TABLES)}, not {self.table!r}")
        _check_word_order(self.word_order)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], base: MeterRegisterMap | None = None) -> MeterRegisterMap:
        """`base` (SDM630 if None) with the entries named in `d` replaced; per-phase addresses as a list."""
        known = {f.name for f in fields(cls)}
        for name in d:
            if name not in known:
                raise ValueError(f"unknown meter register {name!r}; known: {', '.join(sorted(known))}")
        changes: dict[str, Any] = {name: tuple(value) if name in cls.PER_PHASE and isinstance(value, list) else value
                                   for name, value in d.items()}
        return replace(base or cls(), **changes)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def registers(self) -> dict[str, int]:
        """Value name -> first register, per phase as "voltage_v[0]"; in layout order."""
        out: dict[str, int] = {}
        for name in self.PER_PHASE:
            out.update((f"{name}[{i}]", address) for i, address in enumerate(getattr(self, name)))
        out.update((name, getattr(self, name)) for name in self.SINGLE)
        return out

    @property
    def phases(self) -> int:
        return len(self.voltage_v)


SDM630_MAP = MeterRegisterMap()

PRESETS: dict[str, MeterRegisterMap] = {"sdm630": SDM630_MAP}


@dataclass(kw_only=True)
class ModbusMeterSettings(ModbusLinkSettings):
    map: str = setting(default="sdm630", choices=tuple(PRESETS), help="register layout preset")
    registers: dict[str, Any] | None = setting(default=None, help="map entries overriding the preset "
                                                                 "(docs/energy-meter.md)")
    word_order: str | None = setting(default=None, choices=WORD_ORDERS, type=str,
                                     help="order of the two registers of a float, overriding the map's")


class ModbusEnergyMeter(ModbusDevice, EnergyMeterProtocol):
    """A meter laid out as `register_map` says (SDM630 by default); connects on first use."""

    backend = "Modbus meter"

    kind = "meter"
    settings = ModbusMeterSettings
    summary = "reference energy meter over Modbus (IEEE-754 float registers)"
    on_lost = "nothing: a meter has no outputs."
    docs = "energy-meter.md"

    def __init__(self, role: str, settings: ModbusMeterSettings | None = None, *,
                 register_map: MeterRegisterMap | None = None, steplog: StepLog | None = None) -> None:
        settings = settings if settings is not None else ModbusMeterSettings()
        self._init_modbus(role, steplog, settings)
        if register_map is None:
            base = PRESETS[settings.map]
            register_map = MeterRegisterMap.from_dict(settings.registers, base) if settings.registers else base
        self.map = register_map
        if settings.word_order is not None:
            self.map = replace(self.map, word_order=settings.word_order)  # checked by the map

    @step
    async def safe_state(self) -> None:
        # A meter has no outputs: nothing to switch off, and nothing is sent, so a dead meter cannot make a
        # bench's safe state fail. The step is still logged, so the action log shows the role was covered.
        return None

    @step
    async def self_test(self) -> dict[str, Any]:
        reading = await self._read()
        return {"phases": self.map.phases, "word_order": self.map.word_order, "reading": reading.as_dict()}

    @step
    async def read(self) -> MeterReading:
        return await self._read()

    async def _read(self) -> MeterReading:
        read = self.link.read_input if self.map.table == "input" else self.link.read_holding
        values: dict[str, float] = {}
        for start, names in register_runs(self.map.registers(), width=2):
            label = names[0] if len(names) == 1 else f"{names[0]}..{names[-1]}"
            registers = await read(label, start, count=2 * len(names))
            for i, name in enumerate(names):
                value = decode_float32(registers[2 * i : 2 * i + 2], self.map.word_order)
                if not math.isfinite(value):
                    raise self.error(f"{name} ({self.map.table} registers {start + 2 * i}-{start + 2 * i + 1}) "
                                     f"reads {value}, not a number")
                values[name] = value
        phases = range(self.map.phases)
        return MeterReading(
            voltage_v=[values[f"voltage_v[{i}]"] for i in phases],
            current_a=[values[f"current_a[{i}]"] for i in phases],
            power_w=_clean(values["power_w"] * self.map.power_w_per_unit),
            energy_wh=_clean(values["energy"] * self.map.energy_wh_per_unit),
            frequency_hz=values["frequency_hz"],
        )


def _clean(value: float) -> float:
    # 12.345 kWh x 1000 is 12344.999999999998 Wh in binary floating point; keep the single's 7 digits
    return float(f"{value:.7g}")
