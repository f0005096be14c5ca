"""000_RESET wants every connector Available: the return to idle cancels a reservation a case left open (TC_052_CS
does on purpose), without the power cycle it would otherwise fall back on."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from benchctl.bench.config import BenchConfig, load_bench
from benchctl.csms.capture import Capture
from benchctl.csms.link import ChargerLink
from benchctl.run.idle import return_to_idle
from benchctl.run.session import open_bench

from support.bench_text import sim_bench_text


def _in(seconds: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


async def _reserve(link: ChargerLink, reservation_id: int, expiry_s: float) -> None:
    response, _ = await link.call("ReserveNow", {"connectorId": 1, "expiryDate": _in(expiry_s), "idTag": "04A1B2C3",
                                                 "reservationId": reservation_id})
    assert response["status"] == "Accepted"
    assert await link.wait_until(lambda: link.statuses.get(1) == "Reserved", 5)


async def test_idle_cancels_an_open_reservation_and_forgets_an_ended_one(fast_sim_config: BenchConfig) -> None:
    async with open_bench(fast_sim_config, Capture(None)) as session:
        link, sim = session.link, session.sim
        assert sim is not None
        assert await link.wait_until(lambda: link.connected.is_set() and link.statuses.get(1) == "Available", 10)
        await _reserve(link, 7, expiry_s=300)
        assert link.reservations == {7: 1}
        assert await return_to_idle(session.bench, link, timeout=4) is None
        assert link.statuses[1] == "Available" and link.reservations == {}
        assert sim.station.reservations.entries == {}
        cancels = [f for f in session.csms.capture.read() if f.frame.action == "CancelReservation"]
        assert cancels, "the reservation was not cancelled"
        await _reserve(link, 8, expiry_s=0.5)  # it expires before the return to idle: the cancel is Rejected
        assert await link.wait_until(lambda: link.statuses.get(1) == "Available", 5)
        assert await return_to_idle(session.bench, link, timeout=4) is None
        assert link.reservations == {}
        assert sim.station.boots == 1, "the return to idle power cycled the station"


async def test_idle_makes_a_connector_set_inoperative_by_itself_operative_again(tmp_path: Path) -> None:
    """The reservation cases set unused connectors Inoperative one by one; a station that reads
    ChangeAvailability(0, Operative) as the station's own availability only keeps them so, and the return to idle
    must still bring them back (per connector), without a power cycle (availability survives it)."""
    text = sim_bench_text().replace("    connectors: 1\n", "    connectors: 2\n    station_operative_only: true\n")
    path = tmp_path / "sim-2.yaml"
    path.write_text(text.replace("  connectors: 1\n", "  connectors: 2\n"))
    config = load_bench(path)
    async with open_bench(config, Capture(None)) as session:
        link = session.link
        assert await link.wait_until(lambda: link.connected.is_set() and link.statuses.get(2) == "Available", 10)
        response, _ = await link.call("ChangeAvailability", {"connectorId": 2, "type": "Inoperative"})
        assert response["status"] == "Accepted"
        assert await link.wait_until(lambda: link.statuses.get(2) == "Unavailable", 5)
        assert await return_to_idle(session.bench, link, timeout=4) is None
        assert link.statuses[2] == "Available"
        cut = [a for a in session.bench.steplog.steps if a.role == "mains" and a.args.get("level") is False]
        assert not cut, f"it power cycled: {cut}"
