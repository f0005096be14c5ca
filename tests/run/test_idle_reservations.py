"""000_RESET wants every connector Available: the return to idle cancels a reservation a case left open (TC_052_CS
does on purpose), without the power cycle it would otherwise fall back on."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from benchctl.bench.config import BenchConfig
from benchctl.csms.capture import Capture
from benchctl.csms.link import ChargerLink
from benchctl.run.idle import return_to_idle
from benchctl.run.session import open_bench


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
        cancels = [f for f in session.csms.capture.frames if f.frame.action == "CancelReservation"]
        assert cancels, "the reservation was not cancelled"
        await _reserve(link, 8, expiry_s=0.5)  # it expires before the return to idle: the cancel is Rejected
        assert await link.wait_until(lambda: link.statuses.get(1) == "Available", 5)
        assert await return_to_idle(session.bench, link, timeout=4) is None
        assert link.reservations == {}
        assert sim.station.boots == 1, "the return to idle power cycled the station"
