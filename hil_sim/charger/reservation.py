"""The Reservation profile (OCPP 1.6, sections 3.11, 5.3 and 5.13): ReserveNow for one connector or, with
ReserveConnectorZeroSupported, for the station as a whole (connectorId 0), and CancelReservation.

A reserved connector reports Reserved and only starts a transaction for the reserved idTag, or for an idTag with
the reservation's parentIdTag (learnt from the Authorize.conf). A reservation for connectorId 0 reserves no
particular connector: the station keeps as many connectors free as it has such reservations, and a connector is
reported Reserved once it is one of the last ones kept free. A reservation ends when a transaction starts for it
(the StartTransaction carries its reservationId), at its expiryDate, when it is cancelled, or when its connector
(or the station) goes Faulted or Unavailable. Reservations are RAM: nothing in the spec asks firmware to keep
them over a power loss, so a reboot forgets them.

The station asks this module at a few points (station.py): the connector status, whether an idTag may take a
connector (card, remote start), which reservation a starting transaction uses, and on every main-loop wake-up
whether a reservation's connector went out of order.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ocpp.exceptions import NotImplementedError as NotImplementedCallError
from ocpp.routing import on
from ocpp.v16 import call_result

from .config_keys import Key

if TYPE_CHECKING:
    from .runtime import Runtime
    from .station import SimStation

PROFILE = "Reservation"
POLL_S = 0.25  # how often the firmware looks for ended reservations (expiry is met to the moment regardless)
OCCUPIED = ("Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing", "Reserved")


@dataclass
class Reservation:
    reservation_id: int
    connector_id: int  # 0: any connector of the station
    id_tag: str
    parent_id_tag: str | None
    expiry: datetime


def _parse(value: str) -> datetime | None:
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=timezone.utc)


def _same_tag(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.casefold() == b.casefold()  # IdToken is case-insensitive


class Reservations:
    """The reservations the firmware holds, for the runtime (boot) they were made in."""

    def __init__(self, station: "SimStation") -> None:
        self.station = station
        self._entries: dict[int, Reservation] = {}
        self._rt: "Runtime | None" = None
        self._watcher: asyncio.Task[None] | None = None
        if station.settings.supports(PROFILE):  # the profile's key (OCPP 1.6, 9.3): this firmware reserves the station
            station.keys["ReserveConnectorZeroSupported"] = Key("ReserveConnectorZeroSupported", "true", readonly=True)

    @property
    def entries(self) -> dict[int, Reservation]:
        """reservationId -> reservation; empty after a reboot (a new Runtime: the RAM was lost)."""
        if self._rt is not self.station.rt:
            self._rt, self._entries = self.station.rt, {}
        return self._entries

    # ------------------------------------------------------------------ requests
    def reserve(self, connector_id: int, expiry_date: str, id_tag: str, reservation_id: int,
                parent_id_tag: str | None) -> str:
        """ReserveNow: the ReservationStatus of OCPP 1.6, 5.13."""
        station, faults = self.station, self.station.faults
        if not station.settings.supports(PROFILE) or station.rt is None:
            return "Rejected"  # a build without the profile: it is not configured to accept reservations
        if not 0 <= connector_id <= station.settings.connectors:
            return "Rejected"
        zero = station.keys.get("ReserveConnectorZeroSupported")
        if connector_id == 0 and (zero is None or zero.value.lower() != "true"):
            return "Rejected"
        expiry = _parse(expiry_date)
        if expiry is None or expiry <= datetime.now(timezone.utc):
            return "Rejected"  # nothing to hold
        entries = self.entries
        replaced = entries.pop(reservation_id, None)  # the same id: the new request replaces the old one
        status = "Accepted" if faults.active("reserve_now_always_accepted") else self._availability(connector_id)
        if status != "Accepted":
            if replaced is not None:
                entries[reservation_id] = replaced
            return status
        entries[reservation_id] = Reservation(reservation_id, connector_id, id_tag, parent_id_tag, expiry)
        self._watch()
        station.runtime().wake.set()  # report the connector Reserved
        return "Accepted"

    def cancel(self, reservation_id: int) -> str:
        """CancelReservation: Accepted for a reservation the station holds, Rejected for any other id."""
        entries, faults = self.entries, self.station.faults
        if reservation_id not in entries and faults.active("cancel_reservation_id_unchecked") and entries:
            reservation_id = next(iter(entries))  # the bug: cancels whatever it holds, whatever the id
        if reservation_id not in entries:
            return "Rejected"
        if not faults.active("cancel_reservation_not_applied"):  # the bug: says Accepted, keeps the reservation
            del entries[reservation_id]
            self.station.runtime().wake.set()
        return "Accepted"

    def _availability(self, connector_id: int) -> str:
        """Whether the connector (connectorId 0: the station) can take a reservation now: Accepted, or why not."""
        station = self.station
        if connector_id:
            status = station.status(connector_id)
            if status in ("Faulted", "Unavailable"):
                return status
            return "Occupied" if status in OCCUPIED else "Accepted"
        if station.availability.inoperative(0):
            return "Unavailable"
        # a connector whose EVSE is busy with another one (a session, a cable) is as occupied as that one, though it
        # is reported Available
        statuses = ["Occupied" if station.hardware.evse_taken(c) or any(station.status(m) in OCCUPIED
                                                                for m in station.settings.evse_mates(c))
                    else station.status(c) for c in range(1, station.settings.connectors + 1)]
        if "Available" in statuses:
            return "Accepted"
        if any(s in OCCUPIED or s == "Occupied" for s in statuses):
            return "Occupied"
        return "Faulted" if "Faulted" in statuses else "Unavailable"

    # ------------------------------------------------------------------ asked by the station
    def shows_reserved(self, connector_id: int) -> bool:
        """Whether an otherwise Available (or only plugged-in) connector is reported Reserved. Once its reserved
        driver is authorized it is Preparing; a cable alone does not say who plugged it in."""
        if self.station.connector_runtime(connector_id).authorized_tag is not None or not self.entries \
                or self.station.faults.active("reservation_not_reported"):
            return False
        if any(r.connector_id == connector_id for r in self.entries.values()):
            return True
        station_wide = self._station_wide()
        free = self._free_connectors()
        return bool(station_wide) and connector_id in free and len(self._evses(free)) <= len(station_wide)

    def admits(self, connector_id: int, id_tag: str, parent_id_tag: str | None) -> bool:
        """Whether this idTag (of this group) may take the connector for a transaction."""
        if self.station.faults.active("reservation_accepts_any_id_tag"):
            return True  # the bug: the reservation is only shown, never enforced
        own = [r for r in self.entries.values() if r.connector_id == connector_id]
        if own:
            return any(self._matches(r, id_tag, parent_id_tag) for r in own)
        station_wide = self._station_wide()
        if not station_wide or any(self._matches(r, id_tag, parent_id_tag) for r in station_wide):
            return True
        # another driver may take it only if enough connectors stay free for the station-wide reservations
        mine = self._evses([connector_id])
        others = self._evses(self._free_connectors()) - mine
        return len(others) >= len(station_wide)

    def refuses_remote_start(self, connector_id: int, id_tag: str) -> bool:
        """RemoteStartTransaction for a connector held for someone else. With a parentIdTag in the reservation
        the idTag's group is only known from the Authorize.conf, so that case is left to `admits`."""
        if self.admits(connector_id, id_tag, None):
            return False
        relevant = [r for r in self.entries.values() if r.connector_id in (connector_id, 0)]
        return not any(r.parent_id_tag is not None for r in relevant)

    def wants_parent(self, id_tag: str) -> bool:
        """Whether a card must be authorized online even when the cache could accept it: a reservation for a
        group is open, and only the Authorize.conf tells the card's parentIdTag (the cache keeps none)."""
        return any(r.parent_id_tag is not None and not _same_tag(r.id_tag, id_tag) for r in self.entries.values())

    def consume(self, connector_id: int, id_tag: str, parent_id_tag: str | None) -> int | None:
        """A transaction starts: the reservation it uses ends, and its id goes into the StartTransaction."""
        entries = self.entries
        candidates = [r for r in entries.values() if r.connector_id == connector_id] + \
                     [r for r in entries.values() if r.connector_id == 0]  # the connector's own first
        for r in candidates:
            if self._matches(r, id_tag, parent_id_tag):
                del entries[r.reservation_id]
                if self.station.faults.active("reservation_id_not_in_start"):
                    return None  # the bug: the reservation is used up but the StartTransaction does not say so
                return r.reservation_id
        return None

    def end_out_of_order(self) -> None:
        """The main loop looks on every wake-up (a fault or ChangeAvailability wakes it): a reservation whose
        connector (or station) went Faulted or Unavailable ends, even if that lasted only a moment."""
        entries = self.entries
        for r in [r for r in entries.values() if self._out_of_order(r.connector_id)]:
            del entries[r.reservation_id]

    # ------------------------------------------------------------------ internals
    def _matches(self, r: Reservation, id_tag: str, parent_id_tag: str | None) -> bool:
        if _same_tag(r.id_tag, id_tag):
            return True
        if self.station.faults.active("reservation_ignores_parent_id_tag"):
            return False  # the bug: only the reserved idTag itself, never its group
        return _same_tag(r.parent_id_tag, parent_id_tag)

    def _station_wide(self) -> list[Reservation]:
        return [r for r in self.entries.values() if r.connector_id == 0]

    def _free_connectors(self) -> list[int]:
        """Connectors nobody holds: no transaction, no driver authorized, not out of order, no own reservation."""
        station = self.station
        held = {r.connector_id for r in self.entries.values()}
        free = []
        for connector_id in range(1, station.settings.connectors + 1):
            c = station.connector_runtime(connector_id)
            if c.transaction is None and not c.finishing and c.authorized_tag is None \
                    and not self._out_of_order(connector_id) and connector_id not in held \
                    and not station.hardware.evse_taken(connector_id):
                free.append(connector_id)
        return free

    def _evses(self, connectors: list[int]) -> set[tuple[int, ...]]:
        """The EVSEs (power stages) these connectors belong to: a station-wide reservation holds a whole EVSE, so
        connectors sharing one (settings.evses) count once."""
        return {tuple(sorted([c, *self.station.settings.evse_mates(c)])) for c in connectors}

    def holds(self, connector_id: int) -> bool:
        """A reservation for this very connector."""
        return any(r.connector_id == connector_id for r in self.entries.values())

    def _out_of_order(self, connector_id: int) -> bool:
        """Faulted or Unavailable: a reservation there ends (OCPP 1.6, 5.13)."""
        station = self.station
        if connector_id == 0:
            return station.availability.inoperative(0) or all(
                self._out_of_order(c) for c in range(1, station.settings.connectors + 1))
        c = station.connector_runtime(connector_id)
        return station.hardware.ground_fault(connector_id) or c.lock_failed \
            or station.availability.inoperative(connector_id)

    def _watch(self) -> None:
        if self._watcher is None or self._watcher.done():
            self._watcher = self.station.spawn(self._end_loop(self.station.runtime()))

    async def _end_loop(self, rt: "Runtime") -> None:
        """End reservations at their expiryDate, or when their connector goes out of order."""
        never_expire = self.station.faults.active("reservation_never_expires")
        while self.station.rt is rt and self._entries:
            now = datetime.now(timezone.utc)
            ended = [r for r in self._entries.values()
                     if (r.expiry <= now and not never_expire) or self._out_of_order(r.connector_id)]
            for r in ended:
                del self._entries[r.reservation_id]
            if ended:
                rt.wake.set()  # the connector is reported Available again
            soonest = min((r.expiry for r in self._entries.values()), default=None)
            delay = POLL_S if soonest is None else min(POLL_S, (soonest - now).total_seconds())
            await asyncio.sleep(max(0.01, delay))


class ReservationHandlers:
    """ReserveNow and CancelReservation, a mixin of SimChargePoint (hil_sim/charger/handlers.py)."""

    station: "SimStation"

    @on("ReserveNow")
    def on_reserve_now(self, connector_id: int, expiry_date: str, id_tag: str, reservation_id: int,
                       parent_id_tag: str | None = None, **_: Any) -> call_result.ReserveNow:
        station = self.station
        if not station.settings.supports(PROFILE) and station.faults.active("reserve_now_not_implemented"):
            # the bug: a build without the profile has no handler, so the request gets a CALLERROR instead of the
            # Rejected a station "not configured to accept reservations" answers
            raise NotImplementedCallError(description="ReserveNow is not implemented")
        status = station.reservations.reserve(connector_id, expiry_date, id_tag, reservation_id, parent_id_tag)
        return call_result.ReserveNow(status=status)

    @on("CancelReservation")
    def on_cancel_reservation(self, reservation_id: int, **_: Any) -> call_result.CancelReservation:
        if not self.station.settings.supports(PROFILE):
            raise NotImplementedCallError(description="the Reservation profile is not implemented")
        return call_result.CancelReservation(status=self.station.reservations.cancel(reservation_id))
