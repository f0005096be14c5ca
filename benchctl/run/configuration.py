"""The charger's configuration keys as the Central System reads them: a baseline taken before the first case
(recorded for the report, read-only values included, as 7.3 of the test procedure asks) and restored after
every case, so a key one case changes never leaks into the next."""

from __future__ import annotations

import logging

from benchctl.csms.config_key import ConfigKey
from benchctl.csms.link import ChargerLink, ToolRequestError

log = logging.getLogger("benchctl.configuration")

# keys a station does not let the Central System set back: a lower SecurityProfile is Rejected over OCPP (the
# security whitepaper); the return to idle resets it locally (benchctl/run/security.py)
LOCAL_ONLY = ("SecurityProfile",)
# keys set back only once the station is idle: a timer the case left running counts with the case's value (the
# Preparing of an authorization without a cable ends after ConnectionTimeOut; set back first, the station would
# wait out the baseline's minute instead of the case's seconds). Every other key goes back before the wait, so a
# case's MinimumStatusDuration does not hold back the statuses the wait is for.
RESTORED_WHEN_IDLE = ("ConnectionTimeOut",)


async def read_configuration(link: ChargerLink) -> dict[str, ConfigKey]:
    """Every key the charger reports for a GetConfiguration without keys."""
    response, _ = await link.call("GetConfiguration", {})
    keys = {}
    for item in response.get("configurationKey", []) or []:
        keys[item["key"]] = ConfigKey.from_record(item)
    return keys


async def restore_configuration(link: ChargerLink, baseline: dict[str, ConfigKey],
                                leave: tuple[str, ...] = ()) -> list[str]:
    """Put every writable key but those in `leave` back to its baseline value; return what could not be
    restored."""
    try:
        current = await read_configuration(link)
    except ToolRequestError as exc:
        return [f"GetConfiguration failed: {exc}"]
    problems = []
    for name, base in baseline.items():
        now = current.get(name)
        if base.readonly or base.value is None or now is None or now.value == base.value:
            continue
        if name in LOCAL_ONLY or name in leave:
            continue
        try:
            response, _ = await link.call("ChangeConfiguration", {"key": name, "value": base.value})
        except ToolRequestError as exc:
            problems.append(f"{name}: {exc}")
            continue
        status = response.get("status")
        log.info("restored %s: %r -> %r (%s)", name, now.value, base.value, status)
        if status not in ("Accepted", "RebootRequired"):
            problems.append(f"{name}={base.value!r}: {status}")
    return problems
