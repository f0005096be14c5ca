"""The simulated station's Local Auth List Management and Remote Trigger profiles, over the real wire:
SendLocalList / GetLocalListVersion (versions, limits, LocalAuthListEnabled, storage failure, power loss),
authorization from the list, a build without the profile, and TriggerMessage for every message it can send."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from benchctl.bench.actions import ACTIONS
from benchctl.bench.config import BenchConfig
from benchctl.config.pics import load_pics
from benchctl.csms.capture import Capture
from benchctl.csms.link import ToolRequestError
from benchctl.paths import ROOT
from benchctl.run.idle import return_to_idle
from benchctl.run.session import open_bench
from hil_sim.charger import local_list
from hil_sim.gear.modbus_gear import DEFAULT_RELAY_WIRING, resolve_switch
from hil_sim.settings import PROFILES
from hil_sim.world import World

from support.station import Session, _settings
from support.variants import variant

VALID, OTHER, UNKNOWN = "04A1B2C3", "04D4E5F6", "0BADCAFE"

without_local_list = pytest.mark.parametrize(
    "station_settings", [_settings(profiles=[p for p in PROFILES if p != "LocalAuthListManagement"])])
without_remote_trigger = pytest.mark.parametrize(
    "station_settings", [_settings(profiles=[p for p in PROFILES if p != "RemoteTrigger"])])


def entry(id_tag: str, status: str | None = "Accepted", **info: Any) -> dict[str, Any]:
    return {"idTag": id_tag} if status is None else {"idTag": id_tag, "idTagInfo": {"status": status, **info}}


async def send_list(session: Session, version: int, update: str, *entries: dict[str, Any]) -> str:
    payload: dict[str, Any] = {"listVersion": version, "updateType": update}
    if entries:
        payload["localAuthorizationList"] = list(entries)
    return str((await session.call("SendLocalList", payload))["status"])


async def version(session: Session) -> int:
    return int((await session.call("GetLocalListVersion", {}))["listVersion"])


async def configure(session: Session, **keys: str) -> None:
    for key, value in keys.items():
        assert (await session.call("ChangeConfiguration", {"key": key, "value": value}))["status"] == "Accepted", key


async def present(session: Session, uid: str) -> None:
    session.world.set("card_uid", uid)
    await asyncio.sleep(0.3)
    session.world.set("card_uid", None)


async def go_offline(session: Session) -> None:
    session.world.set("network_up", False)
    assert await session.link.wait_until(lambda: not session.link.connected.is_set(), 5)


# ------------------------------------------------------------------ the list and its version
async def test_full_and_differential_updates_and_the_version(session: Session) -> None:
    assert await version(session) == 0  # nothing installed
    assert await send_list(session, 3, "Full", entry(VALID), entry(OTHER, "Blocked")) == "Accepted"
    assert await version(session) == 3
    assert session.sim.station.local_list.entries.keys() == {VALID, OTHER}
    # a differential update adds, changes and (without idTagInfo) removes entries
    assert await send_list(session, 4, "Differential", entry(UNKNOWN, "Expired"), entry(VALID, "Blocked"),
                           entry(OTHER, None)) == "Accepted"
    assert await version(session) == 4
    entries = session.sim.station.local_list.entries
    assert {k: v["status"] for k, v in entries.items()} == {VALID: "Blocked", UNKNOWN: "Expired"}
    # a differential update that is not newer is refused and changes nothing
    for stale in (4, 2):
        assert await send_list(session, stale, "Differential", entry(OTHER)) == "VersionMismatch"
    assert await version(session) == 4 and OTHER not in session.sim.station.local_list.entries
    # a Full update replaces the list whatever its version; an empty list has version 0
    assert await send_list(session, 1, "Full", entry(OTHER)) == "Accepted"
    assert await version(session) == 1 and set(session.sim.station.local_list.entries) == {OTHER}
    assert await send_list(session, 7, "Full") == "Accepted"
    assert await version(session) == 0 and not session.sim.station.local_list.entries
    # after emptying, the stored version still orders the differential updates
    assert await send_list(session, 7, "Differential", entry(VALID)) == "VersionMismatch"
    assert await send_list(session, 8, "Differential", entry(VALID)) == "Accepted"
    assert await version(session) == 8


async def test_the_limits_the_pics_declares_are_the_keys_and_are_kept(session: Session) -> None:
    pics = load_pics(ROOT / "pics" / "sim.yaml")
    config = (await session.call("GetConfiguration", {"key": ["LocalAuthListEnabled", "LocalAuthListMaxLength",
                                                              "SendLocalListMaxLength"]}))["configurationKey"]
    keys = {k["key"]: k for k in config}
    assert keys["LocalAuthListEnabled"] == {"key": "LocalAuthListEnabled", "readonly": False, "value": "true"}
    assert keys["LocalAuthListMaxLength"]["readonly"] and keys["SendLocalListMaxLength"]["readonly"]
    most, per_message = int(keys["LocalAuthListMaxLength"]["value"]), int(keys["SendLocalListMaxLength"]["value"])
    assert (most, per_message) == (pics.local_auth_list_max_length, pics.send_local_list_max_length)
    assert pics.local_auth_list and pics.can_trigger_local_list_failure
    assert (await session.call("ChangeConfiguration", {"key": "LocalAuthListMaxLength", "value": "99"}))[
        "status"] == "Rejected"

    tags = [f"TAG-{n:04d}" for n in range(most + 1)]
    assert await send_list(session, 1, "Full", *map(entry, tags[:per_message + 1])) == "Failed"
    assert await version(session) == 0  # a refused list installs nothing
    assert await send_list(session, 1, "Full", *map(entry, tags[:per_message])) == "Accepted"
    v = 1
    while len(session.sim.station.local_list.entries) + per_message <= most:
        start = len(session.sim.station.local_list.entries)
        v += 1
        assert await send_list(session, v, "Differential", *map(entry, tags[start:start + per_message])) == "Accepted"
    assert len(session.sim.station.local_list.entries) == most
    assert await send_list(session, v + 1, "Differential", entry(tags[most])) == "Failed"  # one too many
    assert await version(session) == v and len(session.sim.station.local_list.entries) == most


async def test_local_auth_list_enabled_false_hides_the_list_without_losing_it(session: Session) -> None:
    assert await send_list(session, 2, "Full", entry(VALID)) == "Accepted"
    await configure(session, LocalAuthListEnabled="false")
    assert await version(session) == -1
    assert await send_list(session, 3, "Full", entry(OTHER)) == "NotSupported"
    await configure(session, LocalAuthListEnabled="true")
    assert await version(session) == 2 and set(session.sim.station.local_list.entries) == {VALID}


async def test_a_write_protected_list_memory_fails_the_update_and_keeps_the_old_list(session: Session) -> None:
    assert await send_list(session, 2, "Full", entry(VALID)) == "Accepted"
    session.world.set("local_list_storage_failure", True)
    assert await send_list(session, 3, "Full", entry(OTHER)) == "Failed"
    assert await send_list(session, 3, "Differential", entry(OTHER)) == "Failed"
    assert await version(session) == 2 and set(session.sim.station.local_list.entries) == {VALID}
    session.world.set("local_list_storage_failure", False)
    assert await send_list(session, 3, "Differential", entry(OTHER)) == "Accepted"


async def test_the_list_survives_a_power_loss(session: Session) -> None:
    assert await send_list(session, 5, "Full", entry(VALID), entry(OTHER, "Blocked")) == "Accepted"
    mark = session.mark()
    session.world.set("mains_on", False)
    await asyncio.sleep(0.3)
    session.world.set("mains_on", True)
    await session.next("BootNotification", after=mark)
    await session.link.wait_until(lambda: session.link.statuses.get(1) == "Available", 10)
    assert await version(session) == 5


def test_the_relay_on_coil_5_drives_the_list_memory_write_protect() -> None:
    world = World()
    switch = resolve_switch(DEFAULT_RELAY_WIRING[5], world)
    switch.set(world, True)
    assert world.local_list_storage_failure is True


async def test_the_bench_action_reaches_the_station_and_the_safe_state_clears_it(sim_config: BenchConfig) -> None:
    async with open_bench(sim_config, Capture(None), connect=False) as opened:
        assert opened.sim is not None
        await ACTIONS["local_list_failure"].func(opened.bench, on=True)
        assert opened.sim.world.local_list_storage_failure is True
        assert await opened.bench.safe_state() == []
        assert opened.sim.world.local_list_storage_failure is False


async def test_the_return_to_idle_removes_an_installed_list(sim_config: BenchConfig) -> None:
    """Section 1.3 of the test case document: no installed local authorization list before a case."""
    async with open_bench(sim_config, Capture(None)) as opened:
        link = opened.link
        assert await link.wait_until(lambda: link.statuses.get(1) == "Available", 10)
        response, _ = await link.call("SendLocalList", {"listVersion": 4, "updateType": "Full",
                                                        "localAuthorizationList": [entry(VALID)]})
        assert response["status"] == "Accepted"
        assert await return_to_idle(opened.bench, link, timeout=10) is None
        assert (await link.call("GetLocalListVersion", {}))[0]["listVersion"] == 0


# ------------------------------------------------------------------ authorization from the list
async def test_a_listed_card_starts_at_once_with_local_pre_authorize_even_without_a_cache(session: Session) -> None:
    await configure(session, LocalPreAuthorize="true", AuthorizationCacheEnabled="false")
    assert await send_list(session, 1, "Full", entry(OTHER)) == "Accepted"
    mark = session.mark()
    session.world.set("ev_state", "C", connector_id=1)
    session.world.set("plugged_ev_side", True, connector_id=1)
    await present(session, OTHER)
    start = await session.next("StartTransaction", after=mark)
    assert start.payload["idTag"] == OTHER
    assert not [i for i in session.link.inbox[mark:] if i.action == "Authorize"]


async def test_a_listed_remote_start_skips_authorize_with_authorize_remote_tx_requests(session: Session) -> None:
    await configure(session, LocalPreAuthorize="true", AuthorizeRemoteTxRequests="true")
    assert await send_list(session, 1, "Full", entry(VALID)) == "Accepted"
    tx = await session.charging()
    assert tx > 0
    assert not [i for i in session.link.inbox if i.action == "Authorize"]


async def test_without_local_pre_authorize_a_listed_card_is_still_asked_about(session: Session) -> None:
    assert await send_list(session, 1, "Full", entry(VALID)) == "Accepted"
    mark = session.mark()
    session.world.set("plugged_ev_side", True, connector_id=1)
    await present(session, VALID)
    await session.next("Authorize", after=mark)


async def test_a_listed_status_other_than_accepted_is_no_local_start(session: Session) -> None:
    await configure(session, LocalPreAuthorize="true")
    assert await send_list(session, 1, "Full", entry(VALID, "Blocked")) == "Accepted"
    mark = session.mark()
    session.world.set("plugged_ev_side", True, connector_id=1)
    await present(session, VALID)
    asked = await session.next("Authorize", after=mark)  # online: the Central System decides
    assert asked.payload["idTag"] == VALID


async def test_offline_the_list_decides_and_takes_precedence_over_the_cache(session: Session) -> None:
    await configure(session, AllowOfflineTxForUnknownId="true")  # would let an UNKNOWN tag through
    session.sim.station.authorization.cache[OTHER] = "Accepted"  # the cache says yes, the list says no
    past = "2020-01-01T00:00:00Z"
    assert await send_list(session, 1, "Full", entry(OTHER, "Blocked"), entry(UNKNOWN, "Accepted", expiryDate=past),
                           entry(VALID)) == "Accepted"
    await go_offline(session)
    session.world.set("ev_state", "C", connector_id=1)
    session.world.set("plugged_ev_side", True, connector_id=1)
    for refused in (OTHER, UNKNOWN):  # Blocked on the list; Accepted but expired
        await present(session, refused)
        await asyncio.sleep(0.6)
        assert session.world.connector(1).pwm_duty_pct == 100, f"{refused} started a transaction offline"
    await present(session, VALID)  # Accepted on the list, not in the cache
    await asyncio.sleep(0.8)
    assert session.world.connector(1).pwm_duty_pct < 100, "a listed Accepted idTag was refused offline"


async def test_with_the_list_disabled_authorization_falls_back_on_the_cache(session: Session) -> None:
    assert await send_list(session, 1, "Full", entry(VALID)) == "Accepted"
    await configure(session, LocalAuthListEnabled="false")
    await go_offline(session)
    session.world.set("plugged_ev_side", True, connector_id=1)
    await present(session, VALID)  # neither cached nor a usable list entry
    await asyncio.sleep(0.8)
    assert session.world.connector(1).pwm_duty_pct == 100


# ------------------------------------------------------------------ a build without the profile
@without_local_list
async def test_without_the_profile_there_is_no_list(session: Session) -> None:
    assert await version(session) == -1
    assert await send_list(session, 1, "Full", entry(VALID)) == "NotSupported"
    config = (await session.call("GetConfiguration", {"key": ["LocalAuthListEnabled", "SupportedFeatureProfiles"]}))
    assert config["unknownKey"] == ["LocalAuthListEnabled"]
    assert "LocalAuthListManagement" not in config["configurationKey"][0]["value"]
    assert (await session.call("ChangeConfiguration", {"key": "LocalAuthListEnabled", "value": "true"}))[
        "status"] == "NotSupported"
    pics = load_pics(variant("no-local-list").pics)
    assert not pics.local_auth_list and not pics.can_trigger_local_list_failure


# ------------------------------------------------------------------ TriggerMessage
async def trigger(session: Session, message: str, connector_id: int | None = None) -> str:
    payload: dict[str, Any] = {"requestedMessage": message}
    if connector_id is not None:
        payload["connectorId"] = connector_id
    return str((await session.call("TriggerMessage", payload))["status"])


async def test_every_triggerable_message_comes_after_the_answer(session: Session) -> None:
    for message, connector_id in (("BootNotification", None), ("DiagnosticsStatusNotification", None),
                                  ("FirmwareStatusNotification", None), ("Heartbeat", None),
                                  ("MeterValues", 1), ("StatusNotification", 1)):
        mark = session.mark()
        payload: dict[str, Any] = {"requestedMessage": message}
        if connector_id is not None:
            payload["connectorId"] = connector_id
        response, answer = await session.link.call("TriggerMessage", payload)
        assert response["status"] == "Accepted", message
        sent = await session.next(message, after=mark)
        assert answer.index < sent.frame.index, f"{message} came before the TriggerMessage.conf"
        if message.endswith("StatusNotification") and message != "StatusNotification":
            assert sent.payload["status"] == "Idle"
        if message in ("MeterValues", "StatusNotification"):
            assert sent.payload["connectorId"] == 1


async def test_triggered_status_notifications_of_the_whole_station(session: Session) -> None:
    mark = session.mark()
    assert await trigger(session, "StatusNotification") == "Accepted"
    await session.next("StatusNotification", lambda p: p["connectorId"] == 0, after=mark)
    await session.next("StatusNotification", lambda p: p["connectorId"] == 1, after=mark)


async def test_a_triggered_firmware_or_diagnostics_status_says_what_is_going_on(session: Session) -> None:
    station = session.sim.station
    for attribute, message, busy, done in (("firmware_status", "FirmwareStatusNotification", "Downloading",
                                            "Installed"),
                                           ("diagnostics_status", "DiagnosticsStatusNotification", "Uploading",
                                            "Uploaded")):
        for status, reported in ((busy, busy), (done, "Idle")):
            setattr(station, attribute, status)
            mark = session.mark()
            assert await trigger(session, message) == "Accepted"
            assert (await session.next(message, after=mark)).payload["status"] == reported
        setattr(station, attribute, "Idle")


async def test_a_trigger_for_a_connector_it_does_not_have_is_rejected_and_sends_nothing(session: Session) -> None:
    mark = session.mark()
    assert await trigger(session, "MeterValues", 2) == "Rejected"
    assert await trigger(session, "StatusNotification", 5) == "Rejected"
    await asyncio.sleep(0.5)
    assert not [i for i in session.link.inbox[mark:] if i.action in ("MeterValues", "StatusNotification")]


@without_remote_trigger
async def test_without_the_remote_trigger_profile_trigger_message_is_not_implemented(session: Session) -> None:
    with pytest.raises(ToolRequestError, match="NotImplemented"):
        await trigger(session, "Heartbeat")


def test_the_sim_pics_keeps_the_limits_of_the_simulator() -> None:
    pics = load_pics(ROOT / "pics" / "sim.yaml")
    assert pics.local_auth_list_max_length == local_list.MAX_LENGTH
    assert pics.send_local_list_max_length == local_list.SEND_MAX_LENGTH
    assert min(local_list.MAX_LENGTH, local_list.SEND_MAX_LENGTH) >= 5  # TC_043's prerequisite (App. C)
