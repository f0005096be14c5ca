"""`retries` means the same for every driver: the tries after a first one that got no answer (drivers/retry.py).

Counted on the wire: a silent Modbus TCP device on loopback sees the request once with `retries: 0` and three
times with `retries: 2`."""

from __future__ import annotations

import asyncio
import struct
from typing import Any

import pytest

from drivers.dongle.e3372_at import E3372ATDongle
from drivers.dongle.hilink import HiLinkDongle
from drivers.dongle.settings import E3372AtSettings, HiLinkSettings
from drivers.errors import DriverError
from drivers.evse_tester.modbus import ModbusEVEmulator, ModbusEvSettings
from drivers.evse_tester.serial_ev import SerialEVEmulator
from drivers.evse_tester.settings import SerialEvSettings
from drivers.retry import RetryPolicy
from drivers.rfid.chameleon import ChameleonPresenter
from drivers.rfid.settings import ChameleonSettings


class SilentModbusDevice:
    """Accepts Modbus TCP connections, counts the requests (MBAP frames) and never answers."""

    def __init__(self) -> None:
        self.requests = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                header = await reader.readexactly(7)
                (length,) = struct.unpack(">H", header[4:6])
                await reader.readexactly(length - 1)
                self.requests += 1
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


@pytest.mark.parametrize("retries, tries", [(0, 1), (2, 3)])
async def test_retries_are_the_tries_after_the_first(retries: int, tries: int) -> None:
    device = SilentModbusDevice()
    port = await device.start()
    ev = ModbusEVEmulator("ev", ModbusEvSettings(host="127.0.0.1", port=port, timeout_s=0.2, retries=retries))
    try:
        with pytest.raises(DriverError, match=f"no answer after {tries} tr(y|ies) of 0.2 s"):
            await ev.set_cp_state("B")
        assert device.requests == tries
    finally:
        await ev.close()
        await device.stop()


def test_the_policy_counts_and_refuses() -> None:
    assert (RetryPolicy(1.0, 0).tries, RetryPolicy(1.0, 2).tries) == (1, 3)
    assert RetryPolicy(0.5, 0).describe() == "1 try of 0.5 s"
    with pytest.raises(ValueError, match="retries must be an integer 0..10"):
        RetryPolicy(1.0, -1)
    with pytest.raises(ValueError, match="timeout_s must be a positive number"):
        RetryPolicy(0, 1)


@pytest.mark.parametrize("make", [
    lambda **kw: ChameleonPresenter("card", ChameleonSettings(port="/dev/null-card", **kw)),
    lambda **kw: HiLinkDongle("modem", HiLinkSettings(host="127.0.0.1", **kw)),
    lambda **kw: E3372ATDongle("modem", E3372AtSettings(port="/dev/null-at", **kw)),
    lambda **kw: SerialEVEmulator("ev", SerialEvSettings(port="/dev/null-ev", **kw)),
], ids=["chameleon", "hilink", "e3372_at", "serial_ev"])
def test_drivers_with_their_own_retry_loop_check_timeout_and_retries_by_the_one_policy(make: Any) -> None:
    make(timeout_s=1.0, retries=10)  # the policy's bounds, not the driver's own
    with pytest.raises(ValueError, match="retries must be an integer 0..10"):
        make(retries=11)
    with pytest.raises(ValueError, match="timeout_s must be a positive number"):
        make(timeout_s=0)
