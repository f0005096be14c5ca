"""The simulated charge point: firmware that boots when mains comes on, keeps a link to the Central System,
reads the CP line and the card reader, and runs transactions.

What survives a power loss lives on `SimStation` (configuration keys); everything else lives on `Runtime`,
which is thrown away when mains goes off, just as RAM is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import websockets
from ocpp.exceptions import OCPPError
from ocpp.v16 import call
from websockets.asyncio.client import ClientConnection

from drivers.evse_tester.iec61851 import current_to_duty
from hil_sim.faults import FaultSet
from hil_sim.settings import StationSettings
from hil_sim.world import World

from .authorization import local_decision, remember
from .config_keys import default_keys
from .handlers import SimChargePoint
from .metering import PHASES, VOLTAGE_V, sampled_values
from .txqueue import TX_MESSAGES, TransactionQueue, start_transaction

log = logging.getLogger("hil_sim.charger")

MAX_CURRENT_A = 32.0
SAMPLE_SLACK_S = 0.01  # a timer may fire a hair before its time on the loop's clock


async def _wait_and_clear(event: asyncio.Event) -> None:
    """Each event has one waiter that consumes it; two loops sharing one would steal each other's wake-ups."""
    await event.wait()
    event.clear()


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Transaction:
    transaction_id: int
    id_tag: str
    meter_start: int


@dataclass
class ConnectorRuntime:
    """Volatile per-connector firmware state."""

    reported: str | None = None  # the last status sent (or suppressed by a fault)
    authorized_tag: str | None = None  # an idTag accepted and waiting for a cable / for the start
    transaction: Transaction | None = None
    finishing: bool = False  # a transaction ended while the EV is still connected
    stop_reason: str | None = None  # a stop requested, carried out by the firmware loop
    last_sample: float = 0.0  # loop time of the last sampled MeterValues


@dataclass
class Runtime:
    """Everything the firmware holds in RAM."""

    connectors: list[ConnectorRuntime]
    cp: SimChargePoint | None = None
    ws: ClientConnection | None = None
    registered: bool = False
    online: asyncio.Event = field(default_factory=asyncio.Event)
    wake: asyncio.Event = field(default_factory=asyncio.Event)  # the main loop's; only it clears it
    network_changed: asyncio.Event = field(default_factory=asyncio.Event)  # the link loop's
    config_changed: asyncio.Event = field(default_factory=asyncio.Event)  # the heartbeat loop's
    last_card: str | None = None
    station_reported: str | None = None  # last status delivered for connectorId 0
    connection_lost: asyncio.Event = field(default_factory=asyncio.Event)  # of the current connection


