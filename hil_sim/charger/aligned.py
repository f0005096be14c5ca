"""Clock-aligned meter values (OCPP 1.6 ClockAlignedDataInterval / MeterValuesAlignedData).

Every interval, counted from midnight UTC, each connector reports its meter with context Sample.Clock, stamped
with the boundary itself (not with the moment the message leaves). During a transaction the values carry its
transactionId and are transaction data (queued across link loss); otherwise they are dropped while offline.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from ocpp.v16 import call

from .metering import sampled_values

if TYPE_CHECKING:
    from .station import SimStation

DEFAULT_MEASURAND = "Energy.Active.Import.Register"  # what an empty MeterValuesAlignedData stands for
POLL_S = 1.0  # the interval key is re-read at least this often


def next_boundary(now: datetime, interval_s: int, offset_s: int = 0) -> datetime:
    """The first time after `now` that lies a whole number of intervals (plus offset) after midnight UTC."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    elapsed = (now - midnight).total_seconds() - offset_s
    return midnight + timedelta(seconds=(elapsed // interval_s + 1) * interval_s + offset_s)


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def clock_aligned_loop(station: "SimStation") -> None:
    """One of the firmware's loops: sleeps until the next boundary and reports every connector then."""
    rt = station.runtime()
    last: datetime | None = None
    while True:
        interval = int(station.keys["ClockAlignedDataInterval"].value)
        if interval <= 0:
            await asyncio.sleep(POLL_S)
            continue
        # the bug of aligned_values_from_boot: counted from an arbitrary moment, not from midnight (pinned to
        # half an interval off so that the simulation is repeatable)
        offset = max(1, interval // 2) if station.faults.active("aligned_values_from_boot") else 0
        now = datetime.now(timezone.utc)
        boundary = next_boundary(max(now, last) if last else now, interval, offset)
        wait = (boundary - now).total_seconds()
        if wait > POLL_S:
            await asyncio.sleep(POLL_S)
            continue
        await asyncio.sleep(max(0.0, wait))
        last = boundary
        if rt.registered:
            await _report(station, boundary)


async def _report(station: "SimStation", at: datetime) -> None:
    measurands = station.keys["MeterValuesAlignedData"].value or DEFAULT_MEASURAND
    for connector_id in range(1, station.settings.connectors + 1):
        c = station.connector_runtime(connector_id)
        values = sampled_values(measurands, station.energy.register_wh(connector_id),
                                station.energy.power_w(connector_id), "Sample.Clock")
        tx = c.transaction.transaction_id if c.transaction is not None else None
        payload = call.MeterValues(connector_id=connector_id, transaction_id=tx,
                                   meter_value=[{"timestamp": _iso(at), "sampledValue": values}])
        if tx is not None:
            await station.transactions.send(payload)
        else:  # not transaction data: sent if online, else dropped (call keeps MeterValues out on purpose)
            await station.deliver(payload)
