"""Requests the Central System sends to the simulated charge point, answered as firmware would."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from ocpp.exceptions import NotImplementedError as NotImplementedCallError
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result

from .certificates import CertificateHandlers
from .config_keys import change
from .firmware import FirmwareHandlers
from .local_list import LocalListHandlers
from .remote_trigger import RemoteTriggerHandlers
from .reservation import ReservationHandlers
from .smart_charging import SmartChargingHandlers

if TYPE_CHECKING:
    from .station import SimStation


def _is_call(raw_msg: str | bytes) -> bool:
    try:
        message = json.loads(raw_msg)
    except ValueError:
        return False
    return isinstance(message, list) and bool(message) and message[0] == 2


class SimChargePoint(CertificateHandlers, LocalListHandlers, RemoteTriggerHandlers, FirmwareHandlers,
                     ReservationHandlers, SmartChargingHandlers, ChargePoint):
    """The OCPP side of the station: the `ocpp` library routes, validates and answers with these handlers."""

    def __init__(self, cp_id: str, connection: Any, station: "SimStation") -> None:
        super().__init__(cp_id, connection, response_timeout=10)
        self.station = station
        self._answering: asyncio.Future[None] | None = None  # of the request being handled now

    async def route_message(self, raw_msg: str | bytes) -> None:
        if self.station.requests_hung() and _is_call(raw_msg):
            return  # the bug: the request is read and never answered, and the link stays up
        # the library answers a request by writing its .conf before route_message returns
        self._answering = answered = asyncio.get_running_loop().create_future()
        try:
            await super().route_message(raw_msg)
        finally:
            self._answering = None
            answered.set_result(None)  # also when the .conf could not go (the link died): nothing to wait for

    def answered(self) -> asyncio.Future[None] | None:
        """Done once the answer to the request being handled now is on the wire (written to the connection, so
        whatever the station sends after it follows it); None outside the handling of a request."""
        return self._answering

    @on("GetConfiguration")
    def on_get_configuration(self, key: list[str] | None = None, **_: Any) -> call_result.GetConfiguration:
        keys = self.station.keys
        names = key if key else list(keys)
        known: list[dict[str, Any]] = [{"key": n, "readonly": keys[n].readonly, "value": keys[n].value}
                                       for n in names if n in keys]
        for item in known:
            if keys[item["key"]].write_only:
                del item["value"]  # write-only (security whitepaper): the secret never leaves the station
        unknown = [n for n in names if n not in keys]
        return call_result.GetConfiguration(configuration_key=known, unknown_key=unknown or None)

    @on("ChangeConfiguration")
    def on_change_configuration(self, key: str, value: str, **_: Any) -> call_result.ChangeConfiguration:
        keys, faults = self.station.keys, self.station.faults
        if key not in keys and faults.active("unknown_keys_accepted"):
            return call_result.ChangeConfiguration(status="Accepted")  # the bug: no NotSupported for unknown keys
        if key in keys and not keys[key].readonly and faults.active("configuration_values_unchecked"):
            keys[key].value = value  # the bug: a writable key takes any value, however wrong
            self.station.configuration_changed(key)
            return call_result.ChangeConfiguration(status="Accepted")
        before = keys[key].value if key in keys else None
        status = change(keys, key, value)
        if status == "Accepted" and before is not None and self.station.faults.active("configuration_not_stored"):
            keys[key].value = before  # the bug: answered Accepted, but the new value never reaches the store
        elif status == "Accepted":
            self.station.configuration_changed(key)
        return call_result.ChangeConfiguration(status=status)

    @on("RemoteStartTransaction")
    def on_remote_start(self, id_tag: str, connector_id: int | None = None,
                        charging_profile: dict[str, Any] | None = None, **_: Any) -> call_result.RemoteStartTransaction:
        # a chargingProfile with it is Smart Charging's (smart_charging.py), which then asks the station to start
        status = self.station.smart.remote_start(id_tag, connector_id, charging_profile)
        return call_result.RemoteStartTransaction(status=status)

    @on("RemoteStopTransaction")
    def on_remote_stop(self, transaction_id: int, **_: Any) -> call_result.RemoteStopTransaction:
        return call_result.RemoteStopTransaction(status=self.station.authorization.remote_stop(transaction_id))

    @on("Reset")
    def on_reset(self, type: str, **_: Any) -> call_result.Reset:
        return call_result.Reset(status=self.station.reset(type))

    @on("ChangeAvailability")
    def on_change_availability(self, connector_id: int, type: str, **_: Any) -> call_result.ChangeAvailability:
        return call_result.ChangeAvailability(status=self.station.availability.change(connector_id, type))

    @on("UnlockConnector")
    def on_unlock_connector(self, connector_id: int, **_: Any) -> call_result.UnlockConnector:
        return call_result.UnlockConnector(status=self.station.hardware.unlock_connector(connector_id))

    @on("ClearCache")
    def on_clear_cache(self, **_: Any) -> call_result.ClearCache:
        self.station.authorization.clear_cache()
        return call_result.ClearCache(status="Accepted")

    @on("DataTransfer")
    def on_data_transfer(self, vendor_id: str, **_: Any) -> call_result.DataTransfer:
        if self.station.faults.active("data_transfer_not_implemented"):
            raise NotImplementedCallError(description="DataTransfer is not implemented")  # answered as a CALLERROR
        if self.station.faults.active("data_transfer_accepted"):
            return call_result.DataTransfer(status="Accepted")  # whatever the vendorId: allowed, to be warned about
        return call_result.DataTransfer(status="UnknownVendorId")
