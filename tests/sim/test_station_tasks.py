"""A simulated station's work ends with it: a request it sent that the Central System has not answered yet does not
outlive the station (a fleet agent runs many jobs in one process; a MeterValues answer timing out in its log after
the job was stopped was such a left-over)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import datetime, timezone

import websockets

from hil_sim.bench import SimBench
from hil_sim.settings import SimSettings


def _station_tasks(before: set[asyncio.Task[object]]) -> list[asyncio.Task[object]]:
    """Tasks started since `before` and still running, but the test's own Central System's: its server ends the
    handler of a connection the station aborted a moment later, which is not the station's doing."""
    return [t for t in asyncio.all_tasks() - before if not t.done() and t is not asyncio.current_task()
            and t.get_coro().__qualname__.split(".")[0] not in ("serve", "Server", "central_system")]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


async def test_a_request_in_flight_is_cancelled_when_the_station_stops() -> None:
    metering = asyncio.Event()

    async def central_system(ws: websockets.ServerConnection) -> None:
        """Answers everything but MeterValues; asks for clock-aligned readings every second once booted."""
        with contextlib.suppress(websockets.ConnectionClosed):
            await serve_one(ws)

    async def serve_one(ws: websockets.ServerConnection) -> None:
        async for raw in ws:
            msg = json.loads(raw)
            if msg[0] != 2:
                continue
            action = msg[2]
            if action == "MeterValues":
                metering.set()  # left unanswered: the station's request stays in flight
                continue
            answer = {"status": "Accepted", "currentTime": _now(), "interval": 300} \
                if action == "BootNotification" else {"currentTime": _now()} if action == "Heartbeat" else {}
            await ws.send(json.dumps([3, msg[1], answer]))
            if action == "BootNotification":
                await ws.send(json.dumps([2, "cfg-1", "ChangeConfiguration",
                                          {"key": "ClockAlignedDataInterval", "value": "1"}]))

    async with websockets.serve(central_system, "127.0.0.1", 0, subprotocols=["ocpp1.6"]) as server:
        port = server.sockets[0].getsockname()[1]
        before = asyncio.all_tasks()
        sim = SimBench(SimSettings(), f"ws://127.0.0.1:{port}/ocpp", "TASKS-1")
        await sim.start()
        try:
            await asyncio.wait_for(metering.wait(), 10)
        finally:
            await sim.stop()
        await asyncio.sleep(0.2)
        left = _station_tasks(before)
    assert left == [], [t.get_coro() for t in left]


async def test_a_reset_under_way_ends_with_the_station() -> None:
    """A Reset the station accepted reboots it a moment after its Reset.conf; stopped in that moment, the station
    leaves nothing behind (neither the pending reset nor the reboot)."""
    answered = asyncio.Event()

    async def central_system(ws: websockets.ServerConnection) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in ws:
                msg = json.loads(raw)
                if msg[0] == 3 and msg[1] == "reset-1":
                    answered.set()
                if msg[0] != 2:
                    continue
                answer = {"status": "Accepted", "currentTime": _now(), "interval": 300} \
                    if msg[2] == "BootNotification" else {}
                await ws.send(json.dumps([3, msg[1], answer]))
                if msg[2] == "BootNotification":
                    await ws.send(json.dumps([2, "reset-1", "Reset", {"type": "Hard"}]))

    async with websockets.serve(central_system, "127.0.0.1", 0, subprotocols=["ocpp1.6"]) as server:
        port = server.sockets[0].getsockname()[1]
        before = asyncio.all_tasks()
        sim = SimBench(SimSettings(), f"ws://127.0.0.1:{port}/ocpp", "TASKS-2")
        await sim.start()
        try:
            await asyncio.wait_for(answered.wait(), 10)
        finally:
            await sim.stop()
        left = _station_tasks(before)
        await asyncio.sleep(0.5)  # long enough for a left-over reset to have rebooted the station
    assert left == [], [t.get_coro() for t in left]
