"""Mains and network for a firmware on a PC (drivers/software/process.py): a real process started, awaited until
ready, signalled to stop and restarted; commands run for on, off and the level."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from drivers.errors import DriverError
from drivers.relay.protocol import PowerSwitch
from drivers.software.process import CommandOutput, ProcessOutput
from drivers.software.settings import CommandSettings, ProcessSettings

from support.mosquitto import free_port

# a "firmware": listens on a port once it has booted, writes which signal stopped it
FIRMWARE = """
import signal, socket, sys, time
port, record, boot_s = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
def stop(signum, frame):
    open(record, "a").write(signal.Signals(signum).name + "\\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
time.sleep(boot_s)
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", port))
server.listen()
while True:
    server.accept()[0].close()
"""


@pytest.fixture
def firmware(tmp_path: Path) -> Path:
    path = tmp_path / "firmware.py"
    path.write_text(FIRMWARE)
    return path


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_power_on_waits_for_readiness_off_signals_and_a_cycle_restarts(
        tmp_path: Path, firmware: Path, opened: list[Any]) -> None:
    port, record = free_port(), tmp_path / "signals.txt"
    mains = ProcessOutput("mains", ProcessSettings(command=f"{sys.executable} {firmware} {port} {record} 0.3",
                                                   stop_signal="SIGINT", ready_tcp=f"127.0.0.1:{port}",
                                                   ready_timeout_s=10))
    opened.append(mains)
    assert await mains.get() is False
    await mains.safe_state()  # safe level: running
    assert await mains.get() is True
    assert (await mains.self_test())["ready"] is True
    assert mains.process is not None
    first = mains.process.pid
    await PowerSwitch(mains, off_time_s=0.05).cycle()
    assert not alive(first) and mains.process.pid != first and await mains.get() is True
    assert record.read_text() == "SIGINT\n"  # the stop signal reached the firmware, which shut down itself
    second = mains.process.pid
    await mains.close()
    assert not alive(second) and record.read_text() == "SIGINT\nSIGINT\n"


async def test_a_firmware_that_ignores_the_stop_signal_is_killed(tmp_path: Path,
                                                                opened: list[Any]) -> None:
    port = free_port()
    script = ("import signal, socket, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); s = socket.socket(); "
              f"s.bind(('127.0.0.1', {port})); s.listen(); time.sleep(60)")
    stubborn = ProcessOutput("mains", ProcessSettings(command=f"{sys.executable} -c \"{script}\"", stop_timeout_s=0.3,
                                                      ready_tcp=f"127.0.0.1:{port}"))
    opened.append(stubborn)
    await stubborn.set(True)
    assert stubborn.process is not None
    await stubborn.set(False)
    assert stubborn.process.returncode == -signal.SIGKILL


async def test_not_ready_in_time_is_an_error_and_leaves_nothing_running(tmp_path: Path, firmware: Path,
                                                                      opened: list[Any]) -> None:
    port = free_port()
    slow = ProcessOutput("mains", ProcessSettings(command=f"{sys.executable} {firmware} {port} {tmp_path / 'r'} 30",
                                                  ready_tcp=f"127.0.0.1:{port}", ready_timeout_s=0.3))
    opened.append(slow)
    with pytest.raises(DriverError, match=rf"not ready within 0.3 s \(TCP 127.0.0.1:{port}\); stopped it"):
        await slow.set(True)
    assert await slow.get() is False


async def test_a_firmware_that_exits_at_once_is_an_error_with_its_status(opened: list[Any]) -> None:
    crash = ProcessOutput("mains", ProcessSettings(command=f"{sys.executable} -c \"raise SystemExit(3)\"",
                                                   ready_http="http://127.0.0.1:9/"))
    opened.append(crash)
    with pytest.raises(DriverError, match="exited with status 3 before it was ready"):
        await crash.set(True)


async def test_commands_switch_and_read_the_level(tmp_path: Path) -> None:
    flag = tmp_path / "link-up"
    network = CommandOutput("network", CommandSettings(on_command=f"touch {flag}", off_command=f"rm -f {flag}",
                                                       get_command=f"test -e {flag}", safe_level=True))
    await network.safe_state()
    assert flag.exists() and await network.get() is True
    await network.set(False)
    assert await network.get() is False and (await network.self_test())["level"] is False


async def test_a_failing_command_names_itself_and_its_output() -> None:
    network = CommandOutput("network", CommandSettings(on_command="sh -c 'echo no permission; exit 2'",
                                                       off_command="true", get_command="true"))
    with pytest.raises(DriverError, match=r"on command sh -c 'echo no permission; exit 2' exited with status 2: "
                                          r"no permission"):
        await network.set(True)
