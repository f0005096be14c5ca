"""`benchctl check`: every role of the sim bench healthy; a device that stops answering shows as FAIL."""

from __future__ import annotations

import pytest
import websockets

from benchctl.bench.config import BenchConfig
from benchctl.csms.capture import Capture
from benchctl.run.check import check_bench
from benchctl.run.session import open_bench


async def test_every_role_of_the_sim_bench_is_healthy(sim_config: BenchConfig) -> None:
    async with open_bench(sim_config, Capture(None), connect=False) as session:
        checks = await check_bench(session, timeout_s=5)
    rows = {c.role: c for c in checks}
    assert set(rows) == {"ev", "card", "modem", "mains", "network", "fault", "lock_fault", "local_list_fault", "meter",
                         "cable", "security_reset", "charger"}
    assert all(c.ok for c in checks), [(c.role, c.detail) for c in checks if not c.ok]
    assert rows["ev"].readings["measurement.state"] == "A"  # the EV emulator really measured the idle CP line
    assert rows["mains"].readings  # read back from the relay board
    # the driver and its kind come from the driver's declaration
    assert (rows["ev"].driver, rows["ev"].kind) == ("modbus_ev", "ev_emulator")
    assert (rows["mains"].driver, rows["mains"].kind) == ("modbus_coil", "digital_output")


async def test_a_silent_device_fails_its_row_and_the_rest_go_on(sim_config: BenchConfig) -> None:
    async with open_bench(sim_config, Capture(None), connect=False) as session:
        assert session.sim is not None and session.sim.modbus is not None
        session.sim.presenter.silent = True
        checks = await check_bench(session, timeout_s=5)
        session.sim.presenter.silent = False
    rows = {c.role: c for c in checks}
    assert not rows["card"].ok
    assert "card" in rows["card"].detail and "serial" in rows["card"].detail
    assert rows["ev"].ok and rows["mains"].ok and rows["charger"].ok


async def test_a_handshake_the_central_system_refused_shows_as_a_failed_row(sim_config: BenchConfig) -> None:
    """A charger dialling with an id the Central System will never serve: the check names it, not just a timeout."""
    async with open_bench(sim_config, Capture(None), connect=False) as session:
        with pytest.raises(websockets.InvalidStatus):
            await websockets.connect(f"{session.csms.url}/CP%2F..%2Fetc", subprotocols=["ocpp1.6"], open_timeout=5)
        checks = await check_bench(session, timeout_s=5)
    (row,) = [c for c in checks if c.role.startswith("connection #")]
    assert not row.ok and row.address.startswith("127.0.0.1:")
    assert row.detail.startswith("HTTP 400 for '/ocpp/CP%2F..%2Fetc': the charge point id contains a '/'")
    assert checks[-1].role == "charger" and checks[-1].ok  # the bench's own charger still dialled in
