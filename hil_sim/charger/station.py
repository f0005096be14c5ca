"""The simulated charge point: firmware that boots when mains comes on, keeps a link to the Central System,
reads the CP line and the card reader, and runs transactions.

What survives a power loss lives on `SimStation` (configuration keys); everything else lives on `Runtime`,
which is thrown away when mains goes off, just as RAM is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Coroutine

import websockets
from ocpp.exceptions import OCPPError
from ocpp.v16 import call
from websockets.asyncio.client import ClientConnection
from websockets.protocol import State

from drivers.evse_tester.iec61851 import duty_to_current
from hil_sim.faults import FaultSet
from hil_sim.settings import StationSettings
from hil_sim.world import World

from .aligned import clock_aligned_loop
from .authorization import local_decision, remember
from .certificates import CertificateStore
from .config_keys import default_keys, fix
from .firmware import Transfers
from .handlers import SimChargePoint
from .local_list import LocalAuthList
from .metering import PHASES, VOLTAGE_V, sampled_values
from .reservation import Reservations
from .security_profile import LinkSecurity
from .smart_charging import SmartCharging
from .txqueue import TX_MESSAGES, TransactionQueue, start_transaction

log = logging.getLogger("hil_sim.charger")

MODE_2_CURRENT_A = 10.0  # what a household Mode 2 cable's control box allows
SAMPLE_SLACK_S = 0.01  # a timer may fire a hair before its time on the loop's clock
EAGER_START_S = 0.05  # the start_without_cable fault: how long after the idTag is accepted it starts
LATE_LOCK_RETRY_S = 2.4  # fault lock_failure_retried_late: past the 2 s TC_024 once watched after Faulted


async def _wait_and_clear(event: asyncio.Event) -> None:
    """Each event has one waiter that consumes it; two loops sharing one would steal each other's wake-ups."""
    await event.wait()
    event.clear()


OVERCOUNT_FACTOR = 1.5  # energy_register_overcounts: a current transformer ratio set wrong
REGISTER_SAVE_WH = 100.0  # energy_register_saved_rarely: the register is written to flash every 100 Wh
RTC_FAST_S = 600.0  # rtc_not_synchronised: the clock it was shipped with, ten minutes fast


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Transaction:
    transaction_id: int
    id_tag: str
    meter_start: int
    parent_id_tag: str | None = None  # from the idTagInfo of its idTag: other cards of that group may end it
    stop_id_tag: str | None = None  # the idTag that asked to end it, when it is not id_tag
    started: str = ""  # the StartTransaction timestamp
    energy_withheld: bool = False  # the station opened its contactor (kept, but no energy offered): SuspendedEVSE
    ev_side_seen: bool = False  # Mode 1/2: the cable's control box has had the EV on its side in this transaction


@dataclass
class ConnectorRuntime:
    """Volatile per-connector firmware state."""

    reported: str | None = None  # the last status sent (or suppressed by a fault)
    authorized_tag: str | None = None  # an idTag accepted and waiting for a cable / for the start
    transaction: Transaction | None = None
    finishing: bool = False  # a transaction ended while the EV is still connected
    stop_reason: str | None = None  # a stop requested, carried out by the firmware loop
    last_sample: float = 0.0  # loop time of the last sampled MeterValues
    armed_at: float = 0.0  # loop time authorized_tag was set: ConnectionTimeOut counts from there
    remote_armed: bool = False  # authorized_tag came from a RemoteStartTransaction
    authorized_parent: str | None = None  # parentIdTag of authorized_tag, as the Authorize.conf gave it
    lock_failed: bool = False  # the plug lock did not engage for a start: Faulted until the cable is out
    lock_failed_at: float | None = None  # loop time of the failure (fault lock_failure_retried_late)
    deauthorized: bool = False  # the StartTransaction.conf refused the idTag; the main loop acts on it
    candidate: str | None = None  # a new status not reported yet: MinimumStatusDuration runs from candidate_since
    candidate_since: float = 0.0


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
    reset_reason: str | None = None  # a Reset accepted, carried out by the main loop (HardReset / SoftReset)


