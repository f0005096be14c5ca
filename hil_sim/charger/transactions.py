"""Transactions: starting and stopping them (with the StartTransaction / StopTransaction / MeterValues they send
through the queue that survives link and power loss), the transactions kept in flash across a power loss, the
idTag the Central System refuses afterwards, and the periodic meter samples of a running transaction."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ocpp.v16 import call

from .metering import sampled_values
from .runtime import SAMPLE_SLACK_S, Transaction, now_iso
from .txqueue import TransactionQueue, start_transaction

if TYPE_CHECKING:
    from .station import SimStation


class Transactions:
    def __init__(self, station: "SimStation") -> None:
        self.station = station
        self.queue = TransactionQueue(self._transaction_id_assigned)  # in flash, like the transactions
        self.open: dict[int, Transaction] = {}  # connector id -> its transaction, in flash
        self._next_local_id = -1

    async def send(self, payload: Any) -> Any:
        """Send transaction data: queued behind anything older, kept until delivered."""
        return await self.queue.send(payload, self.station.deliver)

    def booted(self) -> None:
        """A transaction in flash did not survive the power loss: with the cable still in, the connector is Finishing
        until it is unplugged (its StopTransaction follows the boot)."""
        rt = self.station.runtime()
        for connector_id in self.open:
            rt.connectors[connector_id - 1].finishing = self.station.hardware.cable_in(connector_id)

    async def start(self, connector_id: int, id_tag: str) -> None:
        station = self.station
        c = station.connector_runtime(connector_id)
        c.authorized_tag = None
        station.energy.transaction_starts(connector_id)
        meter_start = station.energy.register_wh(connector_id)
        local_id = self._next_local_id
        self._next_local_id -= 1
        started = now_iso()
        c.transaction = self.open[connector_id] = Transaction(local_id, id_tag, meter_start,
                                                              parent_id_tag=c.authorized_parent, started=started)
        reservation_id = station.reservations.consume(connector_id, id_tag, c.authorized_parent)  # its end: the start
        c.authorized_parent = None
        c.last_sample = asyncio.get_running_loop().time()
        station.smart.transaction_started(connector_id)  # the PWM offers what cable, station and profiles allow
        if not station.world.connector(connector_id).lock_failure:
            station.world.set("lock_engaged", True, connector_id=connector_id)
        online = station.runtime().online.is_set()
        if station.faults.active("offline_start_not_queued") and not online:
            return  # the bug: a transaction started offline is never reported
        if station.settings.charging_before_start and online and station.status(connector_id) == "Charging":
            # energy flows as soon as the contactor closes: this firmware reports it before the StartTransaction
            await station.statuses.send(connector_id, station.status(connector_id))
        await self.send(start_transaction(local_id, connector_id=connector_id, id_tag=id_tag,
                                          meter_start=meter_start, timestamp=started, reservation_id=reservation_id))

    def _transaction_id_assigned(self, local: int, response: Any) -> None:
        """A StartTransaction.conf arrived (at once, or after a link loss): take its id and judge its idTag."""
        station = self.station
        holders = list(self.open.values())
        if station.rt is not None:
            holders += [c.transaction for c in station.rt.connectors if c.transaction is not None]
        for tx in holders:
            if tx.transaction_id == local:
                tx.transaction_id = response.transaction_id
                tx.parent_id_tag = (response.id_tag_info or {}).get("parent_id_tag", tx.parent_id_tag)
                station.authorization.remember(tx.id_tag, response.id_tag_info)
        status = (response.id_tag_info or {}).get("status")
        if status == "Accepted" or station.rt is None or station.faults.active("invalid_id_ignored"):
            return
        for c in station.rt.connectors:
            if c.transaction is not None and c.transaction.transaction_id == response.transaction_id:
                c.deauthorized = True
                station.rt.wake.set()

    async def stop_lost(self) -> None:
        """After a power loss the transactions in flash have no session left: stop them with PowerLoss."""
        rt = self.station.runtime()
        for connector_id, tx in list(self.open.items()):
            if rt.connectors[connector_id - 1].transaction is tx:
                continue
            del self.open[connector_id]
            await self.send(call.StopTransaction(
                meter_stop=self.station.energy.register_wh(connector_id), timestamp=now_iso(),
                transaction_id=tx.transaction_id, reason=self._power_loss_reason(), id_tag=tx.id_tag))

    def _power_loss_reason(self) -> str:
        return "Other" if self.station.faults.active("power_loss_reason_other") else "PowerLoss"

    async def stop(self, connector_id: int) -> None:
        station = self.station
        c = station.connector_runtime(connector_id)
        tx, reason = c.transaction, c.stop_reason
        assert tx is not None
        if station.faults.active("stop_reason_always_local"):
            reason = "Local"
        reason = self._power_loss_reason() if reason == "PowerLoss" else reason
        c.transaction, c.stop_reason = None, None
        self.open.pop(connector_id, None)
        station.world.set("pwm_duty_pct", 100.0, connector_id=connector_id)
        if station.keys["UnlockConnectorOnEVSideDisconnect"].value == "true" or reason != "EVDisconnected":
            station.world.set("lock_engaged", False, connector_id=connector_id)
        c.finishing = station.hardware.cable_in(connector_id)
        id_tag = self._stop_id_tag(tx)
        if station.faults.active("offline_stop_not_queued") and not station.runtime().online.is_set():
            return  # the bug: a transaction stopped offline is never reported
        response = await self.send(call.StopTransaction(meter_stop=station.energy.register_wh(connector_id),
                                                        timestamp=now_iso(), transaction_id=tx.transaction_id,
                                                        reason=reason, id_tag=id_tag))
        if response is not None:  # its idTagInfo updates the cache too (OCPP 1.6, 3.5.1)
            station.authorization.remember(id_tag, getattr(response, "id_tag_info", None))

    def _stop_id_tag(self, tx: Transaction) -> str:
        """The idTag that asked for the stop (another card of the same group), else the one that started it."""
        if tx.stop_id_tag is None or self.station.faults.active("stop_with_start_id_tag"):
            return tx.id_tag
        return tx.stop_id_tag

    async def deauthorize(self, connector_id: int) -> None:
        """The Central System refused the idTag of a running transaction (e.g. one started offline). The status
        the connector went into meanwhile is reported first; then, per StopTransactionOnInvalidId, the
        transaction is stopped (DeAuthorized) or only the energy offer is (SuspendedEVSE)."""
        station = self.station
        c = station.connector_runtime(connector_id)
        c.deauthorized = False
        if station.runtime().online.is_set():
            await station.statuses.send(connector_id, station.status(connector_id))
        if c.transaction is None:
            return
        stop = station.keys["StopTransactionOnInvalidId"].value == "true"
        if station.faults.active("always_stop_on_invalid_id"):
            stop = True
        if stop:
            c.stop_reason = c.stop_reason or "DeAuthorized"
        elif station.settings.mode_1_2_only:
            c.transaction.energy_withheld = True  # no PWM to withdraw: the contactor opens
        else:
            station.world.set("pwm_duty_pct", 100.0, connector_id=connector_id)

    async def sample_meter(self, connector_id: int) -> None:
        """MeterValues every MeterValueSampleInterval while a transaction runs."""
        station = self.station
        c = station.connector_runtime(connector_id)
        interval = int(station.keys["MeterValueSampleInterval"].value)
        now = asyncio.get_running_loop().time()
        if c.transaction is None or interval <= 0 or now - c.last_sample < interval - SAMPLE_SLACK_S:
            return
        c.last_sample = now
        if station.faults.active("meter_values_dropped_offline") and not station.runtime().online.is_set():
            return
        context = "Sample.Clock" if station.faults.active("periodic_samples_labelled_clock") else "Sample.Periodic"
        register = station.energy.register_wh(connector_id)
        if station.faults.active("meter_values_transaction_energy"):
            register -= c.transaction.meter_start  # the bug: the transaction's energy, labelled as the register
        values = sampled_values(station.keys["MeterValuesSampledData"].value, register,
                                station.energy.power_w(connector_id), context)
        # the bug of meter_timestamp_at_start: the reading is stamped with the transaction's start time
        stamp = c.transaction.started if station.faults.active("meter_timestamp_at_start") else \
            station.statuses.rtc_iso()
        await self.send(call.MeterValues(
            connector_id=connector_id, transaction_id=c.transaction.transaction_id,
            meter_value=[{"timestamp": stamp, "sampledValue": values}]))
