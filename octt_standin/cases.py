"""The tool's side of each case, step numbers as in the test case document (TC_<id>_CS, the reusable state
Charging of 2.25 / Table 105). Prompts come from prompts.py; what a case configures first from catalogue.py."""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from . import prompts
from .catalogue import CONFIGURATION, OPTIONAL_KEYS, RESET_CASE
from .central import Request, now_iso
from .steps import CaseFailed, CaseRun, field_is, in_either_order

Script = Callable[[CaseRun], Awaitable[None]]


async def configure(run: CaseRun) -> None:
    """The case's configuration state: ChangeConfiguration per key, in the catalogue's order."""
    for key, value in CONFIGURATION.get(run.name, []):
        status = (await run.call("configuration", "ChangeConfiguration", {"key": key, "value": value}))["status"]
        if status != "Accepted" and not (status == "NotSupported" and key in OPTIONAL_KEYS):
            raise CaseFailed("configuration", f"ChangeConfiguration {key}={value} answered {status}")


def _of_transaction(transaction_id: int) -> Callable[[dict[str, Any]], bool]:
    return lambda payload: payload["transactionId"] == transaction_id


async def reset(run: CaseRun) -> None:
    """TC_CP_V16_000_RESET: stop what runs and bring the connector back to Available."""
    await run.setup()
    if not await run.central.wait_connected(run.timeout):
        raise CaseFailed("setup", f"no charge point connected within {run.timeout:g} s")
    cid = run.connector_id
    for transaction_id in list(run.central.open_transactions):
        mark = run.central.mark()
        status = (await run.call("stop", "RemoteStopTransaction", {"transactionId": transaction_id}))["status"]
        if status != "Accepted":
            raise CaseFailed("stop", f"RemoteStopTransaction {transaction_id} answered {status}")
        await run.expect("stop", "StopTransaction", mark, where=_of_transaction(transaction_id))
        # the connector reports where the stop left it (Finishing with the cable in, else Available)
        await run.central.wait_for(
            lambda r: r.action == "StatusNotification" and int(r.payload["connectorId"]) == cid, mark, run.timeout)
    if cid not in run.central.statuses:
        mark = run.central.mark()
        await run.call("status", "TriggerMessage", {"requestedMessage": "StatusNotification", "connectorId": cid})
        await run.expect("status", "StatusNotification", mark, where=lambda p: int(p["connectorId"]) == cid)
    if run.central.statuses.get(cid) != "Available":
        mark = await run.physical(prompts.UNPLUG, "unplug")
        await run.expect("unplug", "StatusNotification", mark,
                         where=lambda p: int(p["connectorId"]) == cid and p["status"] == "Available")


async def cold_boot(run: CaseRun) -> None:
    """TC_001_CS: Rejected boot with an interval, the retry after it, Accepted, statuses and heartbeats."""
    await run.setup()
    retry = int(run.values["boot_retry_interval_s"])
    heartbeat = int(run.values["heartbeat_interval_s"])
    boots: list[Request] = []

    def boot_answer(request: Request) -> dict[str, Any]:
        boots.append(request)
        if len(boots) == 1:
            return {"status": "Rejected", "currentTime": now_iso(), "interval": retry}  # step 2
        return {"status": "Accepted", "currentTime": now_iso(), "interval": heartbeat}  # step 4

    # installed at the Yes: a boot before it got the tool's usual Accepted, and is missed
    mark = await run.physical(prompts.POWER_CYCLE, "1",
                              on_watch=lambda: run.central.overrides.__setitem__("BootNotification", boot_answer))
    off_s = float(run.values.get("power_off_s", 0))
    first = await run.expect("1", "BootNotification", mark, timeout=run.timeout + off_s)
    second = await run.expect("3", "BootNotification", first.index + 1, timeout=retry + run.timeout)
    gap = second.mono - first.mono
    if gap < retry - run.tolerance:
        raise CaseFailed("3", f"BootNotification sent {gap:.1f} s after the Rejected one; interval was {retry} s")
    for cid in (0, run.connector_id):  # step 5: connectorId 0 and the connector
        await run.status("5", "Available", second.index + 1, connector_id=cid)
    beat_1 = await run.expect("7", "Heartbeat", second.index + 1, timeout=heartbeat + run.timeout)
    beat_2 = await run.expect("7", "Heartbeat", beat_1.index + 1, timeout=heartbeat + run.timeout)
    actual = beat_2.mono - beat_1.mono
    await run.verify(prompts.heartbeat_check(heartbeat, round(actual)), abs(actual - heartbeat) <= run.tolerance,
                     "7", f"Heartbeat every {actual:.1f} s, expected every {heartbeat} s")
    await run.finish()


async def plugin_first(run: CaseRun) -> None:
    """TC_003_CS: plug in, present a valid card; Authorize, StartTransaction and Charging."""
    await run.setup()
    valid = run.values["valid_id_tag"]
    mark = await run.physical(prompts.PLUG_IN, "1")
    await run.status("1", "Preparing", mark)
    mark = await run.physical(prompts.PRESENT_VALID, "3")
    await run.expect("3", "Authorize", mark, check=field_is("idTag", valid))
    await _started(run, mark, "5", "7", valid)  # steps 5 and 7 in either order
    await run.finish()


