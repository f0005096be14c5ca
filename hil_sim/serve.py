"""Run the simulated bench on its own: a user points a real Central System, or the real drivers, at it."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Callable

from .bench import SimBench
from .settings import SimSettings


async def serve(settings: SimSettings, csms_url: str, charge_point_id: str,
                announce: Callable[[dict[str, object]], None], stop: asyncio.Event | None = None) -> None:
    """Start the bench, announce its endpoints, run until `stop` is set (or SIGINT / SIGTERM)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    sim = SimBench(settings, csms_url, charge_point_id)
    try:
        endpoints = await sim.start()
        announce({"charger": f"{csms_url.rstrip('/')}/{charge_point_id} (dials out)", **endpoints,
                  "ev_device_id": 1, "relay_device_id": 2,
                  "relay_coils": "0 mains, 1 network, 2 cable, 3 lock_failure, 4 ground_fault, 5 local_list_failure, "
                                "6 security_reset",
                  "faults": ", ".join(settings.faults) or "none"})
        await stop.wait()
    finally:
        await sim.stop()
