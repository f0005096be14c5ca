"""The simulated Modbus gear that the Modbus driver tests talk to over loopback TCP."""

from __future__ import annotations

from typing import AsyncIterator

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
