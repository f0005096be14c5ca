"""One relay channel of a Modbus relay board (TCP or RTU): a coil, optionally inverted (normally-closed wiring)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from benchctl.config.typed import setting

from ..errors import DriverError
from ..modbus_device import ModbusDevice
from ..modbus_settings import ModbusLinkSettings
from ..modbus_watchdog import DEFAULT_WATCHDOG_REGISTER, ModbusWatchdog
from ..safety import level as _level
from ..safety import logical_level, wire_level
from ..steplog import StepLog, step
from .protocol import DigitalOutputProtocol


@dataclass(kw_only=True)
class ModbusCoilSettings(ModbusLinkSettings):
    coil: int = setting(required=True, minimum=0, maximum=65535)
    invert: bool = setting(default=False, help="the coil is written the opposite of the logical level "
                                               "(normally-closed wiring)")
    safe_level: bool = setting(default=False, help="logical level in the safe state")
    watchdog_s: float = setting(default=0.0, minimum=0,
                                help="arm the board's communication watchdog: with no request for this long it "
                                     "switches its outputs off (0: not armed; docs/unattended.md)")
    watchdog_register: int = setting(default=DEFAULT_WATCHDOG_REGISTER, minimum=0, maximum=65535,
                                     help="holding register of the watchdog time in 100 ms ticks")


class ModbusCoilOutput(ModbusDevice, DigitalOutputProtocol):
    """`set(True)` energises the output at the logical level: the coil is written `level != invert`."""

    backend = "Modbus coil"

    kind = "digital_output"
    settings = ModbusCoilSettings
    summary = "one coil of a Modbus relay board"
    on_lost = ("coils hold their last level unless the board's communication watchdog is armed (`watchdog_s`): "
               "then it switches every output off (docs/unattended.md).")

    def __init__(self, role: str, settings: ModbusCoilSettings | None = None, *,
                 steplog: StepLog | None = None) -> None:
        settings = settings if settings is not None else ModbusCoilSettings()
        coil = settings.coil
        if isinstance(coil, bool) or not isinstance(coil, int) or not 0 <= coil <= 0xFFFF:
            raise ValueError(f"coil must be 0..65535, not {coil!r}")
        self._init_modbus(role, steplog, settings, what=f"coil {coil}")
        self.coil = coil
        self.invert = _level("invert", settings.invert)
        # safe_level is a logical level, like set(): the config says "mains on when safe", whatever the wiring
        self.safe_level = _level("safe_level", settings.safe_level)
        # the board's own watchdog: it switches its outputs OFF (not to safe_level) when benchctl goes silent
        self.watchdog = ModbusWatchdog(self.link, role, settings.watchdog_s, settings.watchdog_register) \
            if settings.watchdog_s else None

    @step
    async def connect(self) -> None:
        await self.link.connect()
        if self.watchdog is not None:
            await self.watchdog.arm()

    @step
    async def close(self) -> None:
        try:
            if self.watchdog is not None:
                await self.watchdog.disarm()
        except DriverError:
            pass  # the board is gone; its watchdog, still armed, puts it safe by itself
        finally:
            await self.link.close()

    @step
    async def set(self, level: bool) -> None:
        await self.link.write_coil(self.role, self.coil, wire_level(level, self.invert))

    @step
    async def get(self) -> bool:
        return logical_level(await self._read_raw(), self.invert)

    @step
    async def safe_state(self) -> None:
        await self.set(self.safe_level)

    @step
    async def self_test(self) -> dict[str, Any]:
        raw = await self._read_raw()
        return {"coil": self.coil, "raw": raw, "level": logical_level(raw, self.invert), "invert": self.invert}

    async def _read_raw(self) -> bool:
        return (await self.link.read_coils(self.role, self.coil))[0]
