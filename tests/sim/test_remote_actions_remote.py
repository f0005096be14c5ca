"""Remote actions of the simulated station that the remote-action cases rely on (ConnectionTimeOut, ...)."""

from __future__ import annotations

import asyncio
import time

from support.station import Session


async def test_remote_start_without_cable_times_out_after_connection_timeout(session: Session) -> None:
    assert (await session.call("ChangeConfiguration", {"key": "ConnectionTimeOut", "value": "2"}))[
        "status"] == "Accepted"
    mark = session.mark()
    assert (await session.call("RemoteStartTransaction", {"connectorId": 1, "idTag": "04A1B2C3"}))[
        "status"] == "Accepted"
    await session.next("StatusNotification", lambda p: p["status"] == "Preparing", after=mark)
    started = time.monotonic()
    await session.next("StatusNotification", lambda p: p["status"] == "Available", after=mark)
    assert 1.5 <= time.monotonic() - started <= 3.0
    session.world.set("ev_state", "C", connector_id=1)
    session.world.set("plugged_ev_side", True, connector_id=1)  # too late: the start was cancelled
    await asyncio.sleep(1.0)
    assert not [i for i in session.link.inbox[mark:] if i.action == "StartTransaction"]


async def test_remote_start_then_cable_within_the_timeout_starts(session: Session) -> None:
    assert (await session.call("ChangeConfiguration", {"key": "ConnectionTimeOut", "value": "3"}))[
        "status"] == "Accepted"
    mark = session.mark()
    await session.call("RemoteStartTransaction", {"connectorId": 1, "idTag": "04A1B2C3"})
    await session.next("StatusNotification", lambda p: p["status"] == "Preparing", after=mark)
    session.world.set("ev_state", "C", connector_id=1)
    session.world.set("plugged_ev_side", True, connector_id=1)
    start = await session.next("StartTransaction", after=mark)
    assert start.payload["idTag"] == "04A1B2C3"


def test_next_boundary_counts_from_midnight() -> None:
    from datetime import datetime, timezone

    from hil_sim.charger.aligned import next_boundary

    at = datetime(2024, 4, 1, 10, 0, 7, 500000, tzinfo=timezone.utc)
    assert next_boundary(at, 20) == datetime(2024, 4, 1, 10, 0, 20, tzinfo=timezone.utc)
    assert next_boundary(at.replace(second=20, microsecond=0), 20).second == 40  # strictly after
    assert next_boundary(at, 20, offset_s=10) == datetime(2024, 4, 1, 10, 0, 10, tzinfo=timezone.utc)


async def test_clock_aligned_meter_values_when_idle_and_during_a_transaction(session: Session) -> None:
    await session.call("ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "0"})
    await session.call("ChangeConfiguration", {"key": "MeterValuesAlignedData",
                                               "value": "Energy.Active.Import.Register,Voltage"})
    assert (await session.call("ChangeConfiguration", {"key": "ClockAlignedDataInterval", "value": "2"}))[
        "status"] == "Accepted"
    mark = session.mark()
    idle = await session.next("MeterValues", after=mark, timeout=4)
    assert "transactionId" not in idle.payload
    tx = await session.charging()
    mark = session.mark()
    first = await session.next("MeterValues", after=mark, timeout=4)
    second = await session.next("MeterValues", after=session.link.inbox.index(first) + 1, timeout=4)
    for sample in (first, second):
        assert sample.payload["transactionId"] == tx
        (reading,) = sample.payload["meterValue"]
        assert {v["context"] for v in reading["sampledValue"]} == {"Sample.Clock"}
        assert {v["measurand"] for v in reading["sampledValue"]} == {"Energy.Active.Import.Register", "Voltage"}
        assert reading["timestamp"].endswith(".000Z") and int(reading["timestamp"][17:19]) % 2 == 0
    await session.call("ChangeConfiguration", {"key": "ClockAlignedDataInterval", "value": "0"})
