"""Whether the station may accept an idTag by itself (Local Authorization List, authorization cache, offline
rules), or must ask the Central System. The keys are OCPP 1.6's: AuthorizationCacheEnabled, LocalPreAuthorize,
LocalAuthorizeOffline, AllowOfflineTxForUnknownId.

`Authorization` is the station's component for idTags: the authorization cache, a card at the reader, a remote
start or stop, and the idTag accepted for a connector (armed) until a cable comes or ConnectionTimeOut ends it."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ocpp.v16 import call

from .config_keys import Key
from .runtime import ConnectorRuntime

if TYPE_CHECKING:
    from .station import SimStation

EAGER_START_S = 0.05  # the start_without_cable fault: how long after the idTag is accepted it starts


def _on(keys: dict[str, Key], name: str) -> bool:
    return keys[name].value.lower() == "true"


def local_decision(id_tag: str, online: bool, keys: dict[str, Key], cache: dict[str, str],
                   listed: str | None = None) -> str | None:
    """The idTag's status decided locally, or None when the Central System must be asked. `listed` is its
    status on the Local Authorization List (local_list.py): a list entry takes precedence over the cache."""
    cached = cache.get(id_tag) if _on(keys, "AuthorizationCacheEnabled") else None
    cached = listed if listed is not None else cached
    if online:
        # with LocalPreAuthorize a cached Accepted starts at once, without waiting for Authorize.conf
        return "Accepted" if cached == "Accepted" and _on(keys, "LocalPreAuthorize") else None
    if cached is not None and _on(keys, "LocalAuthorizeOffline"):
        return cached
    if cached is None and _on(keys, "AllowOfflineTxForUnknownId"):
        return "Accepted"
    return "Invalid"


def remember(cache: dict[str, str], keys: dict[str, Key], id_tag: str, id_tag_info: dict[str, Any] | None) -> None:
    """Every idTagInfo the Central System sends updates the cache (OCPP 1.6, 3.5.1)."""
    if id_tag_info and _on(keys, "AuthorizationCacheEnabled"):
        cache[id_tag] = str(id_tag_info.get("status"))


class Authorization:
    def __init__(self, station: "SimStation") -> None:
        self.station = station
        self.cache: dict[str, str] = {}  # the authorization cache, in flash: idTag -> status

    def remember(self, id_tag: str, id_tag_info: dict[str, Any] | None) -> None:
        remember(self.cache, self.station.keys, id_tag, id_tag_info)

    def clear_cache(self) -> None:
        if not self.station.faults.active("clear_cache_ignored"):
            self.cache.clear()

    def _decide_locally(self, id_tag: str, online: bool, listed: str | None) -> str | None:
        return local_decision(id_tag, online, self.station.keys, self.cache, listed)

    # ------------------------------------------------------------ an idTag accepted for a connector
    def arm(self, connector_id: int, id_tag: str, remote: bool, parent: str | None = None) -> None:
        """An idTag is accepted for this connector: start when the cable is in, or give up after ConnectionTimeOut."""
        station = self.station
        if station.hardware.fault_blocks(connector_id) or station.hardware.evse_taken(connector_id):
            return  # a Faulted connector takes no start, nor one whose power stage serves another connector
        if not station.reservations.admits(connector_id, id_tag, parent):
            return  # held for another driver (reservation.py)
        c = station.connector_runtime(connector_id)
        c.authorized_tag, c.remote_armed, c.authorized_parent = id_tag, remote, parent
        c.armed_at = asyncio.get_running_loop().time()
        station.runtime().wake.set()
        if station.faults.active("start_without_cable"):
            asyncio.get_running_loop().call_later(EAGER_START_S, station.runtime().wake.set)

    def connection_deadline(self, c: ConnectorRuntime) -> float | None:
        """When an accepted idTag still waiting for a cable is dropped (OCPP 1.6 ConnectionTimeOut); None: never."""
        timeout = int(self.station.keys["ConnectionTimeOut"].value)
        if c.authorized_tag is None or c.transaction is not None or timeout <= 0 \
                or self.station.faults.active("ignore_connection_timeout"):
            return None
        return c.armed_at + timeout

    def starts_without_cable(self, c: ConnectorRuntime) -> bool:
        """The start_without_cable fault: the transaction starts a moment after the idTag is accepted, cable or not
        (after the Preparing that the authorization reports)."""
        return self.station.faults.active("start_without_cable") \
            and asyncio.get_running_loop().time() >= c.armed_at + EAGER_START_S

    # ------------------------------------------------------------ a card at the reader
    def _reader_serves(self) -> list[int]:
        """The connectors the card in the field can act on: every one behind a shared reader, only its own behind
        a reader per EVSE (the presenter stands at `world.card_reader`), none without a reader."""
        settings, world = self.station.settings, self.station.world
        every = list(range(1, settings.connectors + 1))
        if settings.rfid_readers == "one_per_evse":
            return [world.card_reader] if world.card_reader in every else []
        return every if settings.rfid_readers == "single" else []

    def connector_for(self, serves: list[int]) -> int:
        """The connector a card (or a remote start without connectorId) acts on: the one with an EV waiting, else
        the first free one."""
        station = self.station
        for connector_id in serves:
            c = station.connector_runtime(connector_id)
            if c.transaction is None and station.hardware.ev_present(connector_id):
                return connector_id
        free = [cid for cid in serves
                if station.connector_runtime(cid).transaction is None and not station.hardware.evse_taken(cid)]
        return free[0] if free else serves[0]

    async def card_presented(self, id_tag: str) -> None:
        station = self.station
        serves = self._reader_serves()
        if not serves:
            return  # no reader where the card is
        for connector_id in serves:
            c = station.connector_runtime(connector_id)
            if c.transaction is None and c.authorized_tag == id_tag and not c.remote_armed:
                if station.settings.same_card_withdraws:
                    c.authorized_tag = None  # the same card again before any cable came: the driver withdraws
                    station.runtime().wake.set()
                return  # else only ConnectionTimeOut ends the authorization
        running = [cid for cid in serves if station.connector_runtime(cid).transaction is not None]
        for connector_id in running:
            if station.connector_runtime(connector_id).transaction.id_tag == id_tag:  # type: ignore[union-attr]
                self._end_by_card(connector_id, id_tag)  # the same card: no need to ask the Central System
                return
        any_card = station.faults.active("any_card_stops")
        # another card may only end a transaction whose idTag belongs to a group (has a parentIdTag; OCPP 1.6,
        # Stop Transaction): without one, and with no connector free for a new session, the card is ignored
        grouped = [cid for cid in running
                   if station.connector_runtime(cid).transaction.parent_id_tag is not None]  # type: ignore[union-attr]
        free = [cid for cid in serves if cid not in running and not station.hardware.evse_taken(cid)]  # EVSEs once
        if not free and not grouped and not any_card:
            return
        status, parent = await self._authorize_card(id_tag, ask=bool(grouped))
        if status != "Accepted":
            return
        for connector_id in running:
            tx = station.connector_runtime(connector_id).transaction
            if tx is not None and (any_card or (parent is not None and parent == tx.parent_id_tag)):
                self._end_by_card(connector_id, id_tag)
                return
        if len(running) < len(serves):
            self.arm(self.connector_for(serves), id_tag, remote=False, parent=parent)

    async def _authorize_card(self, id_tag: str, ask: bool) -> tuple[str | None, str | None]:
        """The card's status and parentIdTag: decided locally when it may be, else with an Authorize.req."""
        station = self.station
        rt = station.runtime()
        connected = rt.cp is not None and rt.registered  # not rt.online: that is set a little later
        # the cache keeps no parentIdTag, so a card that may end a grouped transaction is always asked about
        listed = station.local_list.status(id_tag)
        ask = ask or station.reservations.wants_parent(id_tag)  # and one a group's reservation may admit
        status = None if ask and connected else self._decide_locally(id_tag, connected, listed)
        parent = None
        if status is None:
            resp = await station.call(call.Authorize(id_tag=id_tag))
            if resp is None:  # the link went down meanwhile: decide as offline
                status = self._decide_locally(id_tag, False, listed)
            else:
                self.remember(id_tag, resp.id_tag_info)
                status = resp.id_tag_info.get("status")
                parent = resp.id_tag_info.get("parent_id_tag")
                if station.faults.active("start_despite_invalid"):
                    status = "Accepted"  # only checks that an answer came, not what it says
        return status, parent

    def _end_by_card(self, connector_id: int, id_tag: str) -> None:
        c = self.station.connector_runtime(connector_id)
        if c.transaction is not None:
            c.stop_reason, c.transaction.stop_id_tag = "Local", id_tag

    # ------------------------------------------------------------ remote start and stop
    def remote_start(self, id_tag: str, connector_id: int | None) -> str:
        station = self.station
        if station.faults.active("reject_remote_start") or station.rt is None:
            return "Rejected"
        if connector_id is None or (connector_id == 0 and station.faults.active("remote_start_connector_0_as_any")):
            # no connector given: the firmware picks one, as for a card at a reader serving every connector
            connector_id = self.connector_for(list(range(1, station.settings.connectors + 1)))
        if not 1 <= connector_id <= station.settings.connectors:
            return "Rejected"  # connectorId 0 is the charge point itself, never a connector to start on
        c = station.connector_runtime(connector_id)
        if c.transaction is not None and station.faults.active("remote_start_ignores_busy_connector"):
            return "Accepted"  # the bug: says yes and does nothing
        if c.transaction is not None or station.hardware.fault_blocks(connector_id) \
                or station.hardware.evse_taken(connector_id) \
                or station.reservations.refuses_remote_start(connector_id, id_tag):
            return "Rejected"
        if station.keys["AuthorizeRemoteTxRequests"].value == "true" and not self._pre_authorized(id_tag):
            station.spawn(self._authorize_then_arm(connector_id, id_tag))
        else:
            self.arm(connector_id, id_tag, remote=True)
        return "Accepted"

    def _pre_authorized(self, id_tag: str) -> bool:
        """A remote start is authorized "like a local action": with LocalPreAuthorize a cached Accepted idTag
        starts at once, without an Authorize.req."""
        if self.station.faults.active("remote_start_ignores_cache"):
            return False
        return self._decide_locally(id_tag, True, self.station.local_list.status(id_tag)) == "Accepted"

    async def _authorize_then_arm(self, connector_id: int, id_tag: str) -> None:
        resp = await self.station.call(call.Authorize(id_tag=id_tag))
        if resp is not None:
            self.remember(id_tag, resp.id_tag_info)
        if resp is not None and resp.id_tag_info.get("status") == "Accepted" and self.station.rt is not None:
            self.arm(connector_id, id_tag, remote=True, parent=resp.id_tag_info.get("parent_id_tag"))

    def remote_stop(self, transaction_id: int) -> str:
        rt = self.station.rt
        if rt is None:
            return "Rejected"
        any_id = self.station.faults.active("remote_stop_ignores_transaction_id")  # the bug: stops whatever runs
        for c in rt.connectors:
            if c.transaction is not None and (any_id or c.transaction.transaction_id == transaction_id):
                c.stop_reason = "Remote"
                rt.wake.set()
                return "Accepted"
        return "Rejected"