async def charging(run: CaseRun) -> int:
    """Reusable state Charging (2.25, Table 105): plug in, then RemoteStartTransaction. Returns the transaction."""
    valid = run.values["valid_id_tag"]
    answer = await run.call("1", "GetConfiguration", {"key": ["AuthorizeRemoteTxRequests"]})
    keys = {k["key"]: k.get("value") for k in answer.get("configurationKey", [])}
    mark = await run.physical(prompts.PLUG_IN, "3")
    await run.status("3", "Preparing", mark)
    mark = run.central.mark()
    status = (await run.call("5", "RemoteStartTransaction",
                             {"connectorId": run.connector_id, "idTag": valid}))["status"]
    if status != "Accepted":
        raise CaseFailed("6", f"RemoteStartTransaction answered {status}")
    if str(keys.get("AuthorizeRemoteTxRequests", "")).lower() == "true":
        await run.expect("9", "Authorize", mark, check=field_is("idTag", valid))
    return await _started(run, mark, "11", "13", valid)


async def _started(run: CaseRun, after: int, start_step: str, charging_step: str, id_tag: str) -> int:
    """StartTransaction (for the connector, with the idTag) and StatusNotification Charging, in either order;
    the transaction id the tool gave."""
    def check(payload: dict[str, Any]) -> str | None:
        return field_is("connectorId", run.connector_id)(payload) or field_is("idTag", id_tag)(payload)
    start, _ = await in_either_order(run.expect(start_step, "StartTransaction", after, check=check),
                                     run.status(charging_step, "Charging", after))
    return int(run.central.answers[start.index]["transactionId"])


async def ev_side_disconnected(run: CaseRun) -> None:
    """TC_005_1_CS: configured to stop and unlock on an EV-side disconnect; unplug at the EV side."""
    await run.setup()
    await configure(run)
    await charging(run)
    mark = await run.physical(prompts.UNPLUG_EV_SIDE, "1")
    await in_either_order(run.expect("1", "StopTransaction", mark, check=field_is("reason", "EVDisconnected")),
                          run.status("3", "Finishing", mark))  # steps 1 and 3 in either order
    await run.finish()


async def remote_start_plugged_first(run: CaseRun) -> None:
    """TC_010_CS: exactly the reusable state Charging."""
    await run.setup()
    await charging(run)
    await run.finish()


async def stop_with_start_id_tag(run: CaseRun) -> None:
    """TC_068_CS: during the transaction another card (<Configured Valid IdTag 2>) is neither authorized nor ends
    it (step 1); the card that started it ends it (steps 3 and 5 in either order)."""
    await run.setup()
    valid = run.values["valid_id_tag"]
    await charging(run)
    mark = await run.physical(prompts.SWIPE_DIFFERENT_CARD, "1")
    ours = {"Authorize", "StopTransaction"}
    sent = await run.central.wait_for(lambda r: r.action in ours and r.charge_point_id == run.central.sut, mark,
                                      run.timeout)
    if sent is not None:
        raise CaseFailed("1", f"{sent.action} sent for another card ({sent.payload})")
    mark = await run.physical(prompts.SWIPE_SAME_CARD, "3")
    await in_either_order(run.expect("3", "StopTransaction", mark, check=field_is("idTag", valid)),
                          run.status("5", "Finishing", mark))
    await run.finish()


async def stop_with_parent_id_tag(run: CaseRun) -> None:
    """TC_069_CS: the transaction's idTag is in a group (parentIdTag); another card of the group is authorized
    (steps 1-2) and ends it in its own name (steps 3 and 5 in either order)."""
    await run.setup()
    valid, parent = run.values["valid_id_tag"], run.values["parent_id_tag"]

    def grouped(request: Request) -> dict[str, Any]:
        info = {"status": run.central.tag_status(request.payload["idTag"]), "parentIdTag": parent}
        if request.action == "StartTransaction":
            return {"transactionId": run.central.default_answer(request)["transactionId"], "idTagInfo": info}
        return {"idTagInfo": info}
    for action in ("Authorize", "StartTransaction"):
        run.central.overrides[action] = grouped
    await charging(run)
    mark = await run.physical(prompts.SWIPE_DIFFERENT_CARD, "1")
    other = await run.expect("1", "Authorize", mark,
                             check=lambda p: f"idTag is the one that started the transaction ({valid})"
                             if p.get("idTag") == valid else None)
    await in_either_order(run.expect("3", "StopTransaction", mark, check=field_is("idTag", other.payload["idTag"])),
                          run.status("5", "Finishing", mark))
    await run.finish()


SCRIPTS: dict[str, Script] = {
    RESET_CASE: reset,
    "TC_CP_V16_001": cold_boot,
    "TC_CP_V16_003": plugin_first,
    "TC_CP_V16_005_1": ev_side_disconnected,
    "TC_CP_V16_010": remote_start_plugged_first,
    "TC_CP_V16_068": stop_with_start_id_tag,
    "TC_CP_V16_069": stop_with_parent_id_tag,
}
