"""One Modbus connection (TCP, RTU over TCP or RTU on a serial line) with a timeout on every request and our
own retries, shared by the Modbus drivers.

We leave pymodbus's own retries and reconnects off (retries=0, reconnect_delay=0): they log and reconnect in
background tasks, while a driver must give up after a known time and say so in a DriverError. After a failed
attempt the connection is dropped, so a late answer to an abandoned request can never be taken for the
answer to the next one (on a serial line, reopening the port flushes what arrived); and since RTU frames
carry no transaction id, every reply is also checked against its request (function code, register count,
written address).

Where the device is comes from a `ModbusTransport` (`drivers.modbus_transport`). Modbus TCP links keep a
connection each. RTU links to one serial port or one RTU-over-TCP endpoint share a single connection and take
turns, with the inter-frame gap between requests: the port opens only once (pymodbus opens it exclusively)
and an RS-485 bus has one master.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Any, Awaitable, Callable

from pymodbus.client.base import ModbusBaseClient
from pymodbus.exceptions import ModbusException, ModbusIOException
from pymodbus.pdu import ModbusPDU

from .errors import DriverError
from .modbus_transport import RTU_SERIAL, ModbusTransport
from .retry import RetryPolicy

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
Request = Callable[[ModbusBaseClient], Awaitable[ModbusPDU]]

_READ_REGISTERS = (3, 4)
_WRITE_ONE = (5, 6)

# pymodbus's own response timer is set out of the way: the link times each request itself, because links with
# different timeouts may share one client.
_LIBRARY_TIMEOUT_S = 3600.0


def _span(kind: str, address: int, count: int) -> str:
    return f"{kind} {address}" if count == 1 else f"{kind}s {address}-{address + count - 1}"


def validate_link_settings(device_id: int, timeout_s: float, retries: int) -> None:
    """ValueError naming the bad setting, before a driver touches the network (the transport checks the rest)."""
    if isinstance(device_id, bool) or not isinstance(device_id, int) or not 0 <= device_id <= 247:
        raise ValueError(f"device_id must be 0..247, not {device_id!r}")
    RetryPolicy(timeout_s, retries)


class _Line:
    """One connection and the lock that keeps it to one request at a time."""

    def __init__(self, transport: ModbusTransport, loop: asyncio.AbstractEventLoop) -> None:
        self.transport = transport
        self.loop = loop
        self.lock = asyncio.Lock()
        self.client: ModbusBaseClient | None = None
        self.sent: ModbusPDU | None = None  # the request on the wire, to match its reply against
        self.free_at = 0.0  # loop time from which the line has been quiet long enough for the next frame
        self.users: set[int] = set()  # links that opened it and have not closed it

    @property
    def connected(self) -> bool:
        return self.client is not None and self.client.connected

    def trace_pdu(self, sending: bool, pdu: ModbusPDU) -> ModbusPDU:
        if sending:
            self.sent = pdu
        return pdu

    def drop(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None


# Shared RTU lines by what they reach; a line belongs to the event loop it was opened in.
_SHARED_LINES: dict[tuple[str, ...], _Line] = {}


def _line_key(transport: ModbusTransport) -> tuple[str, ...]:
    if transport.serial:
        port = str(transport.serial_port)
        # /dev/serial/by-id/... and /dev/ttyUSB0 are the same adapter
        return (RTU_SERIAL, os.path.realpath(port) if port.startswith("/") else port)
    return (transport.kind, str(transport.host), str(transport.port))


def _line_settings(transport: ModbusTransport) -> tuple[object, ...]:
    return (transport.baudrate, transport.bytesize, transport.parity, transport.stopbits) if transport.serial else ()


def _check_reply(request: ModbusPDU | None, response: ModbusPDU) -> None:
    """ModbusIOException when `response` cannot be the answer to `request` (RTU frames carry no id to match)."""
    if request is None:
        return
    if response.function_code & 0x7F != request.function_code:
        raise ModbusIOException(
            f"reply with function code {response.function_code} to a request with {request.function_code}"
        )
    if response.isError():
        return
    if request.function_code in _READ_REGISTERS and len(response.registers) != request.count:
        raise ModbusIOException(f"reply with {len(response.registers)} registers to a read of {request.count}")
    if request.function_code in _WRITE_ONE and response.address != request.address:
        raise ModbusIOException(f"reply for address {response.address} to a write of {request.address}")


class ModbusLink:
    """Requests to one device over `transport`; each try waits `timeout_s`, `retries` more follow an unanswered one
    (drivers/retry.py)."""

    def __init__(
        self,
        *,
        transport: ModbusTransport,
        device_id: int,
        timeout_s: float,
        retries: int,
        error: ErrorFactory,
    ) -> None:
        validate_link_settings(device_id, timeout_s, retries)
        if transport.rtu and device_id == 0:
            raise ValueError("device_id 0 is the RTU broadcast address, which no device answers; use 1..247")
        self.transport = transport
        self.device_id = device_id
        self.policy = RetryPolicy(timeout_s, retries)
        self.timeout_s = timeout_s
        self._error = error
        self._line: _Line | None = None  # found or opened on first use, inside the event loop

    @property
    def connected(self) -> bool:
        return self._line is not None and self._line.connected

    async def connect(self) -> None:
        """Connect if not connected; DriverError when every try failed."""
        line = self._use_line()
        async with line.lock:
            for _ in range(self.policy.tries):
                if await self._open(line):
                    return
            raise self._error(self._unreachable())

    async def close(self) -> None:
        """Close this link; a shared connection stays open until the last link using it closes."""
        line = self._line
        if line is None:
            return
        async with line.lock:
            line.users.discard(id(self))
            if not line.users:
                line.drop()
                key = _line_key(self.transport)
                if _SHARED_LINES.get(key) is line:
                    del _SHARED_LINES[key]

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

    def _use_line(self) -> _Line:
        loop = asyncio.get_running_loop()
        line = self._line
        if line is None or line.loop is not loop:
            line = self._find_line(loop)
            self._line = line
        line.users.add(id(self))
        return line

    def _find_line(self, loop: asyncio.AbstractEventLoop) -> _Line:
        if not self.transport.rtu:
            return _Line(self.transport, loop)
        key = _line_key(self.transport)
        line = _SHARED_LINES.get(key)
        if line is None or line.loop is not loop:
            if line is not None:  # left open in an event loop that is gone: release the port
                with contextlib.suppress(Exception):
                    line.drop()
            line = _SHARED_LINES[key] = _Line(self.transport, loop)
        elif _line_settings(line.transport) != _line_settings(self.transport):
            raise self._error(
                f"{self.transport.target} is already open as {line.transport.describe()}; every device on one "
                f"bus needs the same line settings"
            )
        return line

    def _unreachable(self) -> str:
        if not self.transport.serial:
            return f"cannot connect to {self.transport.target} after {self.policy.describe()}"
        port = str(self.transport.serial_port)
        missing = port.startswith("/") and not os.path.exists(port)
        return f"cannot open {port} after {self.policy.describe()}" + (" (no such device)" if missing else "")

    async def _open(self, line: _Line) -> bool:
        if line.connected:
            return True
        line.drop()
        # a fresh client per connection: no transaction ids or half-read frames carried over
        line.client = self.transport.client(timeout_s=_LIBRARY_TIMEOUT_S, trace_pdu=line.trace_pdu)
        try:
            # pymodbus's own timer is out of the way (see _LIBRARY_TIMEOUT_S): a connect gets timeout_s, as a request
            ok = await asyncio.wait_for(line.client.connect(), self.timeout_s)
        except (asyncio.TimeoutError, OSError):
            ok = False
        if not ok:
            line.drop()
        return ok

    def _drop(self) -> None:
        if self._line is not None:
            self._line.drop()

    async def _exchange(self, line: _Line, request: Request) -> ModbusPDU:
        quiet = line.free_at - line.loop.time()
        if quiet > 0:
            await asyncio.sleep(quiet)
        line.sent = None
        try:
            response = await asyncio.wait_for(request(line.client), self.timeout_s)  # type: ignore[arg-type]
        finally:
            line.free_at = line.loop.time() + self.transport.frame_gap_s
        _check_reply(line.sent, response)
        return response

    async def _call(self, what: str, request: Request) -> Any:
        line = self._use_line()
        async with line.lock:
            never_connected = True
            for _ in range(self.policy.tries):
                if not await self._open(line):
                    continue
                never_connected = False
                try:
                    response = await self._exchange(line, request)
                except (ModbusException, asyncio.TimeoutError, OSError):
                    line.drop()
                    continue
                if response.isError():
                    code = getattr(response, "exception_code", None)
                    name = EXCEPTION_NAMES.get(code) if isinstance(code, int) else None
                    reason = name or f"exception code {code}"
                    raise self._error(f"{what}: Modbus exception {code} ({reason})")
                return response
            if never_connected:
                raise self._error(self._unreachable())
            raise self._error(f"no answer after {self.policy.describe()}")
