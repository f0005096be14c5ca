"""What the simulated firmware holds in RAM (`Runtime`, one per boot, thrown away when mains goes off), the
transaction record it also keeps in flash, and the small helpers every component of the station shares."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from websockets.asyncio.client import ClientConnection

if TYPE_CHECKING:
    from .handlers import SimChargePoint

SAMPLE_SLACK_S = 0.01  # a timer may fire a hair before its time on the loop's clock


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def wait_and_clear(event: asyncio.Event) -> None:
    """Each event has one waiter that consumes it; two loops sharing one would steal each other's wake-ups."""
    await event.wait()
    event.clear()


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
    turned: asyncio.Event = field(default_factory=asyncio.Event)  # a main loop turn ended; the power-down watcher's
    last_card: str | None = None
    station_reported: str | None = None  # last status delivered for connectorId 0
    connection_lost: asyncio.Event = field(default_factory=asyncio.Event)  # of the current connection
    reset_reason: str | None = None  # a Reset accepted, carried out by the main loop (HardReset / SoftReset)
