"""The settings every Modbus driver shares (how to reach the device, the retry policy), declared once: the EV
emulator's, the relay coil's and the meter's settings inherit them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from benchctl.config.typed import setting

from .modbus_transport import (
    DEFAULT_BAUDRATE,
    DEFAULT_PARITY,
    DEFAULT_STOPBITS,
    KINDS,
    MAX_BAUDRATE,
    MIN_BAUDRATE,
    ModbusTransport,
    missing_transport_setting,
    resolve_transport,
)
from .retry import retries_setting, timeout_setting


@dataclass(kw_only=True)
class ModbusLinkSettings:
    """Where a Modbus device is and how hard to try. `transport` may also be a ready ModbusTransport (a program
    sharing one serial line between drivers); a bench config names the kind."""

    transport: str | ModbusTransport = setting(
        default="tcp", choices=KINDS, type=str,
        help="tcp: Modbus TCP; rtu-over-tcp: RTU frames through a TCP to RS-485 converter; "
             "rtu-serial: RTU on a serial port (RS-485 adapter)")
    host: str | None = setting(default=None, refs=True, type=str, help="IP address or host name (tcp, rtu-over-tcp)")
    port: int | str = setting(default=502, refs=True, minimum=0, maximum=65535, help="TCP port (tcp, rtu-over-tcp)")
    serial_port: str | None = setting(default=None, refs=True, type=str,
                                      help="serial device for rtu-serial, e.g. /dev/ttyUSB0")
    baudrate: int = setting(default=DEFAULT_BAUDRATE, minimum=MIN_BAUDRATE, maximum=MAX_BAUDRATE,
                            help="rtu-serial only")
    parity: str = setting(default=DEFAULT_PARITY, choices=("N", "E", "O"), help="rtu-serial only: none, even, odd")
    stopbits: int = setting(default=DEFAULT_STOPBITS, choices=(1, 2), help="rtu-serial only")
    device_id: int = setting(default=1, minimum=0, maximum=247)
    timeout_s: float = timeout_setting(1.0)
    retries: int = retries_setting(2)

    def resolve_transport(self) -> ModbusTransport:
        return resolve_transport(self.transport, host=self.host, port=self.port,  # type: ignore[arg-type]
                                 serial_port=self.serial_port, baudrate=self.baudrate, parity=self.parity,
                                 stopbits=self.stopbits)


def check_transport(settings: dict[str, Any]) -> tuple[str, str] | None:
    """The cross-field check of a Modbus driver's settings (Driver.check_settings)."""
    return missing_transport_setting(settings)
