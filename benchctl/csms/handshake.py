"""What the Central System reads from an HTTP upgrade request before anything else: the charge point id in the
path, whether it is one it will serve, and who is asking.

OCPP-J puts the id in the last segment of the URL. An id is also a link's name, a capture's `cp` and part of
report file names, so one that could escape a path or a log line (`/`, `..`, control characters) or is longer
than the 48 characters of an OCPP identity (the OCPP 2.x identifierString 1.6 chargers are also held to) is
refused at the handshake.
"""

from __future__ import annotations

import unicodedata
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote, urlsplit

MAX_ID_LENGTH = 48


def charge_point_id_problem(cp_id: str) -> str | None:
    """Why `cp_id` (percent-decoded) cannot be a charge point's id, else None."""
    if not cp_id:
        return "no charge point id after the path"
    if len(cp_id) > MAX_ID_LENGTH:
        return f"the charge point id has {len(cp_id)} characters (at most {MAX_ID_LENGTH})"
    if "/" in cp_id or "\\" in cp_id:
        return "the charge point id contains a '/' or '\\'"
    if ".." in cp_id:
        return "the charge point id contains '..'"
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in cp_id):
        return "the charge point id contains control characters"
    return None


def requested_id(path: str, prefix: str) -> tuple[str | None, HTTPStatus, str]:
    """The charge point id the request path names, or None with the HTTP status and reason to refuse it."""
    where = unquote(urlsplit(path).path, errors="replace")
    if not where.startswith(prefix):
        return None, HTTPStatus.NOT_FOUND, f"no OCPP endpoint at this path; chargers dial {prefix}<chargePointId>"
    cp_id = where[len(prefix):]
    problem = charge_point_id_problem(cp_id)
    if problem is not None:
        return None, HTTPStatus.NOT_FOUND if not cp_id else HTTPStatus.BAD_REQUEST, problem
    return cp_id, HTTPStatus.OK, ""


def shown(text: str, limit: int = 60) -> str:
    """A value from the network as a log line may show it: escaped, and cut short."""
    quoted = repr(text)
    return quoted if len(quoted) <= limit else quoted[:limit] + f"... ({len(text)} characters)"


def peer_of(remote_address: Any) -> str:
    """host:port of the other end ([host]:port for IPv6), '?' when the socket no longer says."""
    if not remote_address:
        return "?"
    host, port = remote_address[0], remote_address[1]
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
