"""Scripted sessions against the simulated station: what firmware must keep across link and power loss,
the configuration keys as the spec says, and the Core requests it answers."""

from __future__ import annotations

import asyncio

import pytest

from support.station import Session, socket_station


async def test_link_loss_queues_transaction_messages_and_resends_them_in_order(session: Session) -> None:
    assert (await session.call("ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "1"}))[
        "status"] == "Accepted"
    tx = await session.charging()
    session.world.set("network_up", False)
    await session.link.wait_until(lambda: not session.link.connected.is_set(), 5)
    await asyncio.sleep(2.5)  # two or three samples are taken while offline
    session.world.set("plugged_ev_side", False, connector_id=1)  # the session ends offline
    await asyncio.sleep(0.5)
    offline_until = session.mark()
    session.world.set("network_up", True)

    stop = await session.next("StopTransaction", after=offline_until)
    assert stop.payload["transactionId"] == tx and stop.payload["reason"] == "EVDisconnected"
    sent_after = [i for i in session.link.inbox[offline_until:] if i.action in ("MeterValues", "StopTransaction")]
    assert [i.action for i in sent_after][-1] == "StopTransaction"
    queued_samples = [i for i in sent_after if i.action == "MeterValues"]
    assert len(queued_samples) >= 2, "samples taken offline were dropped"
    stamps = [i.payload["meterValue"][0]["timestamp"] for i in queued_samples] + [stop.payload["timestamp"]]
    assert stamps == sorted(stamps), "queued messages were not resent in order"
    assert all(i.payload["transactionId"] == tx for i in queued_samples)
    assert not [i for i in session.link.inbox[offline_until:] if i.action == "BootNotification"]


async def test_power_loss_keeps_configuration_and_stops_the_transaction_with_power_loss(session: Session) -> None:
    assert (await session.call("ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "7"}))[
        "status"] == "Accepted"
    tx = await session.charging()
    mark = session.mark()
    session.world.set("mains_on", False)
    await asyncio.sleep(0.3)
    session.world.set("mains_on", True)
    await session.next("BootNotification", after=mark)
    stop = await session.next("StopTransaction", after=mark)
    assert stop.payload["transactionId"] == tx and stop.payload["reason"] == "PowerLoss"
    config = await session.call("GetConfiguration", {"key": ["MeterValueSampleInterval"]})
    assert config["configurationKey"] == [{"key": "MeterValueSampleInterval", "readonly": False, "value": "7"}]


@pytest.mark.parametrize(("key", "value", "status"), [
    ("HeartbeatInterval", "30", "Accepted"),
    ("HeartbeatInterval", "thirty", "Rejected"),
    ("NumberOfConnectors", "4", "Rejected"),  # read-only
    ("MeterValuesSampledData", "Energy.Active.Import.Register,Current.Import", "Accepted"),
    ("MeterValuesSampledData", "Temperature.Of.The.Moon", "Rejected"),
    ("AuthorizeRemoteTxRequests", "maybe", "Rejected"),
    ("NoSuchKey", "1", "NotSupported"),
])
async def test_change_configuration_answers_as_the_spec_says(session: Session, key: str, value: str,
                                                             status: str) -> None:
    assert (await session.call("ChangeConfiguration", {"key": key, "value": value}))["status"] == status


async def test_get_configuration_lists_unknown_keys(session: Session) -> None:
    config = await session.call("GetConfiguration", {"key": ["HeartbeatInterval", "Nonsense"]})
    assert config["unknownKey"] == ["Nonsense"]
    assert [k["key"] for k in config["configurationKey"]] == ["HeartbeatInterval"]
    everything = await session.call("GetConfiguration", {})
    keys = {k["key"]: k for k in everything["configurationKey"]}
    assert keys["NumberOfConnectors"]["readonly"] is True and keys["NumberOfConnectors"]["value"] == "1"


async def test_sampled_meter_values_follow_the_configuration(session: Session) -> None:
    await session.call("ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "1"})
    await session.call("ChangeConfiguration", {"key": "MeterValuesSampledData",
                                               "value": "Energy.Active.Import.Register,Power.Active.Import"})
    tx = await session.charging()
    mark = session.mark()
    first = await session.next("MeterValues", after=mark)
    second = await session.next("MeterValues", after=session.link.inbox.index(first) + 1)
    for item in (first, second):
        assert item.payload["transactionId"] == tx
        sampled = item.payload["meterValue"][0]["sampledValue"]
        assert [v["measurand"] for v in sampled] == ["Energy.Active.Import.Register", "Power.Active.Import"]
        assert all(v["context"] == "Sample.Periodic" for v in sampled)
    energy = [float(i.payload["meterValue"][0]["sampledValue"][0]["value"]) for i in (first, second)]
    assert energy[1] > energy[0], "energy must grow while charging"


async def test_change_availability_makes_a_connector_unavailable_and_back(session: Session) -> None:
    mark = session.mark()
    assert (await session.call("ChangeAvailability", {"connectorId": 1, "type": "Inoperative"}))[
        "status"] == "Accepted"
    await session.next("StatusNotification", lambda p: p["connectorId"] == 1 and p["status"] == "Unavailable",
                       after=mark)
    mark = session.mark()
    assert (await session.call("ChangeAvailability", {"connectorId": 1, "type": "Operative"}))[
        "status"] == "Accepted"
    await session.next("StatusNotification", lambda p: p["connectorId"] == 1 and p["status"] == "Available",
                       after=mark)


async def test_change_availability_during_a_transaction_is_scheduled(session: Session) -> None:
    await session.charging()
    assert (await session.call("ChangeAvailability", {"connectorId": 1, "type": "Inoperative"}))[
        "status"] == "Scheduled"
    mark = session.mark()
    session.world.set("plugged_ev_side", False, connector_id=1)
    await session.next("StopTransaction", after=mark)
    await session.next("StatusNotification", lambda p: p["status"] == "Unavailable", after=mark)


async def test_unlock_on_a_fixed_cable_is_not_supported(session: Session) -> None:
    assert (await session.call("UnlockConnector", {"connectorId": 1}))["status"] == "NotSupported"


@socket_station
async def test_unlock_connector_on_a_socket(session: Session) -> None:
    session.world.set("lock_engaged", True, connector_id=1)
    assert (await session.call("UnlockConnector", {"connectorId": 1}))["status"] == "Unlocked"
    assert session.world.connector(1).lock_engaged is False
    session.world.set("lock_failure", True, connector_id=1)
    session.world.set("lock_engaged", True, connector_id=1)
    assert (await session.call("UnlockConnector", {"connectorId": 1}))["status"] == "UnlockFailed"
    assert (await session.call("UnlockConnector", {"connectorId": 3}))["status"] == "NotSupported"


async def test_trigger_message(session: Session) -> None:
    mark = session.mark()
    assert (await session.call("TriggerMessage", {"requestedMessage": "StatusNotification", "connectorId": 1}))[
        "status"] == "Accepted"
    await session.next("StatusNotification", lambda p: p["connectorId"] == 1, after=mark)
    assert (await session.call("TriggerMessage", {"requestedMessage": "Heartbeat"}))["status"] == "Accepted"
    await session.next("Heartbeat", after=mark)
    assert (await session.call("TriggerMessage", {"requestedMessage": "MeterValues", "connectorId": 1}))[
        "status"] == "Accepted"
    reading = await session.next("MeterValues", after=mark)
    assert reading.payload["connectorId"] == 1 and "transactionId" not in reading.payload
    assert reading.payload["meterValue"][0]["sampledValue"][0]["context"] == "Trigger"
    assert (await session.call("TriggerMessage", {"requestedMessage": "FirmwareStatusNotification"}))[
        "status"] == "Accepted"  # Remote Trigger: hil_sim/charger/remote_trigger.py (tests/sim/test_local_list.py)
    assert (await session.call("TriggerMessage", {"requestedMessage": "Heartbeat", "connectorId": 7}))[
        "status"] == "Rejected"


async def test_remote_stop_ends_the_transaction(session: Session) -> None:
    tx = await session.charging()
    mark = session.mark()
    assert (await session.call("RemoteStopTransaction", {"transactionId": tx}))["status"] == "Accepted"
    stop = await session.next("StopTransaction", after=mark)
    assert stop.payload["reason"] == "Remote" and stop.payload["transactionId"] == tx
    await session.next("StatusNotification", lambda p: p["status"] == "Finishing", after=mark)
    assert (await session.call("RemoteStopTransaction", {"transactionId": tx}))["status"] == "Rejected"