class SimStation:
    def __init__(self, world: World, settings: StationSettings, csms_url: str, charge_point_id: str,
                 faults: FaultSet | None = None, csms_tls_url: str | None = None) -> None:
        self.world = world
        self.settings = settings
        self.url = f"{csms_url.rstrip('/')}/{charge_point_id}"
        self.charge_point_id = charge_point_id
        self.faults = faults or FaultSet()
        # what firmware keeps in flash: configuration, queued transaction messages, open transactions,
        # availability, the authorization cache
        self.keys = default_keys(settings.connectors, settings.profiles)
        if self.faults.active("no_connector_phase_rotation"):
            del self.keys["ConnectorPhaseRotation"]  # the bug: a required Core key that was never implemented
        self.local_list = LocalAuthList(self)  # Local Authorization List (+ its keys), in flash like the keys
        self.reservations = Reservations(self)  # ReserveNow / CancelReservation (+ its key); RAM per boot
        self.smart = SmartCharging(self)  # charging profiles (+ their keys), in flash; they drive the PWM
        self.certificates = CertificateStore(self)  # security extension: trusted roots, client certificate
        self.link_security = LinkSecurity(self, csms_tls_url)  # security profile of the link (+ its keys)
        fix(self.keys, settings.fixed_keys)  # after every profile added its keys: any of them may be fixed
        self.tx_queue = TransactionQueue(self._transaction_id_assigned)
        self.open_tx: dict[int, Transaction] = {}
        self.unavailable: set[int] = set()  # connector ids set Inoperative (0: the whole station)
        self.auth_cache: dict[str, str] = {}
        # shared by the profile modules: TriggerMessage reports the first two, GetLog uploads the third
        self.firmware_status = "Idle"  # the last FirmwareStatusNotification status
        self.diagnostics_status = "Idle"  # the last DiagnosticsStatusNotification status
        self.security_log: list[str] = []  # security events, persisted like the configuration
        self.firmware_version = settings.firmware_version  # of the image in flash: an update changes it
        self.transfers = Transfers(self)  # firmware updates, diagnostics and log uploads (firmware.py)
        self._next_local_tx_id = -1
        self.rt: Runtime | None = None
        self._firmware: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[Any]] = set()  # spawn(): ended by stop()
        self.boots = 0
        self._metered_at: float | None = None  # when the energy was last counted (monotonic)
        world.on_settle(self._integrate)
        self.register_lost_wh: dict[int, float] = {}  # energy_register_saved_rarely: what reboots took off
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
        # what the firmware left running (a reboot, an event after a .conf) ends with the station, not after it
        left = [t for t in self._background if t is not asyncio.current_task()]
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)

    def spawn(self, work: Coroutine[Any, Any, Any]) -> "asyncio.Task[Any]":
        """Work the station does beside its loops (a reboot, a message after its .conf): kept until done, so the
        station's stop ends it."""
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    def requests_hung(self) -> bool:
        """requests_hang_until_power_cycle: the firmware's first boot hangs its request handler; a power cycle (the
        next boot) clears it."""
        return self.faults.active("requests_hang_until_power_cycle") and self.boots <= 1

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
        if event == "mains_on":
            if value:
                self._power_up()
            else:
                self.spawn(self._mains_lost())
            return
        if self.rt is None:
            return
        if event == "network_up":
            if not value and self.rt.ws is not None:
                self.rt.ws.transport.abort()
            self.rt.network_changed.set()
        self.rt.wake.set()

    async def _mains_lost(self) -> None:
        """Without a backup supply the firmware dies at once. With one, and StopTransactionsBeforePowerDown set,
        it stops every transaction (PowerLoss) and reports the connectors within the hold-up time first."""
        rt = self.rt
        if rt is not None and rt.registered and self.settings.backup_power_s > 0 \
                and self.keys["StopTransactionsBeforePowerDown"].value == "true":
            for c in rt.connectors:
                if c.transaction is not None:
                    c.stop_reason = "PowerLoss"
            rt.wake.set()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._quiet_for_power_down(rt), self.settings.backup_power_s)
        if self.rt is not rt:
            return  # powered down and up again meanwhile: nothing of this runtime is left to shut down
        await self._power_down()
        if self.world.mains_on:  # the supply came back while the controller was shutting down: it boots again
            self._power_up()

    async def _quiet_for_power_down(self, rt: Runtime) -> None:
        """Every transaction stopped, its messages delivered and every connector's status reported."""
        def busy() -> bool:
            return self.tx_queue.pending != [] or any(
                c.transaction is not None or c.reported != self._status(cid)
                for cid, c in enumerate(rt.connectors, start=1))
        while busy():
            await asyncio.sleep(0.05)

    # ----------------------------------------------------------------- firmware
    async def _run_firmware(self) -> None:
        await asyncio.sleep(self.settings.boot_delay_s)
        self.boots += 1
        if self.faults.active("availability_not_persistent"):
            self.unavailable.clear()  # the bug: availability was only kept in RAM
        if self.boots > 1 and self.faults.active("energy_register_saved_rarely"):
            for connector_id in range(1, self.settings.connectors + 1):  # the bug: back to the last save
                self.register_lost_wh[connector_id] = self.register_lost_wh.get(connector_id, 0.0) + \
                    self._register_exact(connector_id) % REGISTER_SAVE_WH
        self.rt = Runtime([ConnectorRuntime() for _ in range(self.settings.connectors)])
        self.tx_queue.forget(call.StatusNotification)  # statuses kept while offline were in RAM: stale now
        for connector_id in self.open_tx:
            # a transaction in flash did not survive the power loss: with the cable still in, the connector
            # is Finishing until it is unplugged (its StopTransaction follows the boot)
            self.rt.connectors[connector_id - 1].finishing = self._cable_in(connector_id)
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._link_loop())
            tasks.create_task(self._heartbeat_loop())
            tasks.create_task(self._main_loop())
            tasks.create_task(self._ticker())
            tasks.create_task(clock_aligned_loop(self))

    async def _link_loop(self) -> None:
        rt = self._rt()
        connected_before = False
        while True:
            if connected_before and self.faults.active("reconnect_stuck_until_power_cycle"):
                await asyncio.Future()  # the bug: the client is stuck until the power goes (this task is cancelled)
            if not self.world.network_up:
                await _wait_and_clear(rt.network_changed)
                continue
            url, secured = self.link_security.connect_args(self.url)  # ws:// or wss://, credentials
            try:
                ws = await websockets.connect(url, subprotocols=["ocpp1.6"], open_timeout=5, ping_interval=None,
                                              **secured)
            except (OSError, asyncio.TimeoutError, websockets.InvalidHandshake) as exc:
                log.debug("connect to %s failed: %s", url, exc)
                await self.link_security.failed(exc)
                await asyncio.sleep(0.5)
                continue
            self.link_security.connected()
            connected_before = True
            rt.ws, rt.cp = ws, SimChargePoint(self.charge_point_id, ws, self)
            rt.connection_lost = lost = asyncio.Event()
            reader = asyncio.get_running_loop().create_task(rt.cp.start())
            try:
                if not rt.registered:
                    await self._boot(rt.cp)
                    for connector_id in self._boot_report_order():
                        await self._send_status(connector_id, self._status(connector_id), force=True)
                await self.tx_queue.flush(self._deliver)
                await self._stop_lost_transactions()
                rt.online.set()
                await self.tx_queue.flush(self._deliver)  # a status a replaying station kept meanwhile
                rt.wake.set()
                self.transfers.booted()  # a firmware booted from a new image reports the installation
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

    def _boot_report_order(self) -> list[int]:
        """OCPP 1.6 fixes no order for the statuses after a boot; this firmware reports the station (connectorId
        0) first, or last with `station_status_last`."""
        connectors = list(range(1, self.settings.connectors + 1))
        return [*connectors, 0] if self.settings.station_status_last else [0, *connectors]

    async def _boot(self, cp: SimChargePoint) -> None:
        while True:
            resp = await cp.call(call.BootNotification(
                charge_point_vendor=self.settings.vendor, charge_point_model=self.settings.model,
                firmware_version=self.firmware_version), suppress=False)
            # a firmware that only knows Accepted/Rejected takes Pending for a registration
            pending_as_accepted = resp.status == "Pending" and self.faults.active("pending_treated_as_accepted")
            if resp.status == "Accepted" or pending_as_accepted:
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
                deadline = self._connection_deadline(c)
                if deadline is not None:
                    delay = min(delay, max(0.01, deadline - now))
                settled = self._settles_at(c)
                if settled is not None:
                    delay = min(delay, max(0.01, settled - now))
            await asyncio.sleep(delay)
            rt.wake.set()

    async def _main_loop(self) -> None:
        rt = self._rt()
        self._metered_at = None
        while True:
            await _wait_and_clear(rt.wake)
            self._integrate()
            if not rt.registered:
                continue
            card = self.world.card_uid
            if card != rt.last_card:
                rt.last_card = card
                if card is not None:
                    await self._card_presented(card.upper())
            self.reservations.end_out_of_order()  # a fault or Inoperative ends a reservation there
            if rt.online.is_set() or self._replays_statuses():
                await self._send_status(0, self._status(0))
            for connector_id in range(1, self.settings.connectors + 1):
                await self._run_connector(connector_id)
            if rt.reset_reason is not None:
                await self._reset_now(rt)
                return  # going down: nothing more from this boot

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
        if self.ground_fault(connector_id) or c.lock_failed:
            return "Faulted"
        if c.transaction is not None:
            if self.settings.mode_1_2_only:  # no pilot: its own contactor, then the current flowing tells
                if c.transaction.energy_withheld:
                    return "SuspendedEVSE"
                return "Charging" if self._ev_draws(connector_id) else "SuspendedEV"
            if world.pwm_duty_pct >= 100.0:
                return "SuspendedEVSE"
            return "Charging" if world.cp_state() in ("C", "D") else "SuspendedEV"
        if c.finishing:
            return "Finishing"
        if connector_id in self.unavailable or 0 in self.unavailable or self._evse_reserved(connector_id):
            return "Unavailable"
        if self.reservations.shows_reserved(connector_id):
            return "Reserved"  # held for a driver: a cable alone does not make it Preparing
        if self._ev_present(connector_id):
            return "Preparing"
        hidden = c.remote_armed and self.faults.active("no_preparing_on_remote_start")
        if c.authorized_tag is not None and not hidden:
            return "Preparing"
        return "Available"

    async def _run_connector(self, connector_id: int) -> None:
        c, world = self._conn(connector_id), self.world.connector(connector_id)
        if c.transaction is not None and c.deauthorized:
            await self._deauthorize(connector_id)
        if c.transaction is not None:
            c.transaction.ev_side_seen |= world.ev_connected  # the Mode 2 control box has the EV (_ev_present)
            stop_on_disconnect = self.keys["StopTransactionOnEVSideDisconnect"].value == "true" \
                or self.faults.active("stop_on_ev_side_disconnect_always")
            if c.stop_reason is None and not self._ev_present(connector_id) and stop_on_disconnect:
                c.stop_reason = "EVDisconnected"
            if c.stop_reason is None and self._fault_blocks(connector_id):
                c.stop_reason = "Other"  # the residual current monitor opened the contactor
            if c.stop_reason is not None:
                await self._stop_transaction(connector_id)
        elif c.authorized_tag is not None \
                and (self._ev_present(connector_id) or self._starts_without_cable(c)) \
                and not self.faults.active("no_start_transaction") and not self._fault_blocks(connector_id):
            if self._lock_for_start(connector_id):
                if c.reported == "Reserved" and self._rt().online.is_set():  # the reserved driver came: Preparing
                    await self._send_status(connector_id, self._status(connector_id))  # first (no Reserved->Charging)
                await self._start_transaction(connector_id, c.authorized_tag)
        elif c.authorized_tag is not None and not self._ev_present(connector_id):
            deadline = self._connection_deadline(c)
            if deadline is not None and asyncio.get_running_loop().time() >= deadline - SAMPLE_SLACK_S:
                c.authorized_tag = None  # ConnectionTimeOut: no cable came, the start is cancelled
        if c.finishing and not self._cable_in(connector_id):
            c.finishing = False
        if c.lock_failed and not self._cable_in(connector_id):
            c.lock_failed, c.lock_failed_at = False, None
        if c.transaction is None and not self._cable_in(connector_id):
            c.lock_failed_at = None
        self.smart.follow(connector_id)  # the limit in force may have changed (a new profile, a new period)
        # not while the link comes back: queued transaction messages go first (a replaying station queues it too)
        if self._rt().online.is_set() or self._replays_statuses():
            await self._send_status(connector_id, self._status(connector_id))
        await self._sample_meter(connector_id)

    def _starts_without_cable(self, c: ConnectorRuntime) -> bool:
        """The start_without_cable fault: the transaction starts a moment after the idTag is accepted, cable or not
        (after the Preparing that the authorization reports)."""
        return self.faults.active("start_without_cable") \
            and asyncio.get_running_loop().time() >= c.armed_at + EAGER_START_S

    def _evse_taken(self, connector_id: int) -> bool:
        """Connectors that share one power stage (`evses`) serve one session at a time: while another connector of
        the EVSE holds a driver's session (armed, charging, finishing) or a reservation, this one takes none."""
        for mate in self.settings.evse_mates(connector_id):
            m = self._conn(mate)
            if m.transaction is not None or m.finishing or m.authorized_tag is not None \
                    or self.reservations.holds(mate):
                return True
        return False

    def _evse_reserved(self, connector_id: int) -> bool:
        """A reservation on a connector of the same EVSE shows on this one too. Appendix D allows the other
        connectors' statuses in the Reservation cases only, so a session on a mate is not reported here: this
        connector stays Available and just takes no session (_evse_taken)."""
        return any(self.reservations.holds(mate) for mate in self.settings.evse_mates(connector_id))

    def _replays_statuses(self) -> bool:
        """Offline (or while the link comes back), a station with offline_statuses: replay queues each status
        change with its own timestamp rather than dropping it."""
        return self.settings.offline_statuses == "replay" and not self._rt().online.is_set()

    def _ev_present(self, connector_id: int) -> bool:
        """Whether the firmware knows an EV is there: through the Control Pilot normally. A Mode 1/2-only station
        has no pilot and sees the plug in its socket; during a transaction, the Mode 2 cable's control box
        (IC-CPD), which talks to the EV over its own pilot, opens when the EV side is unplugged, so the station
        sees the current stop and the cable's EV side gone. Only once the box had the EV: a transaction may
        start a moment before the EV side is plugged (the station cannot see it yet)."""
        world = self.world.connector(connector_id)
        if not self.settings.mode_1_2_only:
            return world.ev_connected
        tx = self._conn(connector_id).transaction
        return world.plugged_charger_side and (tx is None or not tx.ev_side_seen or world.plugged_ev_side)

    def _ev_draws(self, connector_id: int) -> bool:
        """Behind a Mode 2 cable's control box the EV asks for energy with state C/D; the station sees current."""
        world = self.world.connector(connector_id)
        return world.ev_connected and world.ev_state in ("C", "D")

    def _lock_for_start(self, connector_id: int) -> bool:
        """A socket locks the plug before energy flows; when the lock does not engage the start is cancelled and
        the connector is Faulted (ConnectorLockFailure) until the cable is taken away."""
        c, world = self._conn(connector_id), self.world.connector(connector_id)
        if not self._has_socket_lock() or not world.lock_failure or self.faults.active("start_despite_lock_failure"):
            return True
        if self.faults.active("lock_failure_retried_late"):
            return self._late_lock_retry(c)
        c.lock_failed, c.authorized_tag = True, None
        return False

    def _has_socket_lock(self) -> bool:
        """Only a socket for a type 2 plug locks it: a tethered cable has no plug to hold, a Mode 1/2-only
        station's domestic socket outlet has no lock."""
        return not self.settings.fixed_cable and not self.settings.mode_1_2_only

    def _late_lock_retry(self, c: ConnectorRuntime) -> bool:
        """Fault lock_failure_retried_late: Faulted at first, but the start is kept and retried a little later,
        when the (still broken) lock is taken for engaged."""
        loop = asyncio.get_running_loop()
        if c.lock_failed_at is None:
            c.lock_failed, c.lock_failed_at = True, loop.time()
            loop.call_later(LATE_LOCK_RETRY_S, self._rt().wake.set)
            return False
        if loop.time() - c.lock_failed_at < LATE_LOCK_RETRY_S - SAMPLE_SLACK_S:
            return False
        c.lock_failed = False
        return True

    def _fault_blocks(self, connector_id: int) -> bool:
        """A Faulted connector (ground fault) neither starts nor keeps a transaction."""
        return self.ground_fault(connector_id) and not self.faults.active("charges_while_faulted")

    def ground_fault(self, connector_id: int) -> bool:
        """A leakage trips the residual current monitor of the power stage: every connector it serves (`evses`)
        is Faulted with the one where the fault is."""
        stage = (connector_id, *self.settings.evse_mates(connector_id))
        return any(self.world.connector(c).ground_fault for c in stage)

    async def _deauthorize(self, connector_id: int) -> None:
        """The Central System refused the idTag of a running transaction (e.g. one started offline). The status
        the connector went into meanwhile is reported first; then, per StopTransactionOnInvalidId, the
        transaction is stopped (DeAuthorized) or only the energy offer is (SuspendedEVSE)."""
        c = self._conn(connector_id)
        c.deauthorized = False
        if self._rt().online.is_set():
            await self._send_status(connector_id, self._status(connector_id))
        if c.transaction is None:
            return
        stop = self.keys["StopTransactionOnInvalidId"].value == "true"
        if self.faults.active("always_stop_on_invalid_id"):
            stop = True
        if stop:
            c.stop_reason = c.stop_reason or "DeAuthorized"
        elif self.settings.mode_1_2_only:
            c.transaction.energy_withheld = True  # no PWM to withdraw: the contactor opens
        else:
            self.world.set("pwm_duty_pct", 100.0, connector_id=connector_id)

    def _cable_in(self, connector_id: int) -> bool:
        """A cable the driver still has to take away: a socket sees its plug (proximity pilot) even when the EV
        side is unplugged; a tethered cable is away once the EV side is."""
        world = self.world.connector(connector_id)
        if self.settings.fixed_cable or self.faults.active("ev_side_disconnect_reported_available"):
            return world.ev_connected
        return world.plugged_charger_side

    async def _sample_meter(self, connector_id: int) -> None:
        c = self._conn(connector_id)
        interval = int(self.keys["MeterValueSampleInterval"].value)
        now = asyncio.get_running_loop().time()
        if c.transaction is None or interval <= 0 or now - c.last_sample < interval - SAMPLE_SLACK_S:
            return
        c.last_sample = now
        if self.faults.active("meter_values_dropped_offline") and not self._rt().online.is_set():
            return
        context = "Sample.Clock" if self.faults.active("periodic_samples_labelled_clock") else "Sample.Periodic"
        register = self.register_wh(connector_id)
        if self.faults.active("meter_values_transaction_energy"):
            register -= c.transaction.meter_start  # the bug: the transaction's energy, labelled as the register
        values = sampled_values(self.keys["MeterValuesSampledData"].value, register, self._power_w(connector_id),
                                context)
        # the bug of meter_timestamp_at_start: the reading is stamped with the transaction's start time
        stamp = c.transaction.started if self.faults.active("meter_timestamp_at_start") else self._rtc_iso()
        await self._send_tx(call.MeterValues(
            connector_id=connector_id, transaction_id=c.transaction.transaction_id,
            meter_value=[{"timestamp": stamp, "sampledValue": values}]))

    def _integrate(self) -> None:
        """Count the energy up to now: the main loop, a register reading and the bench's meter see the same."""
        now = time.monotonic()
        if self._metered_at is not None:
            self._meter(now - self._metered_at)
        self._metered_at = now

    def register_wh(self, connector_id: int) -> int:
        """The station's energy register as it reports it. The world's energy_wh is what really flowed (the bench's
        reference meter reads that); the station's own meter may be miscalibrated (a fault)."""
        self._integrate()
        return int(self._register_exact(connector_id))

    def _register_exact(self, connector_id: int) -> float:
        wh = self.world.connector(connector_id).energy_wh - self.register_lost_wh.get(connector_id, 0.0)
        return wh * OVERCOUNT_FACTOR if self.faults.active("energy_register_overcounts") else wh

    def _rtc_iso(self) -> str:
        """The time StatusNotification and MeterValues are stamped with (the metering board's clock)."""
        if self.faults.active("rtc_not_synchronised"):
            return (datetime.now(timezone.utc) + timedelta(seconds=RTC_FAST_S)).isoformat(
                timespec="milliseconds").replace("+00:00", "Z")
        return now_iso()

    def _power_w(self, connector_id: int) -> float:
        if self._status(connector_id) != "Charging":
            return 0.0
        if self.settings.mode_1_2_only:  # the Mode 2 cable's control box limits it, single phase
            return min(self.settings.meter_w, MODE_2_CURRENT_A * VOLTAGE_V)
        world = self.world.connector(connector_id)
        limit_w = (duty_to_current(world.pwm_duty_pct) or 0.0) * VOLTAGE_V * PHASES  # what the PWM offers
        return min(self.settings.meter_w, limit_w)

    async def _send_status(self, connector_id: int, status: str, force: bool = False) -> None:
        rt = self._rt()
        last = self._conn(connector_id).reported if connector_id else rt.station_reported
        if last == status and not force:
            if connector_id:
                self._conn(connector_id).candidate = None  # back where it was before MinimumStatusDuration ran out
            return
        if connector_id and not force and not self._stable(self._conn(connector_id), status):
            return
        if status == "Preparing" and self.faults.active("skip_preparing"):
            delivered = True
        else:
            wrong_id = connector_id and status != "Available" and self.faults.active("wrong_connector_id")
            reported_id = connector_id + 1 if wrong_id else connector_id
            payload = call.StatusNotification(
                connector_id=reported_id, error_code=self._error_code(connector_id, status), status=status,
                timestamp=self._rtc_iso(), info=self._status_info(connector_id, status))
            if not force and self._replays_statuses():
                self.tx_queue.keep(payload)  # sent after reconnecting, with the timestamp of the change
                delivered = True
            else:
                # OCPP 1.6 promises no delivery of a status: one written to an open link counts as reported, so
                # an answer lost when the link drops right after does not make it send the same status twice
                # (Appendix D's duplicate rule); only one that never reached the wire is sent again
                written = rt.ws is not None and rt.registered and rt.ws.state is State.OPEN
                delivered = await self._call(payload) is not None or written
        if delivered:  # a status lost offline is sent again, as the current one, after reconnecting
            if connector_id:
                self._conn(connector_id).reported = status
            else:
                rt.station_reported = status

    def _minimum_status_duration(self) -> float:
        return float(self.keys["MinimumStatusDuration"].value)

    def _stable(self, c: ConnectorRuntime, status: str) -> bool:
        """MinimumStatusDuration: a connector status is reported only once it has held that long, so a status
        the connector passes through briefly is never sent."""
        duration = self._minimum_status_duration()
        if duration <= 0:
            return True
        now = asyncio.get_running_loop().time()
        if c.candidate != status:
            c.candidate, c.candidate_since = status, now
        return now - c.candidate_since >= duration - SAMPLE_SLACK_S

    def _settles_at(self, c: ConnectorRuntime) -> float | None:
        """When the status waiting out MinimumStatusDuration may be reported (the ticker wakes the loop then)."""
        duration = self._minimum_status_duration()
        if c.candidate is None or c.candidate == c.reported or duration <= 0:
            return None
        return c.candidate_since + duration

    def _status_info(self, connector_id: int, status: str) -> str | None:
        """The free-text info of a StatusNotification: why a transaction is suspended, when the EV is gone."""
        if not connector_id or status not in ("SuspendedEV", "SuspendedEVSE"):
            return None
        if self._ev_present(connector_id) or self.faults.active("no_ev_side_disconnect_info"):
            return None
        return "EV side disconnected"

    def _reader_serves(self) -> list[int]:
        """The connectors the card in the field can act on: every one behind a shared reader, only its own behind
        a reader per EVSE (the presenter stands at `world.card_reader`), none without a reader."""
        every = list(range(1, self.settings.connectors + 1))
        if self.settings.rfid_readers == "one_per_evse":
            return [self.world.card_reader] if self.world.card_reader in every else []
        return every if self.settings.rfid_readers == "single" else []

    def _connector_for_card(self, serves: list[int]) -> int:
        for connector_id in serves:
            c = self._conn(connector_id)
            if c.transaction is None and self._ev_present(connector_id):
                return connector_id
        free = [cid for cid in serves if self._conn(cid).transaction is None and not self._evse_taken(cid)]
        return free[0] if free else serves[0]

    def _error_code(self, connector_id: int, status: str) -> str:
        if connector_id and status == "Faulted" and self.ground_fault(connector_id):
            return "GroundFailure"
        if connector_id and status == "Faulted" and self._conn(connector_id).lock_failed:
            return "ConnectorLockFailure"
        return "NoError"

    def _arm(self, connector_id: int, id_tag: str, remote: bool, parent: str | None = None) -> None:
        """An idTag is accepted for this connector: start when the cable is in, or give up after ConnectionTimeOut."""
        if self._fault_blocks(connector_id) or self._evse_taken(connector_id):
            return  # a Faulted connector takes no start, nor one whose power stage serves another connector
        if not self.reservations.admits(connector_id, id_tag, parent):
            return  # held for another driver (reservation.py)
        c = self._conn(connector_id)
        c.authorized_tag, c.remote_armed, c.authorized_parent = id_tag, remote, parent
        c.armed_at = asyncio.get_running_loop().time()
        self._rt().wake.set()
        if self.faults.active("start_without_cable"):
            asyncio.get_running_loop().call_later(EAGER_START_S, self._rt().wake.set)

    def _connection_deadline(self, c: ConnectorRuntime) -> float | None:
        """When an accepted idTag still waiting for a cable is dropped (OCPP 1.6 ConnectionTimeOut); None: never."""
        timeout = int(self.keys["ConnectionTimeOut"].value)
        if c.authorized_tag is None or c.transaction is not None or timeout <= 0 \
                or self.faults.active("ignore_connection_timeout"):
            return None
        return c.armed_at + timeout

    async def _card_presented(self, id_tag: str) -> None:
        serves = self._reader_serves()
        if not serves:
            return  # no reader where the card is
        for connector_id in serves:
            c = self._conn(connector_id)
            if c.transaction is None and c.authorized_tag == id_tag and not c.remote_armed:
                if self.settings.same_card_withdraws:
                    c.authorized_tag = None  # the same card again before any cable came: the driver withdraws
                    self._rt().wake.set()
                return  # else only ConnectionTimeOut ends the authorization
        running = [cid for cid in serves if self._conn(cid).transaction is not None]
        for connector_id in running:
            if self._conn(connector_id).transaction.id_tag == id_tag:  # type: ignore[union-attr]
                self._end_by_card(connector_id, id_tag)  # the same card: no need to ask the Central System
                return
        any_card = self.faults.active("any_card_stops")
        # another card may only end a transaction whose idTag belongs to a group (has a parentIdTag; OCPP 1.6,
        # Stop Transaction): without one, and with no connector free for a new session, the card is ignored
        grouped = [cid for cid in running
                   if self._conn(cid).transaction.parent_id_tag is not None]  # type: ignore[union-attr]
        free = [cid for cid in serves if cid not in running and not self._evse_taken(cid)]  # shared EVSEs count once
        if not free and not grouped and not any_card:
            return
        rt = self._rt()
        connected = rt.cp is not None and rt.registered  # not rt.online: that is set a little later
        # the cache keeps no parentIdTag, so a card that may end a grouped transaction is always asked about
        listed = self.local_list.status(id_tag)
        ask = bool(grouped) or self.reservations.wants_parent(id_tag)  # and one a group's reservation may admit
        status = None if ask and connected else local_decision(id_tag, connected, self.keys, self.auth_cache,
                                                               listed)
        parent = None
        if status is None:
            resp = await self._call(call.Authorize(id_tag=id_tag))
            if resp is None:  # the link went down meanwhile: decide as offline
                status = local_decision(id_tag, False, self.keys, self.auth_cache, listed)
            else:
                remember(self.auth_cache, self.keys, id_tag, resp.id_tag_info)
                status = resp.id_tag_info.get("status")
                parent = resp.id_tag_info.get("parent_id_tag")
                if self.faults.active("start_despite_invalid"):
                    status = "Accepted"  # only checks that an answer came, not what it says
        if status != "Accepted":
            return
        for connector_id in running:
            tx = self._conn(connector_id).transaction
            if tx is not None and (any_card or (parent is not None and parent == tx.parent_id_tag)):
                self._end_by_card(connector_id, id_tag)
                return
        if len(running) < len(serves):
            self._arm(self._connector_for_card(serves), id_tag, remote=False, parent=parent)

    def _end_by_card(self, connector_id: int, id_tag: str) -> None:
        c = self._conn(connector_id)
        if c.transaction is not None:
            c.stop_reason, c.transaction.stop_id_tag = "Local", id_tag

    async def _start_transaction(self, connector_id: int, id_tag: str) -> None:
        c, world = self._conn(connector_id), self.world.connector(connector_id)
        c.authorized_tag = None
        if self.faults.active("energy_register_per_transaction"):
            self._integrate()  # the bug: the register restarts from zero with every transaction
            self.register_lost_wh[connector_id] = self.world.connector(connector_id).energy_wh
        meter_start = self.register_wh(connector_id)
        local_id = self._next_local_tx_id
        self._next_local_tx_id -= 1
        started = now_iso()
        c.transaction = self.open_tx[connector_id] = Transaction(local_id, id_tag, meter_start,
                                                                 parent_id_tag=c.authorized_parent, started=started)
        reservation_id = self.reservations.consume(connector_id, id_tag, c.authorized_parent)  # its end: the start
        c.authorized_parent = None
        c.last_sample = asyncio.get_running_loop().time()
        self.smart.transaction_started(connector_id)  # the PWM offers what cable, station and profiles allow
        if not world.lock_failure:
            self.world.set("lock_engaged", True, connector_id=connector_id)
        if self.faults.active("offline_start_not_queued") and not self._rt().online.is_set():
            return  # the bug: a transaction started offline is never reported
        if self.settings.charging_before_start and self._rt().online.is_set() \
                and self._status(connector_id) == "Charging":
            # energy flows as soon as the contactor closes: this firmware reports it before the StartTransaction
            await self._send_status(connector_id, self._status(connector_id))
        await self._send_tx(start_transaction(local_id, connector_id=connector_id, id_tag=id_tag,
                                              meter_start=meter_start, timestamp=started, reservation_id=reservation_id))

    def _transaction_id_assigned(self, local: int, response: Any) -> None:
        """A StartTransaction.conf arrived (at once, or after a link loss): take its id and judge its idTag."""
        holders = list(self.open_tx.values())
        if self.rt is not None:
            holders += [c.transaction for c in self.rt.connectors if c.transaction is not None]
        for tx in holders:
            if tx.transaction_id == local:
                tx.transaction_id = response.transaction_id
                tx.parent_id_tag = (response.id_tag_info or {}).get("parent_id_tag", tx.parent_id_tag)
                remember(self.auth_cache, self.keys, tx.id_tag, response.id_tag_info)
        status = (response.id_tag_info or {}).get("status")
        if status == "Accepted" or self.rt is None or self.faults.active("invalid_id_ignored"):
            return
        for c in self.rt.connectors:
            if c.transaction is not None and c.transaction.transaction_id == response.transaction_id:
                c.deauthorized = True
                self.rt.wake.set()

    async def _stop_lost_transactions(self) -> None:
        """After a power loss the transactions in flash have no session left: stop them with PowerLoss."""
        rt = self._rt()
        for connector_id, tx in list(self.open_tx.items()):
            if rt.connectors[connector_id - 1].transaction is tx:
                continue
            del self.open_tx[connector_id]
            await self._send_tx(call.StopTransaction(
                meter_stop=self.register_wh(connector_id), timestamp=now_iso(),
                transaction_id=tx.transaction_id, reason=self._power_loss_reason(), id_tag=tx.id_tag))

    def _power_loss_reason(self) -> str:
        return "Other" if self.faults.active("power_loss_reason_other") else "PowerLoss"

    async def _stop_transaction(self, connector_id: int) -> None:
        c = self._conn(connector_id)
        tx, reason = c.transaction, c.stop_reason
        assert tx is not None
        if self.faults.active("stop_reason_always_local"):
            reason = "Local"
        reason = self._power_loss_reason() if reason == "PowerLoss" else reason
        c.transaction, c.stop_reason = None, None
        self.open_tx.pop(connector_id, None)
        self.world.set("pwm_duty_pct", 100.0, connector_id=connector_id)
        if self.keys["UnlockConnectorOnEVSideDisconnect"].value == "true" or reason != "EVDisconnected":
            self.world.set("lock_engaged", False, connector_id=connector_id)
        c.finishing = self._cable_in(connector_id)
        id_tag = self._stop_id_tag(tx)
        if self.faults.active("offline_stop_not_queued") and not self._rt().online.is_set():
            return  # the bug: a transaction stopped offline is never reported
        response = await self._send_tx(call.StopTransaction(meter_stop=self.register_wh(connector_id),
                                                            timestamp=now_iso(), transaction_id=tx.transaction_id,
                                                            reason=reason, id_tag=id_tag))
        if response is not None:  # its idTagInfo updates the cache too (OCPP 1.6, 3.5.1)
            remember(self.auth_cache, self.keys, id_tag, getattr(response, "id_tag_info", None))

    def _stop_id_tag(self, tx: Transaction) -> str:
        """The idTag that asked for the stop (another card of the same group), else the one that started it."""
        if tx.stop_id_tag is None or self.faults.active("stop_with_start_id_tag"):
            return tx.id_tag
        return tx.stop_id_tag

    def _meter(self, dt: float) -> None:
        if self.rt is None:
            return
        for connector_id in range(1, self.settings.connectors + 1):
            if self._status(connector_id) == "Charging":
                world = self.world.connector(connector_id)
                world.energy_wh += self._power_w(connector_id) * dt / 3600.0

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
                # also when this call is cancelled (a power down, the station stopped): the request must not go on
                # waiting for its answer after the firmware that sent it is gone
                request.cancel()
        if request.cancelled() or not request.done():
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

    async def security_event(self, kind: str, tech_info: str | None = None) -> None:
        """Log a security event (GetLog uploads the log) and report it with SecurityEventNotification."""
        stamp = now_iso()
        self.security_log.append(f"{stamp} {kind}" + (f" {tech_info}" if tech_info else ""))
        await self._send_tx(call.SecurityEventNotification(type=kind, timestamp=stamp, tech_info=tech_info))

    # ----------------------------------------------------------------- requests from the Central System
    def configuration_changed(self, key: str) -> None:
        self.link_security.configuration_changed(key)
        if self.rt is not None:
            self.rt.config_changed.set()
            self.rt.wake.set()

    def remote_start(self, id_tag: str, connector_id: int | None) -> str:
        if self.faults.active("reject_remote_start") or self.rt is None:
            return "Rejected"
        if connector_id is None or (connector_id == 0 and self.faults.active("remote_start_connector_0_as_any")):
            # no connector given: the firmware picks one, as for a card at a reader serving every connector
            connector_id = self._connector_for_card(list(range(1, self.settings.connectors + 1)))
        if not 1 <= connector_id <= self.settings.connectors:
            return "Rejected"  # connectorId 0 is the charge point itself, never a connector to start on
        c = self._conn(connector_id)
        if c.transaction is not None and self.faults.active("remote_start_ignores_busy_connector"):
            return "Accepted"  # the bug: says yes and does nothing
        if c.transaction is not None or self._fault_blocks(connector_id) or self._evse_taken(connector_id) \
                or self.reservations.refuses_remote_start(connector_id, id_tag):
            return "Rejected"
        if self.keys["AuthorizeRemoteTxRequests"].value == "true" and not self._pre_authorized(id_tag):
            self.spawn(self._authorize_then_arm(connector_id, id_tag))
        else:
            self._arm(connector_id, id_tag, remote=True)
        return "Accepted"

    def _pre_authorized(self, id_tag: str) -> bool:
        """A remote start is authorized "like a local action": with LocalPreAuthorize a cached Accepted idTag
        starts at once, without an Authorize.req."""
        if self.faults.active("remote_start_ignores_cache"):
            return False
        return local_decision(id_tag, True, self.keys, self.auth_cache, self.local_list.status(id_tag)) == "Accepted"

    async def _authorize_then_arm(self, connector_id: int, id_tag: str) -> None:
        resp = await self._call(call.Authorize(id_tag=id_tag))
        if resp is not None:
            remember(self.auth_cache, self.keys, id_tag, resp.id_tag_info)
        if resp is not None and resp.id_tag_info.get("status") == "Accepted" and self.rt is not None:
            self._arm(connector_id, id_tag, remote=True, parent=resp.id_tag_info.get("parent_id_tag"))

    def remote_stop(self, transaction_id: int) -> str:
        if self.rt is None:
            return "Rejected"
        any_id = self.faults.active("remote_stop_ignores_transaction_id")  # the bug: stops whatever runs
        for c in self.rt.connectors:
            if c.transaction is not None and (any_id or c.transaction.transaction_id == transaction_id):
                c.stop_reason = "Remote"
                self.rt.wake.set()
                return "Accepted"
        return "Rejected"

    def reset(self, kind: str) -> str:
        self.spawn(self._request_reset("HardReset" if kind == "Hard" else "SoftReset"))
        return "Accepted"

    async def _request_reset(self, reason: str) -> None:
        await asyncio.sleep(0.2)  # let the Reset.conf leave first
        if self.rt is not None:
            self.rt.reset_reason = reason
            self.rt.wake.set()

    async def _reset_now(self, rt: Runtime) -> None:
        """In the main loop, so nothing else reports meanwhile: stop every transaction with the reset's reason
        and report the connector (Finishing) before going down, then reboot."""
        for connector_id, c in enumerate(rt.connectors, start=1):
            if c.transaction is not None and not self.faults.active("reset_keeps_transaction"):
                c.stop_reason = rt.reset_reason
                if self.faults.active("reset_without_finishing"):
                    await self._stop_transaction(connector_id)  # the bug: goes down before reporting the status
                else:
                    await self._run_connector(connector_id)
        self.spawn(self._reboot())

    async def _reboot(self) -> None:
        await self._power_down()
        if self.world.mains_on:
            self._power_up()

    def _valid_connector(self, connector_id: int, allow_station: bool) -> bool:
        return (0 if allow_station else 1) <= connector_id <= self.settings.connectors

    def change_availability(self, connector_id: int, kind: str) -> str:
        if not self._valid_connector(connector_id, allow_station=True) or self.rt is None:
            return "Rejected"
        targets = [connector_id] if connector_id else [0, *range(1, self.settings.connectors + 1)]
        if kind == "Operative" and connector_id == 0 and self.settings.station_operative_only:
            targets = [0]
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
        if self.faults.active("unlock_clamps_connector_id"):
            connector_id = min(max(connector_id, 1), self.settings.connectors)  # the bug: no range check
        if not self._valid_connector(connector_id, allow_station=False) or self.rt is None:
            return "NotSupported"
        if not self._has_socket_lock() and not self.faults.active("unlock_fixed_cable_as_socket"):
            return "NotSupported"  # a tethered cable or a domestic socket outlet has no lock to open
        c, world = self._conn(connector_id), self.world.connector(connector_id)
        if c.transaction is None and self.faults.active("unlock_only_during_transaction"):
            return "NotSupported"
        if c.transaction is not None:
            c.stop_reason = "UnlockCommand"
            self.rt.wake.set()
        if world.lock_failure and not self.faults.active("unlock_result_unchecked"):
            return "UnlockFailed"
        if not world.lock_failure:
            self.world.set("lock_engaged", False, connector_id=connector_id)
        return "Unlocked"