class SimStation:
    def __init__(self, world: World, settings: StationSettings, csms_url: str, charge_point_id: str,
                 faults: FaultSet | None = None) -> None:
        self.world = world
        self.settings = settings
        self.url = f"{csms_url.rstrip('/')}/{charge_point_id}"
        self.charge_point_id = charge_point_id
        self.faults = faults or FaultSet()
        # what firmware keeps in flash: configuration, queued transaction messages, open transactions,
        # availability, the authorization cache
        self.keys = default_keys(settings.connectors)
        self.tx_queue = TransactionQueue(self._transaction_id_assigned)
        self.open_tx: dict[int, Transaction] = {}
        self.unavailable: set[int] = set()  # connector ids set Inoperative (0: the whole station)
        self.auth_cache: dict[str, str] = {}
        self._next_local_tx_id = -1
        self.rt: Runtime | None = None
        self._firmware: asyncio.Task[None] | None = None
        self.boots = 0
        if settings.fixed_cable:
            for connector_id in range(1, settings.connectors + 1):
                world.set("plugged_charger_side", True, connector_id=connector_id)

    # ----------------------------------------------------------------- power
    async def start(self) -> None:
        self.world.subscribe(self._on_world)
        if self.world.mains_on:
            self._power_up()

    async def stop(self) -> None:
        self.world.unsubscribe(self._on_world)
        await self._power_down()

    def _power_up(self) -> None:
        if self._firmware is None or self._firmware.done():
            self._firmware = asyncio.get_running_loop().create_task(self._run_firmware(), name="sim-firmware")

    async def _power_down(self) -> None:
        task, self._firmware = self._firmware, None
        rt, self.rt = self.rt, None
        if rt is not None and rt.ws is not None:
            # a dead station does not close its socket politely
            rt.ws.transport.abort()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for connector_id in range(1, self.settings.connectors + 1):
            self.world.set("pwm_duty_pct", 100.0, connector_id=connector_id)

    def _on_world(self, event: str, value: Any) -> None:
        loop = asyncio.get_running_loop()
        if event == "mains_on":
            if value:
                self._power_up()
            else:
                loop.create_task(self._power_down())
            return
        if self.rt is None:
            return
        if event == "network_up":
            if not value and self.rt.ws is not None:
                self.rt.ws.transport.abort()
            self.rt.network_changed.set()
        self.rt.wake.set()

    # ----------------------------------------------------------------- firmware
    async def _run_firmware(self) -> None:
        await asyncio.sleep(self.settings.boot_delay_s)
        self.boots += 1
        self.rt = Runtime([ConnectorRuntime() for _ in range(self.settings.connectors)])
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._link_loop())
            tasks.create_task(self._heartbeat_loop())
            tasks.create_task(self._main_loop())
            tasks.create_task(self._ticker())

    async def _link_loop(self) -> None:
        rt = self._rt()
        while True:
            if not self.world.network_up:
                await _wait_and_clear(rt.network_changed)
                continue
            try:
                ws = await websockets.connect(self.url, subprotocols=["ocpp1.6"], open_timeout=5,
                                              ping_interval=None)
            except (OSError, asyncio.TimeoutError, websockets.InvalidHandshake) as exc:
                log.debug("connect to %s failed: %s", self.url, exc)
                await asyncio.sleep(0.5)
                continue
            rt.ws, rt.cp = ws, SimChargePoint(self.charge_point_id, ws, self)
            rt.connection_lost = lost = asyncio.Event()
            reader = asyncio.get_running_loop().create_task(rt.cp.start())
            try:
                if not rt.registered:
                    await self._boot(rt.cp)
                    for connector_id in range(0, self.settings.connectors + 1):
                        await self._send_status(connector_id, self._status(connector_id), force=True)
                await self.tx_queue.flush(self._deliver)
                await self._stop_lost_transactions()
                rt.online.set()
                rt.wake.set()
                await reader
            except websockets.ConnectionClosed as exc:
                log.info("link to the Central System closed: %s", exc)
            except asyncio.TimeoutError:
                log.warning("no answer from the Central System; reconnecting")
            finally:
                lost.set()
                rt.online.clear()
                rt.cp = rt.ws = None
                reader.cancel()
                with contextlib.suppress(BaseException):
                    await reader
                with contextlib.suppress(Exception):
                    await ws.close()
            await asyncio.sleep(0.5)

    async def _boot(self, cp: SimChargePoint) -> None:
        while True:
            resp = await cp.call(call.BootNotification(
                charge_point_vendor=self.settings.vendor, charge_point_model=self.settings.model,
                firmware_version=self.settings.firmware_version), suppress=False)
            if resp.status == "Accepted":
                if resp.interval > 0:
                    self.keys["HeartbeatInterval"].value = str(resp.interval)
                self._rt().registered = True
                return
            retry = resp.interval if resp.interval > 0 else 10
            if self.faults.active("ignore_boot_interval"):
                retry = 0.1
            await asyncio.sleep(retry)

    async def _heartbeat_loop(self) -> None:
        rt = self._rt()
        while True:
            await rt.online.wait()
            interval = int(self.keys["HeartbeatInterval"].value)
            if interval <= 0:
                await _wait_and_clear(rt.config_changed)
                continue
            if self.faults.active("wrong_heartbeat_interval"):
                interval *= 2
            await asyncio.sleep(interval)
            if rt.online.is_set():
                await self._call(call.Heartbeat())

    async def _ticker(self) -> None:
        """Wake the main loop once a second (energy integration) and exactly when a meter sample is due."""
        rt = self._rt()
        while True:
            delay = 1.0
            interval = int(self.keys["MeterValueSampleInterval"].value)
            now = asyncio.get_running_loop().time()
            for c in rt.connectors:
                if c.transaction is not None and interval > 0:
                    delay = min(delay, max(0.01, c.last_sample + interval - now))
            await asyncio.sleep(delay)
            rt.wake.set()

    async def _main_loop(self) -> None:
        rt = self._rt()
        last = asyncio.get_running_loop().time()
        while True:
            await _wait_and_clear(rt.wake)
            now = asyncio.get_running_loop().time()
            self._meter(now - last)
            last = now
            if not rt.registered:
                continue
            card = self.world.card_uid
            if card != rt.last_card:
                rt.last_card = card
                if card is not None:
                    await self._card_presented(card.upper())
            if rt.online.is_set():
                await self._send_status(0, self._status(0))
            for connector_id in range(1, self.settings.connectors + 1):
                await self._run_connector(connector_id)

    # ----------------------------------------------------------------- connectors
    def _rt(self) -> Runtime:
        if self.rt is None:
            raise RuntimeError("the station is powered down")
        return self.rt

    def _conn(self, connector_id: int) -> ConnectorRuntime:
        return self._rt().connectors[connector_id - 1]

    def _status(self, connector_id: int) -> str:
        if connector_id == 0:
            return "Unavailable" if 0 in self.unavailable else "Available"
        c, world = self._conn(connector_id), self.world.connector(connector_id)
        if c.transaction is not None:
            if world.pwm_duty_pct >= 100.0:
                return "SuspendedEVSE"
            return "Charging" if world.cp_state() in ("C", "D") else "SuspendedEV"
        if c.finishing:
            return "Finishing"
        if connector_id in self.unavailable or 0 in self.unavailable:
            return "Unavailable"
        if world.ev_connected or c.authorized_tag is not None:
            return "Preparing"
        return "Available"

    async def _run_connector(self, connector_id: int) -> None:
        c, world = self._conn(connector_id), self.world.connector(connector_id)
        if c.transaction is not None:
            if c.stop_reason is None and not world.ev_connected \
                    and self.keys["StopTransactionOnEVSideDisconnect"].value == "true":
                c.stop_reason = "EVDisconnected"
            if c.stop_reason is not None:
                await self._stop_transaction(connector_id)
        elif c.authorized_tag is not None and world.ev_connected \
                and not self.faults.active("no_start_transaction"):
            await self._start_transaction(connector_id, c.authorized_tag)
        if c.finishing and not world.ev_connected:
            c.finishing = False
        await self._send_status(connector_id, self._status(connector_id))
        await self._sample_meter(connector_id)

    async def _sample_meter(self, connector_id: int) -> None:
        c = self._conn(connector_id)
        interval = int(self.keys["MeterValueSampleInterval"].value)
        now = asyncio.get_running_loop().time()
        if c.transaction is None or interval <= 0 or now - c.last_sample < interval - SAMPLE_SLACK_S:
            return
        c.last_sample = now
        values = sampled_values(self.keys["MeterValuesSampledData"].value, self.world.connector(connector_id),
                                self._power_w(connector_id), "Sample.Periodic")
        await self._send_tx(call.MeterValues(
            connector_id=connector_id, transaction_id=c.transaction.transaction_id,
            meter_value=[{"timestamp": now_iso(), "sampledValue": values}]))

    def _power_w(self, connector_id: int) -> float:
        if self._status(connector_id) != "Charging":
            return 0.0
        world = self.world.connector(connector_id)
        limit_w = min(MAX_CURRENT_A, float(world.pp_rating_a)) * VOLTAGE_V * PHASES
        return min(self.settings.meter_w, limit_w)

    async def _send_status(self, connector_id: int, status: str, force: bool = False) -> None:
        rt = self._rt()
        last = self._conn(connector_id).reported if connector_id else rt.station_reported
        if last == status and not force:
            return
        if status == "Preparing" and self.faults.active("skip_preparing"):
            delivered = True
        else:
            wrong_id = connector_id and status != "Available" and self.faults.active("wrong_connector_id")
            reported_id = connector_id + 1 if wrong_id else connector_id
            delivered = await self._call(call.StatusNotification(
                connector_id=reported_id, error_code="NoError", status=status, timestamp=now_iso())) is not None
        if delivered:  # a status lost offline is sent again, as the current one, after reconnecting
            if connector_id:
                self._conn(connector_id).reported = status
            else:
                rt.station_reported = status

    def _connector_for_card(self) -> int:
        for connector_id in range(1, self.settings.connectors + 1):
            c = self._conn(connector_id)
            if c.transaction is None and self.world.connector(connector_id).ev_connected:
                return connector_id
        return 1

    async def _card_presented(self, id_tag: str) -> None:
        for connector_id in range(1, self.settings.connectors + 1):
            c = self._conn(connector_id)
            if c.transaction is not None and c.transaction.id_tag == id_tag:
                c.stop_reason = "Local"  # the same card ends the session without asking the Central System
                return
        rt = self._rt()
        connected = rt.cp is not None and rt.registered  # not rt.online: that is set a little later
        status = local_decision(id_tag, connected, self.keys, self.auth_cache)
        if status is None:
            resp = await self._call(call.Authorize(id_tag=id_tag))
            if resp is None:  # the link went down meanwhile: decide as offline
                status = local_decision(id_tag, False, self.keys, self.auth_cache)
            else:
                remember(self.auth_cache, self.keys, id_tag, resp.id_tag_info)
                status = resp.id_tag_info.get("status")
        if status == "Accepted":
            self._conn(self._connector_for_card()).authorized_tag = id_tag

    async def _start_transaction(self, connector_id: int, id_tag: str) -> None:
        c, world = self._conn(connector_id), self.world.connector(connector_id)
        c.authorized_tag = None
        meter_start = int(world.energy_wh)
        local_id = self._next_local_tx_id
        self._next_local_tx_id -= 1
        c.transaction = self.open_tx[connector_id] = Transaction(local_id, id_tag, meter_start)
        c.last_sample = asyncio.get_running_loop().time()
        limit = min(MAX_CURRENT_A, float(world.pp_rating_a))
        self.world.set("pwm_duty_pct", current_to_duty(limit), connector_id=connector_id)
        if not world.lock_failure:
            self.world.set("lock_engaged", True, connector_id=connector_id)
        await self._send_tx(start_transaction(local_id, connector_id=connector_id, id_tag=id_tag,
                                              meter_start=meter_start, timestamp=now_iso()))

    def _transaction_id_assigned(self, local: int, response: Any) -> None:
        """A StartTransaction.conf arrived (at once, or after a link loss): take its id and judge its idTag."""
        holders = list(self.open_tx.values())
        if self.rt is not None:
            holders += [c.transaction for c in self.rt.connectors if c.transaction is not None]
        for tx in holders:
            if tx.transaction_id == local:
                tx.transaction_id = response.transaction_id
                remember(self.auth_cache, self.keys, tx.id_tag, response.id_tag_info)
        status = (response.id_tag_info or {}).get("status")
        if status == "Accepted" or self.keys["StopTransactionOnInvalidId"].value != "true" or self.rt is None:
            return
        for c in self.rt.connectors:
            if c.transaction is not None and c.transaction.transaction_id == response.transaction_id:
                c.stop_reason = "DeAuthorized"
                self.rt.wake.set()

    async def _stop_lost_transactions(self) -> None:
        """After a power loss the transactions in flash have no session left: stop them with PowerLoss."""
        rt = self._rt()
        for connector_id, tx in list(self.open_tx.items()):
            if rt.connectors[connector_id - 1].transaction is tx:
                continue
            del self.open_tx[connector_id]
            await self._send_tx(call.StopTransaction(
                meter_stop=int(self.world.connector(connector_id).energy_wh), timestamp=now_iso(),
                transaction_id=tx.transaction_id, reason="PowerLoss", id_tag=tx.id_tag))

    async def _stop_transaction(self, connector_id: int) -> None:
        c, world = self._conn(connector_id), self.world.connector(connector_id)
        tx, reason = c.transaction, c.stop_reason
        assert tx is not None
        c.transaction, c.stop_reason = None, None
        self.open_tx.pop(connector_id, None)
        self.world.set("pwm_duty_pct", 100.0, connector_id=connector_id)
        if self.keys["UnlockConnectorOnEVSideDisconnect"].value == "true" or reason != "EVDisconnected":
            self.world.set("lock_engaged", False, connector_id=connector_id)
        c.finishing = world.ev_connected
        await self._send_tx(call.StopTransaction(meter_stop=int(world.energy_wh), timestamp=now_iso(),
                                                 transaction_id=tx.transaction_id, reason=reason, id_tag=tx.id_tag))

    def _meter(self, dt: float) -> None:
        if self.rt is None:
            return
        for connector_id in range(1, self.settings.connectors + 1):
            if self._status(connector_id) == "Charging":
                world = self.world.connector(connector_id)
                world.energy_wh += self.settings.meter_w * dt / 3600.0

    async def _call(self, payload: Any) -> Any:
        """Send a request that is not transaction data; while offline it is dropped, as firmware does."""
        assert not isinstance(payload, TX_MESSAGES), "transaction messages go through _send_tx"
        return await self._deliver(payload)

    async def _send_tx(self, payload: Any) -> Any:
        return await self.tx_queue.send(payload, self._deliver)

    async def _deliver(self, payload: Any) -> Any:
        rt = self.rt
        if rt is None or rt.cp is None or not rt.registered:
            log.info("offline, %s not sent", type(payload).__name__)
            return None
        # a call in flight when the link dies would otherwise wait out the whole response timeout
        request = asyncio.ensure_future(rt.cp.call(payload, suppress=False))
        lost = asyncio.ensure_future(rt.connection_lost.wait())
        try:
            await asyncio.wait({request, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
        if not request.done():
            request.cancel()
            log.info("%s not delivered: the link was lost", type(payload).__name__)
            return None
        try:
            return request.result()
        except (websockets.ConnectionClosed, asyncio.TimeoutError) as exc:
            log.info("%s not delivered: %s", type(payload).__name__, exc)
            return None
        except OCPPError as exc:  # the Central System refused it; firmware logs and carries on
            log.warning("%s answered with CALLERROR: %s", type(payload).__name__, exc)
            return None

    # ----------------------------------------------------------------- requests from the Central System
    def configuration_changed(self, key: str) -> None:
        if self.rt is not None:
            self.rt.config_changed.set()
            self.rt.wake.set()

    def remote_start(self, id_tag: str, connector_id: int | None) -> str:
        if self.faults.active("reject_remote_start") or self.rt is None:
            return "Rejected"
        connector_id = connector_id or self._connector_for_card()
        if not 1 <= connector_id <= self.settings.connectors:
            return "Rejected"
        c = self._conn(connector_id)
        if c.transaction is not None:
            return "Rejected"
        if self.keys["AuthorizeRemoteTxRequests"].value == "true":
            asyncio.get_running_loop().create_task(self._authorize_then_arm(connector_id, id_tag))
        else:
            c.authorized_tag = id_tag
            self.rt.wake.set()
        return "Accepted"

    async def _authorize_then_arm(self, connector_id: int, id_tag: str) -> None:
        resp = await self._call(call.Authorize(id_tag=id_tag))
        if resp is not None and resp.id_tag_info.get("status") == "Accepted" and self.rt is not None:
            self._conn(connector_id).authorized_tag = id_tag
            self.rt.wake.set()

    def remote_stop(self, transaction_id: int) -> str:
        if self.rt is None:
            return "Rejected"
        for c in self.rt.connectors:
            if c.transaction is not None and c.transaction.transaction_id == transaction_id:
                c.stop_reason = "Remote"
                self.rt.wake.set()
                return "Accepted"
        return "Rejected"

    def reset(self, kind: str) -> str:
        asyncio.get_running_loop().create_task(self._reboot("HardReset" if kind == "Hard" else "SoftReset"))
        return "Accepted"

    async def _reboot(self, reason: str) -> None:
        await asyncio.sleep(0.2)  # let the Reset.conf leave first
        if self.rt is not None:
            for connector_id, c in enumerate(self.rt.connectors, start=1):
                if c.transaction is not None:
                    c.stop_reason = reason
                    await self._stop_transaction(connector_id)
        await self._power_down()
        if self.world.mains_on:
            self._power_up()

    def _valid_connector(self, connector_id: int, allow_station: bool) -> bool:
        return (0 if allow_station else 1) <= connector_id <= self.settings.connectors

    def change_availability(self, connector_id: int, kind: str) -> str:
        if not self._valid_connector(connector_id, allow_station=True) or self.rt is None:
            return "Rejected"
        targets = [connector_id] if connector_id else [0, *range(1, self.settings.connectors + 1)]
        if kind == "Operative":
            self.unavailable.difference_update(targets)
            busy = False
        else:
            self.unavailable.update(targets)
            # a connector with a transaction goes Unavailable when the transaction ends (OCPP 1.6, 5.2)
            busy = any(self._conn(t).transaction is not None for t in targets if t)
        self.rt.wake.set()
        return "Scheduled" if busy else "Accepted"

    def unlock_connector(self, connector_id: int) -> str:
        if not self._valid_connector(connector_id, allow_station=False) or self.rt is None:
            return "NotSupported"
        if self.settings.fixed_cable:
            return "NotSupported"  # a tethered cable has no socket lock to open
        c, world = self._conn(connector_id), self.world.connector(connector_id)
        if c.transaction is not None:
            c.stop_reason = "UnlockCommand"
            self.rt.wake.set()
        if world.lock_failure:
            return "UnlockFailed"
        self.world.set("lock_engaged", False, connector_id=connector_id)
        return "Unlocked"

    def trigger_message(self, requested: str, connector_id: int | None) -> str:
        if self.rt is None:
            return "Rejected"
        if connector_id is not None and not self._valid_connector(connector_id, allow_station=True):
            return "Rejected"
        if requested not in ("BootNotification", "Heartbeat", "StatusNotification", "MeterValues"):
            return "NotImplemented"
        asyncio.get_running_loop().create_task(self._triggered(requested, connector_id))
        return "Accepted"

    async def _triggered(self, requested: str, connector_id: int | None) -> None:
        await asyncio.sleep(0.05)  # the TriggerMessage.conf goes out first
        connectors = [connector_id] if connector_id is not None else list(range(0, self.settings.connectors + 1))
        if requested == "BootNotification":
            await self._call(call.BootNotification(charge_point_vendor=self.settings.vendor,
                                                   charge_point_model=self.settings.model,
                                                   firmware_version=self.settings.firmware_version))
        elif requested == "Heartbeat":
            await self._call(call.Heartbeat())
        elif requested == "StatusNotification":
            for cid in connectors:
                await self._send_status(cid, self._status(cid), force=True)
        else:
            for cid in connectors:
                if cid == 0:
                    continue
                values = sampled_values(self.keys["MeterValuesSampledData"].value, self.world.connector(cid),
                                        self._power_w(cid), "Trigger")
                await self._call(call.MeterValues(connector_id=cid,
                                                  meter_value=[{"timestamp": now_iso(), "sampledValue": values}]))
