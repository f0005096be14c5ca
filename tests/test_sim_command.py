"""`benchctl sim` on its own: a Central System of our own connects to it, the real drivers reach its gear."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys

from benchctl.csms.capture import Capture
from benchctl.csms.server import CentralSystem
from drivers.evse_tester.modbus import ModbusEVEmulator, ModbusEvSettings


async def test_sim_serves_a_charger_and_gear_until_interrupted(sim_config) -> None:
    csms = CentralSystem(Capture(None), sim_config.values)
    await csms.start()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hil_sim", "--csms", csms.url, "--cp-id", "EXT-1",
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "COLUMNS": "200"})
    try:
        text = ""
        assert proc.stdout is not None
        while "sim.modbus.port" not in text or "sim.rfid.port" not in text:
            line = await asyncio.wait_for(proc.stdout.readline(), 10)
            assert line, text
            text += line.decode()
        port = int(re.search(r"sim\.modbus\.port\s*│\s*(\d+)", text).group(1))  # type: ignore[union-attr]
        link = csms.link("EXT-1")
        boot = await link.wait_until(lambda: [i for i in link.inbox if i.action == "BootNotification"], 10)
        assert boot, "the simulated charger never dialled our Central System"
        ev = ModbusEVEmulator("ev", ModbusEvSettings(host="127.0.0.1", port=port, timeout_s=1.0))
        await ev.set_cp_state("B")
        await ev.set_plug(True)
        preparing = await link.wait_until(
            lambda: link.statuses.get(1) == "Preparing", 10)
        assert preparing, link.statuses
        await ev.close()
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await csms.stop()
