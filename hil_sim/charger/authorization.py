"""Whether the station may accept an idTag by itself (Local Authorization List, authorization cache, offline
rules), or must ask the Central System. The keys are OCPP 1.6's: AuthorizationCacheEnabled, LocalPreAuthorize,
LocalAuthorizeOffline, AllowOfflineTxForUnknownId."""

from __future__ import annotations

from typing import Any

from .config_keys import Key


def _on(keys: dict[str, Key], name: str) -> bool:
    return keys[name].value.lower() == "true"


def local_decision(id_tag: str, online: bool, keys: dict[str, Key], cache: dict[str, str],
                   listed: str | None = None) -> str | None:
    """The idTag's status decided locally, or None when the Central System must be asked. `listed` is its
    status on the Local Authorization List (local_list.py): a list entry takes precedence over the cache."""
    cached = cache.get(id_tag) if _on(keys, "AuthorizationCacheEnabled") else None
    cached = listed if listed is not None else cached
    if online:
        # with LocalPreAuthorize a cached Accepted starts at once, without waiting for Authorize.conf
        return "Accepted" if cached == "Accepted" and _on(keys, "LocalPreAuthorize") else None
    if cached is not None and _on(keys, "LocalAuthorizeOffline"):
        return cached
    if cached is None and _on(keys, "AllowOfflineTxForUnknownId"):
        return "Accepted"
    return "Invalid"


def remember(cache: dict[str, str], keys: dict[str, Key], id_tag: str, id_tag_info: dict[str, Any] | None) -> None:
    """Every idTagInfo the Central System sends updates the cache (OCPP 1.6, 3.5.1)."""
    if id_tag_info and _on(keys, "AuthorizationCacheEnabled"):
        cache[id_tag] = str(id_tag_info.get("status"))
