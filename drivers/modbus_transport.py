"""How a Modbus driver reaches its device: Modbus TCP, RTU frames over a TCP socket, or RTU on a serial line.

Three kinds, one description (`ModbusTransport`), one factory for the pymodbus async client:

- ``"tcp"``: Modbus TCP (MBAP header, transaction ids), what the drivers have always spoken.
- ``"rtu-over-tcp"``: RTU frames (device id + PDU + CRC, no header) through a TCP socket, as an Ethernet to
  RS-485 converter in "transparent" / "raw TCP" mode passes them on. Also what the simulated RTU gear serves.
- ``"rtu-serial"``: RTU on a local serial port, i.e. a USB to RS-485 adapter (/dev/ttyUSB0) or a pty.

`drivers.modbus_link.ModbusLink` takes a transport and does the requests: it checks every reply against its
request (RTU has no transaction ids), keeps the inter-frame gap on a serial line, and lets all RTU links to
one serial port or one RTU-over-TCP endpoint share a single connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from pymodbus import FramerType
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.client.base import ModbusBaseClient

TCP, RTU_OVER_TCP, RTU_SERIAL = "tcp", "rtu-over-tcp", "rtu-serial"
KINDS = (TCP, RTU_OVER_TCP, RTU_SERIAL)
PARITIES = ("N", "E", "O")
STOPBITS = (1, 2)
BYTESIZES = (7, 8)
MIN_BAUDRATE, MAX_BAUDRATE = 300, 921600

# Factory setting of most gear we expect on a bench (Eastron meters, RS-485 relay boards). The Modbus
# serial-line specification's own default would be 19200 Bd, even parity.
DEFAULT_BAUDRATE, DEFAULT_PARITY, DEFAULT_STOPBITS = 9600, "N", 1

# Above 19200 Bd the specification fixes the inter-frame gap instead of scaling it with the bit time.
_FAST_LINE_BAUD = 19200
_FAST_LINE_GAP_S = 0.00175


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class ModbusTransport:
    """Where and how to reach a Modbus device. `host`/`port` for the TCP kinds, the serial settings for rtu-serial."""

    kind: str = TCP
    host: str | None = None
    port: int | None = None
    serial_port: str | None = None  # a device path (/dev/ttyUSB0) or any URL pyserial accepts
    baudrate: int = DEFAULT_BAUDRATE
    parity: str = DEFAULT_PARITY
    stopbits: int = DEFAULT_STOPBITS
    bytesize: int = 8

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"transport must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if self.kind == RTU_SERIAL:
            if not isinstance(self.serial_port, str) or not self.serial_port:
                raise ValueError("serial_port must name the serial device (e.g. /dev/ttyUSB0) for transport rtu-serial")
            if self.host is not None:
                raise ValueError("host is not used with transport rtu-serial; set serial_port instead")
        else:
            if not isinstance(self.host, str) or not self.host:
                raise ValueError(f"host must not be empty for transport {self.kind}")
            if not _is_int(self.port) or not 1 <= self.port <= 65535:  # type: ignore[operator]
                raise ValueError(f"port must be 1..65535, not {self.port!r}")
            if self.serial_port is not None:
                raise ValueError(f"serial_port is only used with transport rtu-serial, not {self.kind}")
        if not _is_int(self.baudrate) or not MIN_BAUDRATE <= self.baudrate <= MAX_BAUDRATE:
            raise ValueError(f"baudrate must be {MIN_BAUDRATE}..{MAX_BAUDRATE}, not {self.baudrate!r}")
        if self.parity not in PARITIES:
            raise ValueError(f"parity must be one of {', '.join(PARITIES)} (none, even, odd), not {self.parity!r}")
        if self.stopbits not in STOPBITS or isinstance(self.stopbits, bool):
            raise ValueError(f"stopbits must be 1 or 2, not {self.stopbits!r}")
        if self.bytesize not in BYTESIZES or isinstance(self.bytesize, bool):
            raise ValueError(f"bytesize must be 7 or 8, not {self.bytesize!r}")

    @classmethod
    def from_settings(
        cls,
        transport: str = TCP,
        *,
        host: str | None = None,
        port: int | None = 502,
        serial_port: str | None = None,
        baudrate: int = DEFAULT_BAUDRATE,
        parity: str = DEFAULT_PARITY,
        stopbits: int = DEFAULT_STOPBITS,
    ) -> ModbusTransport:
        """From a driver's flat settings (as a bench config has them); `port` is ignored for rtu-serial."""
        if transport == RTU_SERIAL:
            return cls(RTU_SERIAL, serial_port=serial_port, baudrate=baudrate, parity=parity, stopbits=stopbits)
        return cls(transport, host=host, port=port, serial_port=serial_port, baudrate=baudrate, parity=parity,
                   stopbits=stopbits)

    @property
    def rtu(self) -> bool:
        return self.kind != TCP

    @property
    def serial(self) -> bool:
        return self.kind == RTU_SERIAL

    @property
    def target(self) -> str:
        """What is dialled or opened: host:port, or the serial device."""
        return str(self.serial_port) if self.serial else f"{self.host}:{self.port}"

    def describe(self) -> str:
        """For a driver's address: "127.0.0.1:502", "RTU over TCP 10.0.0.5:4001", "RTU /dev/ttyUSB0 9600 8N1"."""
        if self.kind == TCP:
            return self.target
        if self.kind == RTU_OVER_TCP:
            return f"RTU over TCP {self.target}"
        return f"RTU {self.serial_port} {self.baudrate} {self.bytesize}{self.parity}{self.stopbits}"

    @property
    def char_time_s(self) -> float:
        """Time one character takes on the line: start bit, data bits, parity bit, stop bits."""
        bits = 1 + self.bytesize + (0 if self.parity == "N" else 1) + self.stopbits
        return bits / self.baudrate

    @property
    def frame_gap_s(self) -> float:
        """Silence required between two RTU frames on a serial line (0 on a TCP socket)."""
        if not self.serial:
            return 0.0
        return _FAST_LINE_GAP_S if self.baudrate > _FAST_LINE_BAUD else 3.5 * self.char_time_s

    def client(self, *, timeout_s: float, trace_pdu: Any = None) -> ModbusBaseClient:
        """A fresh pymodbus async client, without pymodbus's own retries and reconnects (the link does those)."""
        common: dict[str, Any] = {
            "timeout": timeout_s,
            "retries": 0,
            "reconnect_delay": 0,
            "name": self.target,
            "trace_pdu": trace_pdu,
        }
        if self.kind == RTU_SERIAL:
            return AsyncModbusSerialClient(
                str(self.serial_port),
                framer=FramerType.RTU,
                baudrate=self.baudrate,
                bytesize=self.bytesize,
                parity=self.parity,
                stopbits=self.stopbits,
                **common,
            )
        framer = FramerType.RTU if self.kind == RTU_OVER_TCP else FramerType.SOCKET
        return AsyncModbusTcpClient(str(self.host), port=int(self.port or 0), framer=framer, **common)


