"""The simulated Modbus gear that the Modbus driver tests talk to over loopback TCP."""

from __future__ import annotations

from typing import Any, AsyncIterator

import pytest

from hil_sim.gear.modbus_gear import ModbusGear, start_modbus_gear
from hil_sim.world import World


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
async def gear(world: World) -> AsyncIterator[ModbusGear]:
    gear = await start_modbus_gear(world)
    yield gear
    await gear.stop()


@pytest.fixture
async def opened() -> AsyncIterator[list[Any]]:
    """Drivers a test opens, closed after it whatever happened."""
    drivers: list[Any] = []
    yield drivers
    for driver in drivers:
        await driver.close()
