"""The simulated charge point: firmware that boots when mains comes on, keeps a link to the Central System,
reads the CP line and the card reader, and runs transactions.

What survives a power loss lives on `SimStation` and its components (configuration keys, open transactions,
availability, the authorization cache, ...); everything else lives on `Runtime` (runtime.py), which is thrown
away when mains goes off, just as RAM is. Each component (transactions.py, authorization.py, availability.py,
hardware.py, status_report.py, energy.py, link.py and the profile modules) owns its state, its handling and its
faults, and reaches the rest through the public methods at the end of `SimStation`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Coroutine

import websockets
from ocpp.exceptions import OCPPError
from ocpp.v16 import call

from hil_sim.faults import FaultSet
from hil_sim.settings import StationSettings
from hil_sim.world import World

from .aligned import clock_aligned_loop
from .authorization import Authorization
from .availability import Availability
from .certificates import CertificateStore
from .config_keys import default_keys, fix
from .energy import EnergyRegister
from .firmware import Transfers
from .hardware import ConnectorHardware
from .link import heartbeat_loop, link_loop
from .local_list import LocalAuthList
from .reservation import Reservations
from .runtime import SAMPLE_SLACK_S, ConnectorRuntime, Runtime, now_iso, wait_and_clear
from .security_profile import LinkSecurity
from .smart_charging import SmartCharging
from .status_report import StatusReporting
from .transactions import Transactions
from .txqueue import TX_MESSAGES

log = logging.getLogger("hil_sim.charger")


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
        # the components of the firmware, each with its state, its handling and its faults
        self.transactions = Transactions(self)  # open transactions and their queued messages, in flash
        self.availability = Availability(self)  # connectors set Inoperative, in flash
        self.authorization = Authorization(self)  # the authorization cache (in flash), cards, remote start/stop
        self.hardware = ConnectorHardware(self)  # EV and cable presence, plug lock, residual current monitor
        self.statuses = StatusReporting(self)  # connector statuses and their StatusNotifications
        # shared by the profile modules: TriggerMessage reports the first two, GetLog uploads the third
        self.firmware_status = "Idle"  # the last FirmwareStatusNotification status
        self.diagnostics_status = "Idle"  # the last DiagnosticsStatusNotification status
        self.security_log: list[str] = []  # security events, persisted like the configuration
        self.firmware_version = settings.firmware_version  # of the image in flash: an update changes it
        self.transfers = Transfers(self)  # firmware updates, diagnostics and log uploads (firmware.py)
        self.rt: Runtime | None = None
        self._firmware: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[Any]] = set()  # spawn(): ended by stop()
        self.boots = 0
        self.energy = EnergyRegister(self)  # the energy register the station reports
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
        await self._power_down()  # a reboot that ran meanwhile may have started a new firmware

    def spawn(self, work: Coroutine[Any, Any, Any]) -> "asyncio.Task[Any]":
        """Work the station does beside its loops (a reboot, a message after its .conf): kept until done, so the
        station's stop ends it."""
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    def spawn_after_answer(self, work: Coroutine[Any, Any, Any]) -> "asyncio.Task[Any]":
        """spawn(), for work about the request being handled now (a reboot, a status, a security event): it starts
        once the request's .conf is on the wire, so a message about a request never overtakes its answer."""
        cp = self.rt.cp if self.rt is not None else None
        answered = cp.answered() if cp is not None else None

        async def then() -> Any:
            try:
                if answered is not None:
                    await answered
            except BaseException:
                work.close()  # cancelled before it began: never started, never awaited
                raise
            return await work
        return self.spawn(then())

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
            try:
                await task
            except asyncio.CancelledError:
                this = asyncio.current_task()
                if this is not None and this.cancelling():  # this power-down was cancelled (the station stops):
                    await asyncio.wait({task})  # the firmware still ends first, then the cancellation goes on
                    raise
            except Exception as exc:  # whatever the firmware died of, it is down now
                log.info("the firmware task ended with %r as the power went", exc)
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
            return self.transactions.queue.pending != [] or any(
                c.transaction is not None or c.reported != self.status(cid)
                for cid, c in enumerate(rt.connectors, start=1))
        while busy():  # only the main loop's turns stop transactions and report statuses
            await wait_and_clear(rt.turned)

    # ----------------------------------------------------------------- firmware
    async def _run_firmware(self) -> None:
        await asyncio.sleep(self.settings.boot_delay_s)
        self.boots += 1
        self.availability.booted()
        self.energy.booted()
        self.rt = Runtime([ConnectorRuntime() for _ in range(self.settings.connectors)])
        # statuses kept while offline were in RAM: stale now
        self.transactions.queue.forget(call.StatusNotification)
        self.transactions.booted()
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(link_loop(self))
            tasks.create_task(heartbeat_loop(self))
            tasks.create_task(self._main_loop())
            tasks.create_task(self._ticker())
            tasks.create_task(clock_aligned_loop(self))

    async def _ticker(self) -> None:
        """Wake the main loop once a second (energy integration) and exactly when a meter sample is due or the
        limit in force changes (a charging profile's next period: the PWM follows it at once)."""
        rt = self.runtime()
        while True:
            delay = 1.0
            interval = int(self.keys["MeterValueSampleInterval"].value)
            now = asyncio.get_running_loop().time()
            for c in rt.connectors:
                if c.transaction is not None and interval > 0:
                    delay = min(delay, max(0.01, c.last_sample + interval - now))
                deadline = self.authorization.connection_deadline(c)
                if deadline is not None:
                    delay = min(delay, max(0.01, deadline - now))
                settled = self.statuses.settles_at(c)
                if settled is not None:
                    delay = min(delay, max(0.01, settled - now))
            for connector_id in range(1, self.settings.connectors + 1):
                change = self.smart.next_change_s(connector_id, delay)
                if change is not None:
                    delay = max(0.01, change)
            await asyncio.sleep(delay)
            rt.wake.set()

    async def _main_loop(self) -> None:
        rt = self.runtime()
        self.energy.restart_counting()
        while True:
            await wait_and_clear(rt.wake)
            going_down = await self._turn(rt)
            rt.turned.set()
            if going_down:
                return  # going down: nothing more from this boot

    async def _turn(self, rt: Runtime) -> bool:
        """One turn of the main loop; True when a reset takes the station down."""
        self.energy.integrate()
        if not rt.registered:
            return False
        card = self.world.card_uid
        if card != rt.last_card:
            rt.last_card = card
            if card is not None:
                await self.authorization.card_presented(card.upper())
        self.reservations.end_out_of_order()  # a fault or Inoperative ends a reservation there
        await self.statuses.report_current(0)
        for connector_id in range(1, self.settings.connectors + 1):
            await self._run_connector(connector_id)
        if rt.reset_reason is None:
            return False
        await self._reset_now(rt)
        return True

    async def _run_connector(self, connector_id: int) -> None:
        """One turn of the main loop for a connector: its transaction, an idTag waiting for a cable, the cable, the
        charging limit, its status and its meter."""
        c, hw = self.connector_runtime(connector_id), self.hardware
        if c.transaction is not None and c.deauthorized:
            await self.transactions.deauthorize(connector_id)
        if c.transaction is not None:
            c.transaction.ev_side_seen |= self.world.connector(connector_id).ev_connected  # hardware.ev_present
            stop_on_disconnect = self.keys["StopTransactionOnEVSideDisconnect"].value == "true" \
                or self.faults.active("stop_on_ev_side_disconnect_always")
            if c.stop_reason is None and not hw.ev_present(connector_id) and stop_on_disconnect:
                c.stop_reason = "EVDisconnected"
            if c.stop_reason is None and hw.fault_blocks(connector_id):
                c.stop_reason = "Other"  # the residual current monitor opened the contactor
            if c.stop_reason is not None:
                await self.transactions.stop(connector_id)
        elif c.authorized_tag is not None \
                and (hw.ev_present(connector_id) or self.authorization.starts_without_cable(c)) \
                and not self.faults.active("no_start_transaction") and not hw.fault_blocks(connector_id):
            if hw.lock_for_start(connector_id):
                if c.reported == "Reserved" and self.runtime().online.is_set():  # the reserved driver came: Preparing
                    await self.statuses.send(connector_id, self.status(connector_id))  # first (no Reserved->Charging)
                await self.transactions.start(connector_id, c.authorized_tag)
        elif c.authorized_tag is not None and not hw.ev_present(connector_id):
            deadline = self.authorization.connection_deadline(c)
            if deadline is not None and asyncio.get_running_loop().time() >= deadline - SAMPLE_SLACK_S:
                c.authorized_tag = None  # ConnectionTimeOut: no cable came, the start is cancelled
        hw.cable_gone(connector_id)
        self.smart.follow(connector_id)  # the limit in force may have changed (a new profile, a new period)
        await self.statuses.report_current(connector_id)
        await self.transactions.sample_meter(connector_id)

    # ----------------------------------------------------------------- sending
    async def call(self, payload: Any) -> Any:
        """Send a request that is not transaction data; while offline it is dropped, as firmware does."""
        assert not isinstance(payload, TX_MESSAGES), "transaction messages go through transactions.send"
        return await self.deliver(payload)

    async def deliver(self, payload: Any) -> Any:
        """Send a request now if the station is registered and online; its response, or None if it did not go."""
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
        await self.transactions.send(call.SecurityEventNotification(type=kind, timestamp=stamp, tech_info=tech_info))

    # ----------------------------------------------------------------- requests from the Central System
    def configuration_changed(self, key: str) -> None:
        self.link_security.configuration_changed(key)
        if self.rt is not None:
            self.rt.config_changed.set()
            self.rt.wake.set()

    def reset(self, kind: str) -> str:
        self.spawn_after_answer(self._request_reset("HardReset" if kind == "Hard" else "SoftReset"))
        return "Accepted"

    async def _request_reset(self, reason: str) -> None:
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
                    await self.transactions.stop(connector_id)  # the bug: goes down before reporting the status
                else:
                    await self._run_connector(connector_id)
        self.spawn(self.reboot())

    async def reboot(self) -> None:
        await self._power_down()
        if self.world.mains_on:
            self._power_up()


    # ----------------------------------------------------------------- the public API of the components
    def runtime(self) -> Runtime:
        """What this boot holds in RAM; only while powered (the components ask for it from the firmware's loops)."""
        if self.rt is None:
            raise RuntimeError("the station is powered down")
        return self.rt

    def connector_runtime(self, connector_id: int) -> ConnectorRuntime:
        return self.runtime().connectors[connector_id - 1]

    def valid_connector(self, connector_id: int, allow_station: bool) -> bool:
        return (0 if allow_station else 1) <= connector_id <= self.settings.connectors

    def status(self, connector_id: int) -> str:
        """The connector's status now (connectorId 0: the station's); status_report.py."""
        return self.statuses.current(connector_id)

