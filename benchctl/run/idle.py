"""Between cases the station goes back to its basic idle state, as 000_RESET / 000_STOPTX do (test procedure
7.3), and the general pre-conditions of section 1.3 of the test case document are checked, not assumed."""

from __future__ import annotations

import asyncio
import logging
import time
import weakref

from benchctl.bench.bench import Bench
from benchctl.csms.config_key import ConfigKey
from benchctl.csms.link import ChargerLink, NoAnswer, ToolRequestError

from .configuration import RESTORED_WHEN_IDLE, restore_configuration
from .security import restore_security

log = logging.getLogger("benchctl.idle")


QUIET_S = 0.5  # a charger that cannot be asked (no TriggerMessage): this long without a frame, nothing is left (1.3)
TRIGGERED_S = 5.0  # how long a triggered StatusNotification may take before the charger is taken not to send it

# chargers that did not answer a TriggerMessage(StatusNotification) with the status: asked once, then the quiet window
_UNASKABLE: "weakref.WeakSet[ChargerLink]" = weakref.WeakSet()


def _all_available(link: ChargerLink, connectors: int) -> bool:
    return all(link.statuses.get(c) == "Available" for c in range(1, connectors + 1))


async def _settled(link: ChargerLink, connectors: int, timeout: float) -> bool:
    """Connected, every connector Available, and nothing left in the charger's queue: re-checked until it holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ok = await link.wait_until(lambda: link.connected.is_set() and _all_available(link, connectors),
                                   deadline - time.monotonic())
        if not ok:
            return False
        if link in _UNASKABLE:
            flushed = await _quiet(link)
        else:
            flushed = await _flushed(link, connectors, deadline)
        if flushed and link.connected.is_set() and _all_available(link, connectors):
            return True
    return False


async def _quiet(link: ChargerLink) -> bool:
    seen = len(link.inbox)
    await asyncio.sleep(QUIET_S)
    return len(link.inbox) == seen


async def _flushed(link: ChargerLink, connectors: int, deadline: float) -> bool:
    """The charger has sent everything it queued: OCPP-J delivers a charger's messages in order, so a
    StatusNotification it sends on a TriggerMessage comes after whatever it owed before (a StopTransaction, a
    status held back by MinimumStatusDuration). That takes one round trip per connector where a quiet window
    would take its whole length every time. A charger that cannot be asked gets the quiet window from then on."""
    for connector_id in range(1, connectors + 1):
        mark = len(link.inbox)
        try:
            response, _ = await link.call("TriggerMessage", {"requestedMessage": "StatusNotification",
                                                              "connectorId": connector_id})
        except NoAnswer:
            raise  # a charger that answers nothing: not idle, whatever its statuses say
        except ToolRequestError as exc:
            log.info("TriggerMessage(StatusNotification) not taken (%s): waiting for a quiet charger instead", exc)
            _UNASKABLE.add(link)
            return await _quiet(link)
        if response.get("status") != "Accepted":
            log.info("TriggerMessage(StatusNotification): %s; waiting for a quiet charger instead",
                     response.get("status"))
            _UNASKABLE.add(link)
            return await _quiet(link)

        def sent(connector_id: int = connector_id) -> bool:
            return any(item.action == "StatusNotification" and item.payload.get("connectorId") == connector_id
                       for item in link.inbox[mark:])

        if not await link.wait_until(sent, max(0.0, min(TRIGGERED_S, deadline - time.monotonic()))):
            log.info("no StatusNotification of connector %d after an accepted TriggerMessage: waiting for a quiet "
                     "charger instead", connector_id)
            _UNASKABLE.add(link)
            return await _quiet(link)
    return True


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


async def return_to_idle(bench: Bench, link: ChargerLink, timeout: float,
                         baseline: dict[str, ConfigKey] | None = None) -> str | None:
    """Bring the station to idle, its configuration back to `baseline` when given; return None when it is, or why
    it is not. The configuration goes back first, before anything makes the charger change a status: a key a case
    set (TC_023's MinimumStatusDuration) would otherwise still hold back the statuses this waits for; the keys of a
    timer the case may have left running (RESTORED_WHEN_IDLE) go back once the station is idle."""
    connectors = bench.config.connectors
    problem = await restore_security(bench, link, timeout)  # first: a station stuck on a profile may not connect
    if problem is not None:
        return problem
    if not await wait_connected(link, timeout):
        problem = await _bring_back_offline(bench, link, timeout)
        if problem is not None:
            return problem
    restored = await _restore(link, baseline, leave=RESTORED_WHEN_IDLE)
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
    why = await _idle(link, connectors, timeout)
    if why is None:
        return restored or await _restore(link, baseline)
    if not bench.has("mains"):
        return why
    # a firmware that hangs (not Available, or every request left unanswered) comes back only with its power: left
    # alone it would make every following case wait out its timeouts
    log.warning("station not idle (%s); power cycling it", why)
    await bench.power("mains").cycle(reason=f"return to idle: {why}")
    still = await _idle(link, connectors, timeout * 2)
    if still is not None:
        return f"{why}; after a power cycle, {still}"
    return await _restore(link, baseline)  # a charger that hung did not take it before


async def _idle(link: ChargerLink, connectors: int, timeout: float) -> str | None:
    """Every connector Available with nothing left in the charger's queue, and 1.3's clean slate; or why not."""
    try:
        if not await _settled(link, connectors, timeout):
            return f"connectors did not all become Available within {timeout:.0f} s (last statuses: {link.statuses})"
        await _clear_cache(link)
        await _clear_local_list(link)
        await _clear_charging_profiles(link)
    except NoAnswer as exc:
        return f"the charger is connected but answers no request ({exc})"
    return None


async def _restore(link: ChargerLink, baseline: dict[str, ConfigKey] | None,
                   leave: tuple[str, ...] = ()) -> str | None:
    if baseline is None:
        return None
    problems = await restore_configuration(link, baseline, leave)
    return "configuration keys not restored: " + "; ".join(problems) if problems else None


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
