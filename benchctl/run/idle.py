"""Between cases the station goes back to its basic idle state, as 000_RESET / 000_STOPTX do (test procedure
7.3), and the general pre-conditions of section 1.3 of the test case document are checked, not assumed."""

from __future__ import annotations

import asyncio
import logging
import time

from benchctl.bench.bench import Bench
from benchctl.csms.link import ChargerLink, NoAnswer, ToolRequestError

from .security import restore_security

log = logging.getLogger("benchctl.idle")


QUIET_S = 0.5  # no frame from the charger for this long: it has nothing left in its queue (1.3)


def _all_available(link: ChargerLink, connectors: int) -> bool:
    return all(link.statuses.get(c) == "Available" for c in range(1, connectors + 1))


async def _settled(link: ChargerLink, connectors: int, timeout: float) -> bool:
    """Connected, every connector Available, and the charger quiet: re-checked until it holds still."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ok = await link.wait_until(lambda: link.connected.is_set() and _all_available(link, connectors),
                                   deadline - time.monotonic())
        if not ok:
            return False
        seen = len(link.inbox)
        await asyncio.sleep(QUIET_S)
        if len(link.inbox) == seen and link.connected.is_set() and _all_available(link, connectors):
            return True
    return False


async def wait_connected(link: ChargerLink, timeout: float) -> bool:
    return await link.wait_until(lambda: link.connected.is_set(), timeout) is not None


async def _clear_cache(link: ChargerLink) -> None:
    """1.3: an empty authorization cache. Rejected is fine (a station without a cache, or with it disabled)."""
    try:
        response, _ = await link.call("ClearCache", {})
        log.info("ClearCache: %s", response.get("status"))
    except NoAnswer:
        raise
    except ToolRequestError as exc:
        log.warning("ClearCache failed: %s", exc)


async def _clear_local_list(link: ChargerLink) -> None:
    """1.3: no installed local authorization list. A Full update without entries removes it; a station without
    the list (listVersion -1, or a CALLERROR) or with an empty one (0) has nothing to remove."""
    try:
        response, _ = await link.call("GetLocalListVersion", {})
        version = response.get("listVersion")
        if not isinstance(version, int) or version <= 0:
            return
        response, _ = await link.call("SendLocalList", {"listVersion": 1, "updateType": "Full"})
        log.info("SendLocalList (empty, Full): %s", response.get("status"))
    except NoAnswer:
        raise
    except ToolRequestError as exc:
        log.info("no local authorization list to remove: %s", exc)


async def _clear_charging_profiles(link: ChargerLink) -> None:
    """1.3: no charging schedules active. A ClearChargingProfile without criteria removes every profile; Unknown
    (none installed) or a CALLERROR (a station without Smart Charging) means there was nothing to remove."""
    try:
        response, _ = await link.call("ClearChargingProfile", {})
        log.info("ClearChargingProfile: %s", response.get("status"))
    except NoAnswer:
        raise
    except ToolRequestError as exc:
        log.info("no charging profiles to clear: %s", exc)


async def _make_operative(link: ChargerLink, connectors: int) -> None:
    """A case that left the station (or a connector) Inoperative: availability survives reboots (OCPP 1.6, 5.2),
    so neither the safe state nor a power cycle brings it back; 000_RESET makes it Operative again. The station
    first, then each connector still reported Unavailable by itself: whether connectorId 0 also lifts a
    connector's own Inoperative (the reservation cases set unused connectors so) is the station's reading."""
    unavailable = [c for c in range(0, connectors + 1) if link.statuses.get(c) == "Unavailable"]
    if not unavailable:
        return
    for connector_id in [0, *[c for c in unavailable if c]]:
        try:
            response, _ = await link.call("ChangeAvailability", {"connectorId": connector_id, "type": "Operative"})
            log.info("ChangeAvailability(%d, Operative): %s", connector_id, response.get("status"))
        except ToolRequestError as exc:
            log.warning("ChangeAvailability(%d, Operative) failed: %s", connector_id, exc)


async def _cancel_reservations(link: ChargerLink) -> None:
    """A case that left a reservation open (TC_052_CS keeps one on purpose): 000_RESET wants every connector
    Available, so each reservation the tool made and has not seen end is cancelled. Rejected is fine: it expired,
    or the charger ended it otherwise."""
    for reservation_id in list(link.reservations):
        try:
            response, _ = await link.call("CancelReservation", {"reservationId": reservation_id})
            log.info("cancelling reservation %s: %s", reservation_id, response.get("status"))
        except ToolRequestError as exc:
            log.warning("cancelling reservation %s failed: %s", reservation_id, exc)
        link.reservations.pop(reservation_id, None)


async def return_to_idle(bench: Bench, link: ChargerLink, timeout: float) -> str | None:
    """Bring the station to idle; return None when it is, or why it is not."""
    connectors = bench.config.connectors
    problem = await restore_security(bench, link, timeout)  # first: a station stuck on a profile may not connect
    if problem is not None:
        return problem
    if not await wait_connected(link, timeout):
        problem = await _bring_back_offline(bench, link, timeout)
        if problem is not None:
            return problem
    for transaction_id in list(link.transactions):  # 000_STOPTX
        try:
            response, _ = await link.call("RemoteStopTransaction", {"transactionId": transaction_id})
            log.info("stopping transaction %s: %s", transaction_id, response.get("status"))
            if response.get("status") != "Accepted":
                link.transactions.pop(transaction_id, None)  # the charger no longer knows it (e.g. rebooted)
        except ToolRequestError as exc:
            log.warning("stopping transaction %s failed: %s", transaction_id, exc)
    await _cancel_reservations(link)
    errors = await bench.safe_state()
    if errors:
        return "bench safe state failed: " + "; ".join(map(str, errors))
    await _make_operative(link, connectors)
    if await _settled(link, connectors, timeout):
        silent = await _cleared(link)
        if silent is None:
            return None
        why = f"the charger is connected but answers no request ({silent})"
    else:
        why = f"connectors did not all become Available within {timeout:.0f} s (last statuses: {link.statuses})"
    if not bench.has("mains"):
        return why
    # a firmware that hangs (not Available, or every request left unanswered) comes back only with its power: left
    # alone it would make every following case wait out its timeouts
    log.warning("station not idle (%s); power cycling it", why)
    await bench.power("mains").cycle(reason=f"return to idle: {why}")
    if not await _settled(link, connectors, timeout * 2):
        return f"{why}; after a power cycle, " + \
            f"connectors did not all become Available within {timeout * 2:.0f} s (last statuses: {link.statuses})"
    silent = await _cleared(link)
    return None if silent is None else f"{why}; after a power cycle it still answers no request ({silent})"


async def _bring_back_offline(bench: Bench, link: ChargerLink, timeout: float) -> str | None:
    """A charger that is not connected: the gear goes safe first (a network relay a killed run left cut is the
    usual cause) and it gets `timeout` more to dial in; then a power cycle through `mains`, and the boot is waited
    for. None once it is connected, or why it is not."""
    why = f"the charger is not connected to the Central System after {timeout:.0f} s"
    errors = await bench.safe_state()
    if errors:
        return f"{why}; bench safe state failed: " + "; ".join(map(str, errors))
    if await wait_connected(link, timeout):
        return None
    why = f"the charger is not connected to the Central System after {timeout * 2:.0f} s, the gear safe"
    if not bench.has("mains"):
        return why
    log.warning("%s; power cycling it", why)
    await bench.power("mains").cycle(reason=f"return to idle: {why}")
    if not await wait_connected(link, timeout * 2):
        return f"{why}; after a power cycle it did not connect within {timeout * 2:.0f} s"
    log.info("the charger connected again after the power cycle")
    return None


async def _cleared(link: ChargerLink) -> str | None:
    """1.3's empty cache, local list and charging profiles; the request the charger left unanswered, or None."""
    try:
        await _clear_cache(link)
        await _clear_local_list(link)
        await _clear_charging_profiles(link)
    except NoAnswer as exc:
        return str(exc)
    return None
