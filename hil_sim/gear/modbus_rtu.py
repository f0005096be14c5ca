"""Simulated Modbus RTU gear: the devices of `modbus_gear` on an RTU bus, over loopback TCP or over a pty pair.

The devices are the very same classes (`EVEmulatorRegisters`, `RelayBoardCoils` and any other `SimDevice`,
e.g. the energy meter of `energy_meter`), so every read is still computed from the World and every write
goes into it; only the framing changes: device id + PDU + CRC instead of the Modbus TCP header.

Two ways to reach the bus:

- `start_modbus_rtu_gear`: RTU frames over a loopback TCP socket, like an Ethernet to RS-485 converter in
  transparent mode. The driver uses transport "rtu-over-tcp".
- `start_modbus_rtu_pty_gear`: a real serial port for the driver (transport "rtu-serial"): two
  pseudo-terminals whose master sides are joined by a small bridge, a null-modem cable in software.
  pymodbus's `ModbusSerialServer` opens one slave, the driver's `AsyncModbusSerialClient` the other
  (`gear.serial_port`); both go through pyserial exactly as with a USB to RS-485 adapter. Baud rate and
  stop bits are accepted on both ends but a pty does not enforce them, so a mismatch is not detected here
  as it would be on a wire. Parity cannot be simulated at all: a Linux pty keeps 8 data bits without
  parity, and pymodbus's serial transport fails to open it with parity E or O, so the pty gear is 8N1/8N2.

As on an RS-485 bus, a request to a device id nobody has gets no answer at all (pymodbus would otherwise
answer for the missing device: its `ignore_missing_devices` does not work with `SimDevice`s in 3.16, the
lookup fails with a KeyError and the server replies "device failure"). `gear.silent = True` silences every
device, so a driver's timeout path can be tested.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import termios
import tty
from collections import Counter
from typing import Iterable

from pymodbus import FramerType
from pymodbus.pdu import ModbusPDU
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import SimDevice

from drivers.evse_tester.register_map import DEFAULT_MAP, RegisterMap
from drivers.modbus_transport import DEFAULT_BAUDRATE, DEFAULT_PARITY, DEFAULT_STOPBITS, ModbusTransport

from ..world import World
from .modbus_gear import (
    DEFAULT_RELAY_WIRING,
    EVEmulatorRegisters,
    ModbusGear,
    RelayBoardCoils,
    _check_loopback,
    listening_port,
    pymodbus_trace,
)

_FRAMERS = {"socket": FramerType.SOCKET, "rtu": FramerType.RTU}


def _check_device_id(name: str, device_id: object) -> None:
    if isinstance(device_id, bool) or not isinstance(device_id, int) or not 1 <= device_id <= 247:
        raise ValueError(f"{name} must be 1..247, not {device_id!r}")


def bus_devices(
    world: World,
    *,
    ev_device_id: int | None = 1,
    ev_connector_id: int = 1,
    relay_device_id: int | None = 2,
    relay_wiring: dict[int, str] | None = None,
    ev_register_map: RegisterMap | None = None,
    extra_devices: Iterable[SimDevice] = (),
) -> list[SimDevice]:
    """The EV emulator and the relay board (either left out with a device id of None) plus `extra_devices`."""
    devices: list[SimDevice] = []
    if ev_device_id is not None:
        _check_device_id("ev_device_id", ev_device_id)
        ev = EVEmulatorRegisters(world, ev_connector_id, ev_register_map or DEFAULT_MAP)
        devices.append(ev.sim_device(ev_device_id))
    if relay_device_id is not None:
        _check_device_id("relay_device_id", relay_device_id)
        wiring = DEFAULT_RELAY_WIRING if relay_wiring is None else relay_wiring
        devices.append(RelayBoardCoils(world, wiring).sim_device(relay_device_id))
    devices.extend(extra_devices)
    seen: set[int] = set()
    for device in devices:
        _check_device_id("device id", device.id)
        if device.id in seen:
            raise ValueError(f"two devices on one bus share device id {device.id}")
        seen.add(device.id)
    if not devices:
        raise ValueError("a bus needs at least one device")
    return devices


class BusFilter:
    """The request filter of a simulated bus: absent devices never answer, nor does anyone while `silent`."""

    def __init__(self, device_ids: Iterable[int]) -> None:
        self.device_ids = frozenset(device_ids)
        self.silent = False
        self.requests: Counter[int] = Counter()  # requests seen per device id, answered or not

    def trace_pdu(self, sending: bool, pdu: ModbusPDU) -> ModbusPDU | None:
        if not sending:
            self.requests[pdu.dev_id] += 1
        # pymodbus handles a request only when this hook returns one: None drops it (the frame is consumed),
        # which leaves the client waiting until its timeout, like a device that is not there
        if not sending and (self.silent or pdu.dev_id not in self.device_ids):
            return None
        return pdu


class ModbusBusGear(ModbusGear):
    """A running simulated Modbus server on loopback TCP (RTU or TCP framing) whose absent devices stay silent."""

    def __init__(self, server: ModbusTcpServer, host: str, port: int, bus: BusFilter, framer: str) -> None:
        self._bus = bus  # before ModbusGear.__init__, which sets `silent`
        super().__init__(server, host, port)
        self.framer = framer
        self.device_ids = bus.device_ids
        self.requests = bus.requests

    @property  # type: ignore[override]
    def silent(self) -> bool:
        return self._bus.silent

    @silent.setter
    def silent(self, value: bool) -> None:
        self._bus.silent = value

    def transport(self) -> ModbusTransport:
        """How a driver reaches this gear."""
        return ModbusTransport("rtu-over-tcp" if self.framer == "rtu" else "tcp", host=self.host, port=self.port)


async def serve_modbus_devices(
    devices: list[SimDevice], *, host: str = "127.0.0.1", port: int = 0, framer: str = "rtu"
) -> ModbusBusGear:
    """Serve `devices` on host:port (port 0 picks a free one) with "rtu" or "socket" (Modbus TCP) framing."""
    _check_loopback(host)
    if framer not in _FRAMERS:
        raise ValueError(f"framer must be one of {', '.join(_FRAMERS)}, not {framer!r}")
    bus = BusFilter(device.id for device in devices)
    server = ModbusTcpServer(devices, address=(host, port), framer=_FRAMERS[framer],
                             trace_pdu=pymodbus_trace(bus.trace_pdu))
    try:
        await server.serve_forever(background=True)
    except RuntimeError as exc:  # pymodbus reports a failed bind this way, without the reason
        raise OSError(f"simulated Modbus gear cannot listen on {host}:{port} (port in use?)") from exc
    return ModbusBusGear(server, host, listening_port(server), bus, framer)


async def start_modbus_rtu_gear(
    world: World,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    ev_device_id: int | None = 1,
    ev_connector_id: int = 1,
    relay_device_id: int | None = 2,
    relay_wiring: dict[int, str] | None = None,
    ev_register_map: RegisterMap | None = None,
    extra_devices: Iterable[SimDevice] = (),
) -> ModbusBusGear:
    """The devices of `start_modbus_gear` (plus `extra_devices`) as an RTU bus behind a loopback TCP port."""
    devices = bus_devices(
        world, ev_device_id=ev_device_id, ev_connector_id=ev_connector_id, relay_device_id=relay_device_id,
        relay_wiring=relay_wiring, ev_register_map=ev_register_map, extra_devices=extra_devices,
    )
    return await serve_modbus_devices(devices, host=host, port=port, framer="rtu")


class _PtyEnd:
    """One pseudo-terminal: a master we read and write, a slave whose path a serial client opens."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        try:
            # raw before anyone opens it: no echo, no line editing, no CR/LF translation of binary frames
            tty.setraw(self.slave, termios.TCSANOW)
            os.set_blocking(self.master, False)
            self.path = os.ttyname(self.slave)
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)


