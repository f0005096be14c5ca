"""The relay board's communication watchdog, armed by the Modbus coil driver: fed while benchctl runs, disarmed
on a clean close, and switching the outputs off by itself when the controlling process is killed (a real
SIGKILL of a real process talking Modbus TCP to the simulated board)."""

from __future__ import annotations

import asyncio
import signal
import sys
import textwrap

import pytest

from drivers.relay.modbus_coil import ModbusCoilOutput, ModbusCoilSettings
from hil_sim.gear.modbus_gear import ModbusGear
from hil_sim.gear.watchdog import WATCHDOG_REGISTER
from hil_sim.world import World

RELAY = 2
FAST = {"timeout_s": 0.25, "retries": 1}  # two tries

CONTROLLER = textwrap.dedent("""
    import asyncio, sys
    from drivers.relay.modbus_coil import ModbusCoilOutput, ModbusCoilSettings

    async def main() -> None:
        mains = ModbusCoilOutput("mains", ModbusCoilSettings(host="127.0.0.1", port=int(sys.argv[1]), device_id=2,
                                                             coil=0, watchdog_s=float(sys.argv[2])))
        await mains.connect()
        await mains.set(True)
        print("armed", flush=True)
        await asyncio.sleep(3600)

    asyncio.run(main())
""")


async def _controller(gear: ModbusGear, watchdog_s: float) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", CONTROLLER, str(gear.port), str(watchdog_s),
                                                   stdout=asyncio.subprocess.PIPE)
    assert process.stdout is not None
    assert await asyncio.wait_for(process.stdout.readline(), 20) == b"armed\n"
    return process


async def _kill(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGKILL)
    await process.wait()


async def test_a_killed_controller_leaves_the_board_de_energised(gear: ModbusGear, world: World) -> None:
    world.set("mains_on", False)
    process = await _controller(gear, watchdog_s=0.5)
    assert world.mains_on
    await asyncio.sleep(1.0)
    assert world.mains_on, "a running controller keeps the watchdog fed"
    await _kill(process)
    await asyncio.sleep(0.8)
    assert not world.mains_on, "no request for longer than the watchdog time: the board switched off"
    assert gear.relay is not None and gear.relay.watchdog.expired


async def test_without_a_watchdog_the_board_keeps_its_last_outputs(gear: ModbusGear, world: World) -> None:
    world.set("mains_on", False)
    process = await _controller(gear, watchdog_s=0)
    await _kill(process)
    await asyncio.sleep(0.8)
    assert world.mains_on, "what docs/unattended.md warns about: an unwatched board stays as it was"


async def test_a_clean_close_disarms_it(gear: ModbusGear, world: World) -> None:
    mains = ModbusCoilOutput("mains", ModbusCoilSettings(host=gear.host, port=gear.port, device_id=RELAY, coil=0, watchdog_s=0.3, **FAST))
    await mains.connect()
    assert await mains.link.read_holding("watchdog", WATCHDOG_REGISTER) == [3]
    await mains.set(True)
    await mains.close()
    await asyncio.sleep(0.6)
    assert world.mains_on, "after a normal exit the levels benchctl left stay"
    assert gear.relay is not None and gear.relay.watchdog.ticks == 0


def test_a_watchdog_shorter_than_a_tick_is_refused() -> None:
    with pytest.raises(ValueError, match="watchdog_s must be at least 0.1 s"):
        ModbusCoilOutput("mains", ModbusCoilSettings(host="127.0.0.1", port=502, device_id=RELAY, coil=0, watchdog_s=0.05))