def resolve_transport(
    transport: str | ModbusTransport = TCP,
    *,
    host: str | None = None,
    port: int | None = 502,
    serial_port: str | None = None,
    baudrate: int = DEFAULT_BAUDRATE,
    parity: str = DEFAULT_PARITY,
    stopbits: int = DEFAULT_STOPBITS,
) -> ModbusTransport:
    """A driver's transport from its settings: a transport kind plus flat settings, or a ready ModbusTransport."""
    if isinstance(transport, ModbusTransport):
        if host is not None or serial_port is not None:
            raise ValueError("give either a ModbusTransport or host/serial_port, not both")
        return transport
    return ModbusTransport.from_settings(
        transport, host=host, port=port, serial_port=serial_port, baudrate=baudrate, parity=parity, stopbits=stopbits
    )


def missing_transport_setting(settings: Mapping[str, Any]) -> tuple[str, str] | None:
    """(setting, message) for a bench config role whose transport lacks what it needs, else None.

    Only presence is checked, so it works before `${sim.*}` references are resolved; values are checked when
    the driver is built.
    """
    kind = settings.get("transport") or TCP
    if kind == RTU_SERIAL:
        if not settings.get("serial_port"):
            return "serial_port", "required with transport rtu-serial (e.g. /dev/ttyUSB0)"
        if settings.get("host") is not None:
            return "host", "not used with transport rtu-serial; the device is reached through serial_port"
        return None
    if not settings.get("host"):
        return "host", f"required with transport {kind}"
    if settings.get("serial_port") is not None:
        return "serial_port", f"only used with transport rtu-serial, not {kind}"
    return None