class PtyModbusGear:
    """A simulated RTU bus on a pty pair: the driver opens `serial_port`; `silent` as on the TCP gear."""

    def __init__(self, bus: BusFilter, baudrate: int, parity: str, stopbits: int) -> None:
        self._bus = bus
        self.device_ids = bus.device_ids
        self.requests = bus.requests
        self.baudrate, self.parity, self.stopbits = baudrate, parity, stopbits
        self._driver_end = _PtyEnd()
        try:
            self._device_end = _PtyEnd()
        except Exception:
            self._driver_end.close()
            raise
        self.serial_port = self._driver_end.path
        self._server: ModbusSerialServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped = False

    @property
    def silent(self) -> bool:
        return self._bus.silent

    @silent.setter
    def silent(self, value: bool) -> None:
        self._bus.silent = value

    def transport(self) -> ModbusTransport:
        return ModbusTransport(
            "rtu-serial", serial_port=self.serial_port, baudrate=self.baudrate, parity=self.parity,
            stopbits=self.stopbits,
        )

    async def _start(self, devices: list[SimDevice]) -> None:
        self._loop = asyncio.get_running_loop()
        # The slaves stay open on our side too, so a master never reads EIO while its client is closed.
        self._loop.add_reader(self._driver_end.master, self._pass, self._driver_end.master, self._device_end.master)
        self._loop.add_reader(self._device_end.master, self._pass, self._device_end.master, self._driver_end.master)
        self._server = ModbusSerialServer(
            devices,
            port=self._device_end.path,
            framer=FramerType.RTU,
            baudrate=self.baudrate,
            parity=self.parity,
            stopbits=self.stopbits,
            trace_pdu=pymodbus_trace(self._bus.trace_pdu),
        )
        try:
            await self._server.serve_forever(background=True)
        except RuntimeError as exc:
            raise OSError(f"simulated Modbus RTU gear cannot open {self._device_end.path}") from exc

    @staticmethod
    def _pass(source: int, sink: int) -> None:
        try:
            data = os.read(source, 4096)
            os.write(sink, data)
        except (BlockingIOError, InterruptedError):
            # nothing to read, or the far side's queue is full because nobody has the port open: a line
            # without a listener loses what is sent on it
            pass
        except OSError:
            pass

    async def stop(self) -> None:
        """Close the server and both ptys. Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        if self._server is not None:
            await self._server.shutdown()
        if self._loop is not None:
            for end in (self._driver_end, self._device_end):
                self._loop.remove_reader(end.master)
        self._driver_end.close()
        self._device_end.close()

    async def __aenter__(self) -> PtyModbusGear:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


async def serve_modbus_devices_on_pty(
    devices: list[SimDevice],
    *,
    baudrate: int = DEFAULT_BAUDRATE,
    parity: str = DEFAULT_PARITY,
    stopbits: int = DEFAULT_STOPBITS,
) -> PtyModbusGear:
    """Serve `devices` as an RTU bus on a pty pair; the driver opens `gear.serial_port`."""
    # the same checks a driver's settings get
    ModbusTransport("rtu-serial", serial_port="-", baudrate=baudrate, parity=parity, stopbits=stopbits)
    if parity != "N":
        # Linux ptys keep 8 data bits without parity: the kernel drops PARENB, and pymodbus's serial transport
        # then fails re-applying its settings (termios EINVAL), on the gear's side and on the driver's
        raise ValueError(f"a pty cannot carry parity {parity}: the simulated serial bus needs parity N")
    gear = PtyModbusGear(BusFilter(device.id for device in devices), baudrate, parity, stopbits)
    try:
        await gear._start(devices)
    except BaseException:
        await gear.stop()
        raise
    return gear


async def start_modbus_rtu_pty_gear(
    world: World,
    *,
    ev_device_id: int | None = 1,
    ev_connector_id: int = 1,
    relay_device_id: int | None = 2,
    relay_wiring: dict[int, str] | None = None,
    ev_register_map: RegisterMap | None = None,
    extra_devices: Iterable[SimDevice] = (),
    baudrate: int = DEFAULT_BAUDRATE,
    parity: str = DEFAULT_PARITY,
    stopbits: int = DEFAULT_STOPBITS,
) -> PtyModbusGear:
    """The devices of `start_modbus_gear` (plus `extra_devices`) as an RTU bus on a serial port (a pty)."""
    devices = bus_devices(
        world, ev_device_id=ev_device_id, ev_connector_id=ev_connector_id, relay_device_id=relay_device_id,
        relay_wiring=relay_wiring, ev_register_map=ev_register_map, extra_devices=extra_devices,
    )
    return await serve_modbus_devices_on_pty(devices, baudrate=baudrate, parity=parity, stopbits=stopbits)
