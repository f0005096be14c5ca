"""One relay channel of a Modbus relay board (TCP or RTU): a coil, optionally inverted (normally-closed wiring)."""

from __future__ import annotations

from typing import Any

from ..errors import DriverError
from ..modbus_device import ModbusDevice
from ..modbus_transport import DEFAULT_BAUDRATE, DEFAULT_PARITY, DEFAULT_STOPBITS, ModbusTransport
from ..modbus_watchdog import DEFAULT_WATCHDOG_REGISTER, ModbusWatchdog
from ..steplog import StepLog, step
from .protocol import DigitalOutputProtocol


def _level(name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ValueError(f"{name} must be true or false, not {value!r}")


class ModbusCoilOutput(ModbusDevice, DigitalOutputProtocol):
    """`set(True)` energises the output at the logical level: the coil is written `level != invert`."""

    backend = "Modbus coil"

    def __init__(
        self,
        role: str,
        host: str | None = None,
        port: int = 502,
        device_id: int = 1,
        coil: int = 0,
        invert: bool = False,
        safe_level: bool = False,
        timeout_s: float = 1.0,
        retries: int = 3,
        transport: str | ModbusTransport = "tcp",
        serial_port: str | None = None,
        baudrate: int = DEFAULT_BAUDRATE,
        parity: str = DEFAULT_PARITY,
        stopbits: int = DEFAULT_STOPBITS,
        steplog: StepLog | None = None,
        watchdog_s: float = 0.0,
        watchdog_register: int = DEFAULT_WATCHDOG_REGISTER,
    ) -> None:
        if isinstance(coil, bool) or not isinstance(coil, int) or not 0 <= coil <= 0xFFFF:
            raise ValueError(f"coil must be 0..65535, not {coil!r}")
        self._init_modbus(role, steplog, transport=transport, host=host, port=port,
                           serial_port=serial_port, baudrate=baudrate, parity=parity, stopbits=stopbits,
                           device_id=device_id, timeout_s=timeout_s, retries=retries, what=f"coil {coil}")
        self.coil = coil
        self.invert = _level("invert", invert)
        # safe_level is a logical level, like set(): the config says "mains on when safe", whatever the wiring
        self.safe_level = _level("safe_level", safe_level)
        # the board's own watchdog: it switches its outputs OFF (not to safe_level) when benchctl goes silent
        self.watchdog = ModbusWatchdog(self.link, role, watchdog_s, watchdog_register) if watchdog_s else None

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
        await self.link.write_coil(self.role, self.coil, _level("level", level) != self.invert)

    @step
    async def get(self) -> bool:
        return await self._read_raw() != self.invert

    @step
    async def safe_state(self) -> None:
        await self.set(self.safe_level)

    @step
    async def self_test(self) -> dict[str, Any]:
        raw = await self._read_raw()
        return {"coil": self.coil, "raw": raw, "level": raw != self.invert, "invert": self.invert}

    async def _read_raw(self) -> bool:
        return (await self.link.read_coils(self.role, self.coil))[0]
