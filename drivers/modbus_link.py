"""One Modbus TCP connection with a timeout on every request and our own retries, shared by the Modbus drivers.

We leave pymodbus's own retries and reconnects off (retries=0, reconnect_delay=0): they log and reconnect in
background tasks, while a driver must give up after a known time and say so in a DriverError. After a failed
attempt the connection is dropped, so a late answer to an abandoned request can never be taken for the
answer to the next one.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException
from pymodbus.pdu import ModbusPDU

from .errors import DriverError

# Exception codes of the Modbus application protocol, for messages a bench operator can act on.
EXCEPTION_NAMES = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "device failure",
    5: "acknowledge",
    6: "device busy",
    8: "memory parity error",
    10: "gateway path unavailable",
    11: "gateway target device failed to respond",
}

ErrorFactory = Callable[[str], DriverError]
Request = Callable[[AsyncModbusTcpClient], Awaitable[ModbusPDU]]


def _span(kind: str, address: int, count: int) -> str:
    return f"{kind} {address}" if count == 1 else f"{kind}s {address}-{address + count - 1}"


def validate_link_settings(host: str, port: int, device_id: int, timeout_s: float, retries: int) -> None:
    """ValueError naming the bad setting, before a driver touches the network."""
    if not host:
        raise ValueError("host must not be empty")
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValueError(f"port must be 1..65535, not {port!r}")
    if isinstance(device_id, bool) or not isinstance(device_id, int) or not 0 <= device_id <= 247:
        raise ValueError(f"device_id must be 0..247, not {device_id!r}")
    if not timeout_s > 0:
        raise ValueError(f"timeout_s must be positive, not {timeout_s!r}")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 1:
        raise ValueError(f"retries must be an integer of at least 1 (the number of tries), not {retries!r}")


class ModbusLink:
    """Requests to one device over Modbus TCP; `retries` is the total number of tries per request."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        device_id: int,
        timeout_s: float,
        retries: int,
        error: ErrorFactory,
    ) -> None:
        validate_link_settings(host, port, device_id, timeout_s, retries)
        self.host = host
        self.port = port
        self.device_id = device_id
        self.timeout_s = timeout_s
        self.retries = retries
        self._error = error
        self._client: AsyncModbusTcpClient | None = None
        # one request at a time: the retry loop reconnects, which must not pull the socket from under another call
        self._lock = asyncio.Lock()

    @property
    def connected(self) -> bool:
        return self._client is not None and self._client.connected

    async def connect(self) -> None:
        """Connect if not connected; DriverError after `retries` failed tries."""
        async with self._lock:
            for _ in range(self.retries):
                if await self._ensure_connected():
                    return
            raise self._error(f"cannot connect to {self.host}:{self.port} after {self.retries} tries")

    async def close(self) -> None:
        async with self._lock:
            self._drop()

    async def read_holding(self, name: str, address: int, count: int = 1) -> list[int]:
        response = await self._call(
            f"{name} ({_span('holding register', address, count)})",
            lambda c: c.read_holding_registers(address, count=count, device_id=self.device_id),
        )
        return list(response.registers)

    async def read_input(self, name: str, address: int, count: int = 1) -> list[int]:
        response = await self._call(
            f"{name} ({_span('input register', address, count)})",
            lambda c: c.read_input_registers(address, count=count, device_id=self.device_id),
        )
        return list(response.registers)

    async def write_register(self, name: str, address: int, value: int) -> None:
        await self._call(
            f"{name} (holding register {address})",
            lambda c: c.write_register(address, value, device_id=self.device_id),
        )

    async def read_coils(self, name: str, address: int, count: int = 1) -> list[bool]:
        response = await self._call(
            f"{name} ({_span('coil', address, count)})",
            lambda c: c.read_coils(address, count=count, device_id=self.device_id),
        )
        # the reply is padded to whole bytes
        return list(response.bits[:count])

    async def write_coil(self, name: str, address: int, value: bool) -> None:
        await self._call(
            f"{name} (coil {address})",
            lambda c: c.write_coil(address, value, device_id=self.device_id),
        )

    async def _ensure_connected(self) -> bool:
        if self.connected:
            return True
        self._drop()
        # a fresh client per connection: no transaction ids or half-read frames carried over
        self._client = AsyncModbusTcpClient(
            self.host,
            port=self.port,
            timeout=self.timeout_s,
            retries=0,
            reconnect_delay=0,
            name=f"{self.host}:{self.port}",
        )
        try:
            ok = await asyncio.wait_for(self._client.connect(), self._guard_s)
        except (asyncio.TimeoutError, OSError):
            ok = False
        if not ok:
            self._drop()
        return ok

    def _drop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    @property
    def _guard_s(self) -> float:
        # pymodbus times out by itself after timeout_s; this outer bound only catches a stuck library call
        return self.timeout_s * 2 + 0.5

    async def _call(self, what: str, request: Request) -> Any:
        async with self._lock:
            never_connected = True
            for _ in range(self.retries):
                if not await self._ensure_connected():
                    continue
                never_connected = False
                assert self._client is not None
                try:
                    response = await asyncio.wait_for(request(self._client), self._guard_s)
                except (ModbusException, asyncio.TimeoutError, OSError):
                    self._drop()
                    continue
                if response.isError():
                    code = getattr(response, "exception_code", None)
                    reason = EXCEPTION_NAMES.get(code, f"exception code {code}")
                    raise self._error(f"{what}: Modbus exception {code} ({reason})")
                return response
            if never_connected:
                raise self._error(f"cannot connect to {self.host}:{self.port} after {self.retries} tries")
            raise self._error(f"no answer after {self.retries} tries")
