"""Connector statuses: what the firmware makes of its connectors' state (Available ... Faulted), and how it reports
them with StatusNotification (MinimumStatusDuration, replay while offline, the error code and info, the
metering board's clock that stamps them)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from ocpp.v16 import call
from websockets.protocol import State

from .runtime import SAMPLE_SLACK_S, ConnectorRuntime, now_iso

if TYPE_CHECKING:
    from .station import SimStation

RTC_FAST_S = 600.0  # rtc_not_synchronised: the clock it was shipped with, ten minutes fast


class StatusReporting:
    def __init__(self, station: "SimStation") -> None:
        self.station = station

    def current(self, connector_id: int) -> str:
        """The status the connector is in now (connectorId 0: the station's)."""
        station, hw = self.station, self.station.hardware
        if connector_id == 0:
            return "Unavailable" if 0 in station.availability.unavailable else "Available"
        c, world = station.connector_runtime(connector_id), station.world.connector(connector_id)
        if hw.ground_fault(connector_id) or c.lock_failed:
            return "Faulted"
        if c.transaction is not None:
            if station.settings.mode_1_2_only:  # no pilot: its own contactor, then the current flowing tells
                if c.transaction.energy_withheld:
                    return "SuspendedEVSE"
                return "Charging" if hw.ev_draws(connector_id) else "SuspendedEV"
            if world.pwm_duty_pct >= 100.0:
                return "SuspendedEVSE"
            return "Charging" if world.cp_state() in ("C", "D") else "SuspendedEV"
        if c.finishing:
            return "Finishing"
        if station.availability.inoperative(connector_id) or hw.evse_reserved(connector_id):
            return "Unavailable"
        if station.reservations.shows_reserved(connector_id):
            return "Reserved"  # held for a driver: a cable alone does not make it Preparing
        if hw.ev_present(connector_id):
            return "Preparing"
        hidden = c.remote_armed and station.faults.active("no_preparing_on_remote_start")
        if c.authorized_tag is not None and not hidden:
            return "Preparing"
        return "Available"

    def boot_order(self) -> list[int]:
        """OCPP 1.6 fixes no order for the statuses after a boot; this firmware reports the station (connectorId
        0) first, or last with `station_status_last`."""
        connectors = list(range(1, self.station.settings.connectors + 1))
        return [*connectors, 0] if self.station.settings.station_status_last else [0, *connectors]

    def replays(self) -> bool:
        """Offline (or while the link comes back), a station with offline_statuses: replay queues each status
        change with its own timestamp rather than dropping it."""
        return self.station.settings.offline_statuses == "replay" and not self.station.runtime().online.is_set()

    async def report_current(self, connector_id: int) -> None:
        """Report the connector's status if it changed; not while the link comes back (queued transaction messages
        go first) unless the station replays statuses (then it queues it too)."""
        if self.station.runtime().online.is_set() or self.replays():
            await self.send(connector_id, self.current(connector_id))

    async def send(self, connector_id: int, status: str, force: bool = False) -> None:
        station = self.station
        rt = station.runtime()
        last = station.connector_runtime(connector_id).reported if connector_id else rt.station_reported
        if last == status and not force:
            if connector_id:  # back where it was before MinimumStatusDuration ran out
                station.connector_runtime(connector_id).candidate = None
            return
        if connector_id and not force and not self._stable(station.connector_runtime(connector_id), status):
            return
        if status == "Preparing" and station.faults.active("skip_preparing"):
            delivered = True
        else:
            wrong_id = connector_id and status != "Available" and station.faults.active("wrong_connector_id")
            reported_id = connector_id + 1 if wrong_id else connector_id
            payload = call.StatusNotification(
                connector_id=reported_id, error_code=self._error_code(connector_id, status), status=status,
                timestamp=self.rtc_iso(), info=self._info(connector_id, status))
            if not force and self.replays():
                station.transactions.queue.keep(payload)  # sent after reconnecting, with the timestamp of the change
                delivered = True
            else:
                # OCPP 1.6 promises no delivery of a status: one written to an open link counts as reported, so
                # an answer lost when the link drops right after does not make it send the same status twice
                # (Appendix D's duplicate rule); only one that never reached the wire is sent again
                written = rt.ws is not None and rt.registered and rt.ws.state is State.OPEN
                delivered = await station.call(payload) is not None or written
        if delivered:  # a status lost offline is sent again, as the current one, after reconnecting
            if connector_id:
                station.connector_runtime(connector_id).reported = status
            else:
                rt.station_reported = status

    def _minimum_duration(self) -> float:
        return float(self.station.keys["MinimumStatusDuration"].value)

    def _stable(self, c: ConnectorRuntime, status: str) -> bool:
        """MinimumStatusDuration: a connector status is reported only once it has held that long, so a status
        the connector passes through briefly is never sent."""
        duration = self._minimum_duration()
        if duration <= 0:
            return True
        now = asyncio.get_running_loop().time()
        if c.candidate != status:
            c.candidate, c.candidate_since = status, now
        return now - c.candidate_since >= duration - SAMPLE_SLACK_S

    def settles_at(self, c: ConnectorRuntime) -> float | None:
        """When the status waiting out MinimumStatusDuration may be reported (the ticker wakes the loop then)."""
        duration = self._minimum_duration()
        if c.candidate is None or c.candidate == c.reported or duration <= 0:
            return None
        return c.candidate_since + duration

    def _info(self, connector_id: int, status: str) -> str | None:
        """The free-text info of a StatusNotification: why a transaction is suspended, when the EV is gone."""
        if not connector_id or status not in ("SuspendedEV", "SuspendedEVSE"):
            return None
        if self.station.hardware.ev_present(connector_id) or self.station.faults.active("no_ev_side_disconnect_info"):
            return None
        return "EV side disconnected"

    def _error_code(self, connector_id: int, status: str) -> str:
        if connector_id and status == "Faulted" and self.station.hardware.ground_fault(connector_id):
            return "GroundFailure"
        if connector_id and status == "Faulted" and self.station.connector_runtime(connector_id).lock_failed:
            return "ConnectorLockFailure"
        return "NoError"

    def rtc_iso(self) -> str:
        """The time StatusNotification and MeterValues are stamped with (the metering board's clock)."""
        if self.station.faults.active("rtc_not_synchronised"):
            return (datetime.now(timezone.utc) + timedelta(seconds=RTC_FAST_S)).isoformat(
                timespec="milliseconds").replace("+00:00", "Z")
        return now_iso()
