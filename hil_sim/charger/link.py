"""The link to the Central System: two of the firmware's loops. The link loop connects (through the security
profile's ws:// or wss://), registers with BootNotification, reports the statuses after a boot and sends what was
queued meanwhile; the heartbeat loop sends Heartbeat every HeartbeatInterval while online."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

import websockets
from ocpp.v16 import call
from websockets.typing import Subprotocol

from .handlers import SimChargePoint
from .runtime import Runtime, wait_and_clear

if TYPE_CHECKING:
    from .station import SimStation

log = logging.getLogger("hil_sim.charger")

# a failed attempt (refused, unreachable, dropped before it was up) is tried again after a pause, as firmware
# backs off (OCPP 1.6 leaves the interval to it); a connection that was up is dialled again at once
RETRY_AFTER_FAILURE_S = 0.5


async def link_loop(station: "SimStation") -> None:
    rt = station.runtime()
    connected_before = False
    while True:
        if connected_before and station.faults.active("reconnect_stuck_until_power_cycle"):
            await asyncio.Future()  # the bug: the client is stuck until the power goes (this task is cancelled)
        if not station.world.network_up:
            await wait_and_clear(rt.network_changed)
            continue
        url, secured = station.link_security.connect_args(station.url)  # ws:// or wss://, credentials
        try:
            ws = await websockets.connect(url, subprotocols=[Subprotocol("ocpp1.6")], open_timeout=5,
                                          ping_interval=None, **secured)
        except (OSError, asyncio.TimeoutError, websockets.InvalidHandshake) as exc:
            log.debug("connect to %s failed: %s", url, exc)
            await station.link_security.failed(exc)
            await asyncio.sleep(RETRY_AFTER_FAILURE_S)
            continue
        station.link_security.connected()
        connected_before = True
        rt.ws, rt.cp = ws, SimChargePoint(station.charge_point_id, ws, station)
        rt.connection_lost = lost = asyncio.Event()
        reader = asyncio.get_running_loop().create_task(rt.cp.start())
        try:
            await _online(station, rt, rt.cp)
            await reader
        except websockets.ConnectionClosed as exc:
            log.info("link to the Central System closed: %s", exc)
        except asyncio.TimeoutError:
            log.warning("no answer from the Central System; reconnecting")
        finally:
            was_up = rt.online.is_set()
            lost.set()
            rt.online.clear()
            rt.cp = rt.ws = None
            reader.cancel()
            with contextlib.suppress(BaseException):
                await reader
            with contextlib.suppress(Exception):
                await ws.close()
        if not was_up:
            await asyncio.sleep(RETRY_AFTER_FAILURE_S)


async def _online(station: "SimStation", rt: Runtime, cp: SimChargePoint) -> None:
    """A new connection: register (once per boot) and report every status, then what was queued, then online."""
    if not rt.registered:
        await _boot(station, cp)
        for connector_id in station.statuses.boot_order():
            await station.statuses.send(connector_id, station.status(connector_id), force=True)
    await station.transactions.queue.flush(station.deliver)
    await station.transactions.stop_lost()
    rt.online.set()
    await station.transactions.queue.flush(station.deliver)  # a status a replaying station kept meanwhile
    rt.wake.set()
    station.transfers.booted()  # a firmware booted from a new image reports the installation


async def _boot(station: "SimStation", cp: SimChargePoint) -> None:
    while True:
        resp = await cp.call(call.BootNotification(
            charge_point_vendor=station.settings.vendor, charge_point_model=station.settings.model,
            firmware_version=station.firmware_version), suppress=False)
        # a firmware that only knows Accepted/Rejected takes Pending for a registration
        pending_as_accepted = resp.status == "Pending" and station.faults.active("pending_treated_as_accepted")
        if resp.status == "Accepted" or pending_as_accepted:
            if resp.interval > 0:
                station.keys["HeartbeatInterval"].value = str(resp.interval)
            station.runtime().registered = True
            return
        retry = resp.interval if resp.interval > 0 else 10
        if station.faults.active("ignore_boot_interval"):
            retry = 0.1
        await asyncio.sleep(retry)


async def heartbeat_loop(station: "SimStation") -> None:
    rt = station.runtime()
    while True:
        await rt.online.wait()
        interval = int(station.keys["HeartbeatInterval"].value)
        if interval <= 0:
            await wait_and_clear(rt.config_changed)
            continue
        if station.faults.active("wrong_heartbeat_interval"):
            interval *= 2
        await asyncio.sleep(interval)
        if rt.online.is_set():
            await station.call(call.Heartbeat())
