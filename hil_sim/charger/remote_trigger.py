"""The Remote Trigger profile (OCPP 1.6, section 5.17 Trigger Message): TriggerMessage asks the
station to send one of its messages now. The station answers first (Accepted, Rejected for a connectorId it does
not have, NotImplemented for a message it cannot send) and only then sends the requested message.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ocpp.exceptions import NotImplementedError as NotImplementedCallError
from ocpp.routing import after, on
from ocpp.v16 import call, call_result

from .metering import sampled_values

if TYPE_CHECKING:
    from .station import SimStation

PROFILE = "RemoteTrigger"
MESSAGES = ("BootNotification", "DiagnosticsStatusNotification", "FirmwareStatusNotification", "Heartbeat",
            "MeterValues", "StatusNotification")
# A triggered status notification tells what the station is busy with now: once an upload or an update has
# ended (its last notification already sent) it is busy with nothing, which OCPP 1.6 reports as Idle.
FIRMWARE_BUSY = ("Downloading", "Downloaded", "Installing")
DIAGNOSTICS_BUSY = ("Uploading",)


def trigger_status(station: "SimStation", requested: str, connector_id: int | None) -> str:
    """The TriggerMessage.conf status."""
    if station.rt is None:
        return "Rejected"
    unchecked = station.faults.active("trigger_connector_id_unchecked")
    if connector_id is not None and not unchecked and not station.valid_connector(connector_id, allow_station=True):
        return "Rejected"
    known: tuple[str, ...] = MESSAGES
    if station.faults.active("trigger_core_messages_only"):
        known = ("BootNotification", "Heartbeat", "MeterValues", "StatusNotification")  # the bug: no profile ones
    return "Accepted" if requested in known else "NotImplemented"


def current_status(status: str, busy: tuple[str, ...]) -> str:
    return status if status in busy else "Idle"


async def send_triggered(station: "SimStation", requested: str, connector_id: int | None) -> None:
    """The requested message, after the TriggerMessage.conf went out."""
    everything = range(0, station.settings.connectors + 1)
    connectors = [connector_id] if connector_id is not None else list(everything)
    if requested == "BootNotification":
        await station.call(call.BootNotification(charge_point_vendor=station.settings.vendor,
                                                  charge_point_model=station.settings.model,
                                                  firmware_version=station.firmware_version))  # in flash (firmware.py)
    elif requested == "Heartbeat":
        await station.call(call.Heartbeat())
    elif requested == "FirmwareStatusNotification":
        await station.call(call.FirmwareStatusNotification(
            status=current_status(station.firmware_status, FIRMWARE_BUSY)))
    elif requested == "DiagnosticsStatusNotification":
        await station.call(call.DiagnosticsStatusNotification(
            status=current_status(station.diagnostics_status, DIAGNOSTICS_BUSY)))
    elif requested == "StatusNotification":
        for cid in connectors:
            if cid in everything:
                await station.statuses.send(cid, station.status(cid), force=True)
    else:
        for cid in connectors:
            if not 1 <= cid <= station.settings.connectors:
                continue  # connectorId 0 has no meter of its own; a connector it does not have, none at all
            values = sampled_values(station.keys["MeterValuesSampledData"].value, station.energy.register_wh(cid),
                                    station.energy.power_w(cid), "Trigger")
            # a triggered reading is not transaction data: lost offline, never queued
            await station.deliver(call.MeterValues(connector_id=cid, meter_value=[
                {"timestamp": _now(), "sampledValue": values}]))


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class RemoteTriggerHandlers:
    """TriggerMessage, a mixin of SimChargePoint (hil_sim/charger/handlers.py)."""

    station: "SimStation"

    @on("TriggerMessage")
    def on_trigger_message(self, requested_message: str, call_unique_id: str, connector_id: int | None = None,
                           **_: Any) -> call_result.TriggerMessage:
        if not self.station.settings.supports(PROFILE):
            raise NotImplementedCallError(description="TriggerMessage is not implemented")
        status = trigger_status(self.station, requested_message, connector_id)
        if status == "Accepted":
            self.__dict__.setdefault("_accepted_triggers", set()).add(call_unique_id)
        return call_result.TriggerMessage(status=status)

    @after("TriggerMessage")
    async def after_trigger_message(self, requested_message: str, call_unique_id: str,
                                    connector_id: int | None = None, **_: Any) -> None:
        """Runs once the TriggerMessage.conf is on the wire: the requested message must come after it."""
        accepted: set[str] = self.__dict__.get("_accepted_triggers", set())
        if call_unique_id not in accepted:
            return
        accepted.discard(call_unique_id)
        if self.station.faults.active("triggered_status_not_resent") and requested_message == "StatusNotification":
            return  # the bug: the status is only sent when it changes, so a trigger for an unchanged one is lost
        await send_triggered(self.station, requested_message, connector_id)
