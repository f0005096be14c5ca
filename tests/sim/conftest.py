"""A simulated station dialling a Central System of our own (see support.station)."""

from __future__ import annotations

from typing import AsyncIterator

import pytest

from benchctl.csms.capture import Capture
from benchctl.csms.server import CentralSystem
from hil_sim.bench import SimBench
from hil_sim.settings import SimSettings

from support.station import VALUES, Session, _settings


@pytest.fixture
def station_settings() -> SimSettings:
    return _settings()


@pytest.fixture
async def session(station_settings: SimSettings) -> AsyncIterator[Session]:
    csms = CentralSystem(Capture(None), VALUES, response_timeout=5)
    await csms.start()
    sim = SimBench(station_settings, csms.url, "T-1")
    await sim.start()
    link = csms.link("T-1")
    s = Session(sim, link, csms)
    try:
        await s.next("BootNotification")
        await link.wait_until(lambda: link.statuses.get(1) == "Available", 10)
        yield s
    finally:
        await sim.stop()
        await csms.stop()

