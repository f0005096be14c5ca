"""The Local Auth List Management profile (OCPP 1.6, sections 3.5.2, 5.10 and 5.15): a list of idTags the Central
System installs with SendLocalList (Full or Differential updates, each with a listVersion) and reads back the
version of with GetLocalListVersion. Authorization consults it before the cache (see authorization.py).

The list lives in the station's flash next to the configuration, so it survives a power loss. On real hardware
the list often sits in a separate memory (an EEPROM); the sim bench can pull that memory's write-protect line
with a relay (World.local_list_storage_failure), which is how TC_043_3's "a station in which storing the list
fails" is made.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ocpp.exceptions import NotImplementedError as NotImplementedCallError
from ocpp.routing import on
from ocpp.v16 import call_result

from .config_keys import Key

if TYPE_CHECKING:
    from .station import SimStation

PROFILE = "LocalAuthListManagement"
# the limits pics/sim.yaml declares (local_auth_list_max_length, send_local_list_max_length); TC_043 needs >= 5
MAX_LENGTH = 20
SEND_MAX_LENGTH = 10


def _bool(value: str) -> bool:
    return value.lower() in ("true", "false")


def _expired(id_tag_info: dict[str, Any]) -> bool:
    expiry = id_tag_info.get("expiry_date")
    if not isinstance(expiry, str):
        return False
    try:
        at = datetime.fromisoformat(expiry.replace("Z", "+00:00"))
    except ValueError:
        return False
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return at <= datetime.now(timezone.utc)


class LocalAuthList:
    """The installed list (idTag -> idTagInfo, snake_case as the ocpp library hands it over) and its version."""

    def __init__(self, station: "SimStation") -> None:
        self.station = station
        self.version = 0
        self.entries: dict[str, dict[str, Any]] = {}
        if station.settings.supports(PROFILE):  # the profile's required keys (OCPP 1.6, 9.2)
            station.keys.update({k.name: k for k in [
                Key("LocalAuthListEnabled", "true", check=_bool),
                Key("LocalAuthListMaxLength", str(MAX_LENGTH), readonly=True),
                Key("SendLocalListMaxLength", str(SEND_MAX_LENGTH), readonly=True),
            ]})

    def enabled(self) -> bool:
        """Whether the list is in use: the profile is built in and LocalAuthListEnabled is true."""
        key = self.station.keys.get("LocalAuthListEnabled")
        return self.station.settings.supports(PROFILE) and key is not None and key.value.lower() == "true"

    def status(self, id_tag: str) -> str | None:
        """The idTag's status on the list (Expired once its expiryDate has passed), None when it is not listed or
        the list is not in use: authorization then falls back on the cache."""
        if not self.enabled() or self.station.faults.active("local_list_not_consulted"):
            return None
        info = self.entries.get(id_tag)
        if info is None:
            return None
        status = str(info.get("status"))
        return "Expired" if status == "Accepted" and _expired(info) else status

    def reported_version(self) -> int:
        """GetLocalListVersion: -1 without a usable list, 0 for an empty one (OCPP 1.6, 5.10)."""
        if not self.enabled() and not self.station.faults.active("local_list_disabled_still_answers"):
            return -1
        if not self.entries and not self.station.faults.active("empty_local_list_keeps_version"):
            return 0
        return self.version

    def update(self, version: int, update_type: str, items: list[dict[str, Any]]) -> str:
        """SendLocalList: the UpdateStatus OCPP 1.6 (5.15, 7.44) prescribes."""
        faults = self.station.faults
        if not self.enabled() and not faults.active("local_list_disabled_still_answers"):
            return "NotSupported"
        if len(items) > SEND_MAX_LENGTH:
            return "Failed"  # more than SendLocalListMaxLength entries in one message
        if update_type == "Differential":
            if version <= self.version and not faults.active("differential_version_unchecked"):
                return "VersionMismatch"
            if faults.active("differential_update_failed"):
                return "Failed"  # the bug: only Full updates were implemented
            entries = dict(self.entries)
            for item in items:
                if item.get("id_tag_info") is None:
                    entries.pop(item["id_tag"], None)  # a differential entry without idTagInfo removes the idTag
                else:
                    entries[item["id_tag"]] = item["id_tag_info"]
        else:
            # a Full list replaces the old one; an entry without idTagInfo cannot authorize anything
            entries = {i["id_tag"]: i["id_tag_info"] for i in items if i.get("id_tag_info") is not None}
        if len(entries) > MAX_LENGTH:
            return "Failed"  # the list would outgrow LocalAuthListMaxLength
        if self.station.world.local_list_storage_failure:
            # the write did not go through: the old list stays; firmware that does not check says Accepted
            return "Accepted" if faults.active("local_list_write_unchecked") else "Failed"
        self.entries, self.version = entries, version
        return "Accepted"


class LocalListHandlers:
    """SendLocalList and GetLocalListVersion, a mixin of SimChargePoint (hil_sim/charger/handlers.py)."""

    station: "SimStation"

    def _local_list_request(self) -> LocalAuthList:
        faults = self.station.faults
        if faults.active("local_list_not_implemented") and not self.station.settings.supports(PROFILE):
            # the bug: a build without the profile has no handler at all, so the request gets a CALLERROR
            # NotImplemented instead of the NotSupported answer (or CALLERROR NotSupported) the spec asks for
            raise NotImplementedCallError(description="the local authorization list is not implemented")
        return self.station.local_list

    @on("GetLocalListVersion")
    def on_get_local_list_version(self, **_: Any) -> call_result.GetLocalListVersion:
        return call_result.GetLocalListVersion(list_version=self._local_list_request().reported_version())

    @on("SendLocalList")
    def on_send_local_list(self, list_version: int, update_type: str,
                           local_authorization_list: list[dict[str, Any]] | None = None,
                           **_: Any) -> call_result.SendLocalList:
        status = self._local_list_request().update(list_version, update_type, local_authorization_list or [])
        return call_result.SendLocalList(status=status)
