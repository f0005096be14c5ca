"""Availability (OCPP 1.6, 5.2 ChangeAvailability): which connectors the Central System set Inoperative, kept in
flash so that it survives a reboot (unless the fault availability_not_persistent loses it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .station import SimStation


class Availability:
    def __init__(self, station: "SimStation") -> None:
        self.station = station
        self.unavailable: set[int] = set()  # connector ids set Inoperative (0: the whole station)

    def booted(self) -> None:
        if self.station.faults.active("availability_not_persistent"):
            self.unavailable.clear()  # the bug: availability was only kept in RAM

    def inoperative(self, connector_id: int) -> bool:
        """The connector, or the whole station, was set Inoperative."""
        return connector_id in self.unavailable or 0 in self.unavailable

    def change(self, connector_id: int, kind: str) -> str:
        station = self.station
        if not station.valid_connector(connector_id, allow_station=True) or station.rt is None:
            return "Rejected"
        targets = [connector_id] if connector_id else [0, *range(1, station.settings.connectors + 1)]
        if kind == "Operative" and connector_id == 0 and station.settings.station_operative_only:
            targets = [0]
        if kind == "Operative":
            self.unavailable.difference_update(targets)
            busy = False
        else:
            self.unavailable.update(targets)
            # a connector with a transaction goes Unavailable when the transaction ends (OCPP 1.6, 5.2)
            busy = any(station.connector_runtime(t).transaction is not None for t in targets if t)
        station.rt.wake.set()
        return "Scheduled" if busy else "Accepted"
