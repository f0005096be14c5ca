"""A close on either side of the proxy reaches the other side with its code and reason."""

from __future__ import annotations

import asyncio
import time

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from benchctl.proxy import OcppProxy

from recording_upstream import RecordingUpstream


async def closed(ws: object, timeout: float = 5.0) -> None:
    await asyncio.wait_for(ws.wait_closed(), timeout)  # type: ignore[attr-defined]


async def test_charger_close_is_mirrored_upstream(proxy: OcppProxy, upstream: RecordingUpstream) -> None:
    async with connect(f"{proxy.url}/CP-1", subprotocols=["ocpp1.6"]) as charger:
        side = await upstream.side("CP-1")
        await charger.send('[2,"last","Heartbeat",{}]')
        await charger.close(4001, "going home \u00e9")
    await closed(side.ws)
    assert side.received == ['[2,"last","Heartbeat",{}]']  # what came before the close arrived before it
    assert (side.ws.close_code, side.ws.close_reason) == (4001, "going home \u00e9")
    await asyncio.wait_for(side.ended.wait(), 5)
    assert await _eventually(lambda: not proxy.bridges)  # the bridge is gone with its connections


async def test_upstream_close_is_mirrored_to_the_charger(proxy: OcppProxy, upstream: RecordingUpstream) -> None:
    charger = await connect(f"{proxy.url}/CP-1", subprotocols=["ocpp1.6"])
    side = await upstream.side("CP-1")
    await side.ws.send('[2,"bye","Reset",{"type":"Soft"}]')
    await side.ws.close(1008, "policy: unknown charger")
    assert await asyncio.wait_for(charger.recv(), 5) == '[2,"bye","Reset",{"type":"Soft"}]'
    await closed(charger)
    assert (charger.close_code, charger.close_reason) == (1008, "policy: unknown charger")


async def test_close_without_a_status_code_stays_without_one(proxy: OcppProxy, upstream: RecordingUpstream) -> None:
    charger = await connect(f"{proxy.url}/CP-1", subprotocols=["ocpp1.6"])
    side = await upstream.side("CP-1")
    await side.ws.close(None)  # type: ignore[arg-type]  # an empty close frame
    await closed(charger)
    assert charger.close_code == 1005 and charger.close_reason == ""


async def test_charger_lost_without_close_aborts_the_upstream(proxy: OcppProxy, upstream: RecordingUpstream) -> None:
    charger = await connect(f"{proxy.url}/CP-1", subprotocols=["ocpp1.6"])
    side = await upstream.side("CP-1")
    charger.transport.abort()  # the cable pulled: no close frame
    await closed(side.ws)
    assert side.ws.close_code == 1006  # the upstream sees a lost connection too, not a polite close


async def test_upstream_lost_without_close_aborts_the_charger(proxy: OcppProxy, upstream: RecordingUpstream) -> None:
    charger = await connect(f"{proxy.url}/CP-1", subprotocols=["ocpp1.6"])
    side = await upstream.side("CP-1")
    side.ws.transport.abort()
    await closed(charger)
    assert charger.close_code == 1006


async def test_stopping_the_proxy_closes_both_sides(capture: object, upstream: RecordingUpstream) -> None:
    proxy = OcppProxy(capture, upstream.url)  # type: ignore[arg-type]
    await proxy.start()
    charger = await connect(f"{proxy.url}/CP-1", subprotocols=["ocpp1.6"])
    side = await upstream.side("CP-1")
    await asyncio.wait_for(proxy.stop(), 10)
    await closed(charger)
    await closed(side.ws)
    assert charger.close_code == 1001 and side.ws.close_code == 1001
    with pytest.raises(ConnectionClosed):
        await charger.send("x")


async def _eventually(condition: object, timeout: float = 5.0) -> bool:
    async with asyncio.timeout(timeout):
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.01)
    return True


async def test_each_bridged_connection_is_told_to_the_listeners(proxy: OcppProxy,
                                                                upstream: RecordingUpstream) -> None:
    """A follow run learns when the charger (re)connected: each connection through the proxy, with its time."""
    told: list[tuple[str, float]] = []
    proxy.connection_listeners.append(lambda cp_id, wall: told.append((cp_id, wall)))
    for _ in range(2):  # a connection and a reconnection
        before = time.time()
        async with connect(f"{proxy.url}/CP-1", subprotocols=["ocpp1.6"]) as charger:
            await upstream.side("CP-1")
            await charger.send('[2,"h","Heartbeat",{}]')
        assert told and told[-1][0] == "CP-1" and before <= told[-1][1] <= time.time()
    assert len(told) == 2
