"""What the station does about a request (a reboot, a status, a triggered message, closing the link for a new
security setting) follows the request's .conf on the wire: it waits until the .conf is sent, however long that
takes, and not a moment longer. The .conf is held back here at the station's send (the way a slow link would hold
it), well past the fixed pauses the station used to take; nothing about the request may come meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from datetime import datetime, timezone
from typing import Any

import pytest
import websockets

from hil_sim.bench import SimBench
from hil_sim.charger.handlers import SimChargePoint
from hil_sim.settings import SimSettings, StationSettings

HOLD_S = 0.5  # longer than any fixed pause the station took (0.05 s, 0.2 s)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


class Wire:
    """A Central System of our own: answers the station, sends one request once it has reported its statuses after
    the boot and writes down what came, in order: ("conf", id), ("req", action), ("closed", "") and ("connected", "")."""

    def __init__(self, request: list[Any]) -> None:
        self.request = request
        self.events: list[tuple[float, str, str]] = []
        self.sent = asyncio.Event()

    def note(self, kind: str, what: str) -> None:
        self.events.append((time.monotonic(), kind, what))

    def seen(self) -> list[tuple[str, str]]:
        return [(kind, what) for _, kind, what in self.events]

    async def serve(self, ws: websockets.ServerConnection) -> None:
        self.note("connected", "")
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in ws:
                msg = json.loads(raw)
                if msg[0] == 3:
                    self.note("conf", msg[1])
                    continue
                self.note("req", msg[2])
                answer: dict[str, Any] = {}
                if msg[2] == "BootNotification":
                    answer = {"status": "Accepted", "currentTime": _now(), "interval": 300}
                elif msg[2] == "Heartbeat":
                    answer = {"currentTime": _now()}
                elif msg[2] == "Authorize":
                    answer = {"idTagInfo": {"status": "Accepted"}}
                await ws.send(json.dumps([3, msg[1], answer]))
                booted = sum(what == "StatusNotification" for _, _, what in self.events) == 2
                if booted and not self.sent.is_set():  # the boot's statuses (connectorId 0 and 1) are in
                    self.sent.set()
                    await ws.send(json.dumps(self.request))
        self.note("closed", "")


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> asyncio.Event:
    """Set it to let the station's answer to the request "held-1" go out."""
    release = asyncio.Event()
    send = SimChargePoint._send

    async def held_send(self: SimChargePoint, message: str) -> None:
        if message.startswith('[3, "held-1"') or message.startswith('[3,"held-1"'):
            await release.wait()
        await send(self, message)
    monkeypatch.setattr(SimChargePoint, "_send", held_send)
    return release


async def _run(request: list[Any], release: asyncio.Event, settle_s: float = 1.0,
               **station: Any) -> list[tuple[str, str]]:
    """The events of the wire around the held answer: what came while it was held, then after its release."""
    wire = Wire(request)
    async with websockets.serve(wire.serve, "127.0.0.1", 0, subprotocols=["ocpp1.6"]) as server:
        port = server.sockets[0].getsockname()[1]
        sim = SimBench(SimSettings(StationSettings(boot_delay_s=0.0, **station), []),
                       f"ws://127.0.0.1:{port}/ocpp", "HELD-1")
        await sim.start()
        try:
            await asyncio.wait_for(wire.sent.wait(), 10)
            mark = len(wire.events)
            await asyncio.sleep(HOLD_S)
            meanwhile = wire.seen()[mark:]
            assert meanwhile == [], f"while the .conf was held the station already did {meanwhile}"
            release.set()
            await asyncio.sleep(settle_s)
        finally:
            await sim.stop()
    return wire.seen()[mark:]


async def test_a_reset_reboots_once_its_conf_is_sent(held: asyncio.Event) -> None:
    after = await _run([2, "held-1", "Reset", {"type": "Hard"}], held)
    assert after[:4] == [("conf", "held-1"), ("closed", ""), ("connected", ""), ("req", "BootNotification")], after


async def test_a_firmware_status_follows_the_update_firmware_conf(held: asyncio.Event) -> None:
    after = await _run([2, "held-1", "UpdateFirmware", {"location": "ftp://127.0.0.1:9/none.bin",
                                                         "retrieveDate": _now(), "retries": 0}], held)
    assert after[:2] == [("conf", "held-1"), ("req", "FirmwareStatusNotification")], after


async def test_an_extended_trigger_s_message_follows_its_conf(held: asyncio.Event) -> None:
    after = await _run([2, "held-1", "ExtendedTriggerMessage", {"requestedMessage": "Heartbeat"}], held)
    assert after[:2] == [("conf", "held-1"), ("req", "Heartbeat")], after


async def test_a_new_authorization_key_closes_the_link_once_its_conf_is_sent(held: asyncio.Event) -> None:
    after = await _run([2, "held-1", "ChangeConfiguration",
                        {"key": "AuthorizationKey", "value": "30313233343536373839616263646566"}], held,
                       security_profile=1, authorization_key="68696C5F73696D206C6162206B65792030303031")
    assert after[:3] == [("conf", "held-1"), ("closed", ""), ("connected", "")], after


async def test_a_connection_that_was_up_is_dialled_again_at_once() -> None:
    """The station redials as soon as a working connection closes (no pause: OCPP 1.6 asks for none); only a failed
    attempt is retried after a pause."""
    closed_at: list[float] = []
    connected_at: list[float] = []
    booted = asyncio.Event()
    statuses = 0

    async def central_system(ws: websockets.ServerConnection) -> None:
        nonlocal statuses
        connected_at.append(time.monotonic())
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in ws:
                msg = json.loads(raw)
                if msg[0] != 2:
                    continue
                answer = {"status": "Accepted", "currentTime": _now(), "interval": 300} \
                    if msg[2] == "BootNotification" else {}
                await ws.send(json.dumps([3, msg[1], answer]))
                statuses += msg[2] == "StatusNotification"
                if statuses == 2 and not booted.is_set():  # connectorId 0 and 1: the station is online
                    booted.set()
                    await asyncio.sleep(0.2)
                    closed_at.append(time.monotonic())
                    await ws.close()

    async with websockets.serve(central_system, "127.0.0.1", 0, subprotocols=["ocpp1.6"]) as server:
        port = server.sockets[0].getsockname()[1]
        sim = SimBench(SimSettings(StationSettings(boot_delay_s=0.0), []), f"ws://127.0.0.1:{port}/ocpp", "REDIAL-1")
        await sim.start()
        try:
            for _ in range(100):
                if len(connected_at) >= 2:
                    break
                await asyncio.sleep(0.05)
        finally:
            await sim.stop()
    assert len(connected_at) >= 2 and closed_at
    assert connected_at[1] - closed_at[0] < 0.3  # it used to wait 0.5 s
