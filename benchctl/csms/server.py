"""The WebSocket server chargers dial: ws://host:port/<path>/<chargePointId>, subprotocol ocpp1.6; with a TLS port
also wss://host:tls_port/<path>/<chargePointId> (security profiles 2 and 3, see security.py).

Every connection attempt gets a number of its own and is recorded in the capture (who, when, what became of it).
A second connection for a charge point whose first one is still open replaces it. When the first one still
answers a ping, two live clients claim the id: with credentials (profiles 1-3) the newcomer proved it is the
station; without (profile 0) nobody can tell which is the charger, and the link marks itself contested so the
running case ends as ERROR instead of judging an impostor's messages. A first connection that no longer answers
(half-open after a link loss) is simply the charger's previous life.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from datetime import datetime, timezone
from http import HTTPStatus
from typing import Any

import websockets
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from .capture import Capture
from .handshake import peer_of, requested_id, shown
from .link import ChargerLink
from .responder import Responder
from .security import CsmsSecurity, StationSecurity, describe_connection
from .session import CSSession, RecordingConnection

log = logging.getLogger("benchctl.csms")

# OCPP 1.6 frames a charger sends can be large (a GetConfiguration answer with every key, a DataTransfer);
# websockets' own default of 1 MiB is the least a bench should take
DEFAULT_MAX_FRAME_BYTES = 4 << 20
# how long a connection that another one wants to replace has to answer a ping to count as alive
TAKEOVER_PROBE_S = 3.0


def utc_stamp() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class CentralSystem:
    def __init__(self, capture: Capture, values: dict[str, Any], host: str = "127.0.0.1", port: int = 0,
                 path: str = "/ocpp", response_timeout: float = 30.0, security: CsmsSecurity | None = None,
                 max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES, takeover_probe_s: float = TAKEOVER_PROBE_S) -> None:
        self.capture = capture
        self.values = values
        self.host = host
        self.requested_port = port
        self.path = "/" + path.strip("/")
        self.response_timeout = response_timeout
        self.security = security or CsmsSecurity()
        self.max_frame_bytes = max_frame_bytes
        self.takeover_probe_s = takeover_probe_s
        self.links: dict[str, ChargerLink] = {}
        self.refused: list[dict[str, Any]] = []  # handshakes refused before any link was involved (path, id)
        self._numbers = itertools.count(1)  # every connection attempt's own number
        self._server: Server | None = None
        self._tls_server: Server | None = None

    async def start(self) -> None:
        # websockets refuses (HTTP 400) a handshake that does not offer the ocpp1.6 subprotocol
        options: dict[str, Any] = dict(subprotocols=["ocpp1.6"], ping_interval=None, max_size=self.max_frame_bytes,
                                       process_request=self._process_request)
        self._server = await serve(self._handle, self.host, self.requested_port, **options)
        if self.security.tls_port is not None:
            self._tls_server = await serve(self._handle, self.host, self.security.tls_port,
                                           ssl=self.security.server_context(), **options)

    @property
    def tls_url(self) -> str | None:
        """wss:// for security profiles 2 and 3; None without a TLS listener."""
        if self._tls_server is None:
            return None
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"wss://{host}:{int(self._tls_server.sockets[0].getsockname()[1])}{self.path}"

    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}{self.path}"

    def link(self, charge_point_id: str) -> ChargerLink:
        if charge_point_id not in self.links:
            self.links[charge_point_id] = ChargerLink(charge_point_id, Responder(self.values),
                                                      StationSecurity(self.security, charge_point_id))
        return self.links[charge_point_id]

    async def _process_request(self, ws: ServerConnection, request: Request) -> Response | None:
        """Before the upgrade: record what the charger presented and accept it or refuse it (400 / 401 / 403 / 404)."""
        number, peer = next(self._numbers), peer_of(ws.remote_address)
        cp_id, status, reason = requested_id(request.path, self.path.rstrip("/") + "/")
        if cp_id is None:
            return self._refuse_early(ws, number, peer, request.path, status, reason)
        offered = ",".join(request.headers.get_all("Sec-WebSocket-Protocol"))
        if "ocpp1.6" not in [p.strip() for p in offered.split(",")]:
            return self._refuse_early(ws, number, peer, request.path, HTTPStatus.BAD_REQUEST,
                                      "the handshake does not offer the ocpp1.6 subprotocol", cp_id)
        link = self.link(cp_id)
        record = describe_connection(request.path, cp_id, request.headers.get("Authorization"),
                                     ws.transport.get_extra_info("ssl_object"))
        refused, reason = link.security.judge(record)
        record.update(index=len(link.security.connections), accepted=refused is None, reason=reason,
                      status=int(refused or HTTPStatus.SWITCHING_PROTOCOLS), mono=time.monotonic(), at=utc_stamp(),
                      connection=number, peer=peer)
        self.capture.event(cp_id, f"connection #{number} from {peer}: "
                                  + (f"security profile {record['security_profile']}, accepted" if refused is None
                                     else f"refused with HTTP {int(refused)}: {reason}"),
                           {"kind": "open" if refused is None else "refused", "connection": number, "peer": peer,
                            "status": record["status"], "reason": reason})
        if refused is None:
            link.security.accepted(record)
            ws.security_record = record  # type: ignore[attr-defined]
        else:
            log.warning("%s: connection #%d from %s refused (%s): %s", cp_id, number, peer, int(refused), reason)
        await link.connection_attempt(record)
        if refused is None:
            return None
        response = ws.respond(refused, reason + "\n")
        if refused == HTTPStatus.UNAUTHORIZED:
            response.headers["WWW-Authenticate"] = 'Basic realm="OCPP", charset="UTF-8"'
        return response

    def _refuse_early(self, ws: ServerConnection, number: int, peer: str, path: str, status: HTTPStatus,
                      reason: str, cp_id: str = "") -> Response:
        """A handshake refused before it reaches a charger's link: no usable id, or not OCPP 1.6. It is logged, kept
        for `benchctl check` and captured (under the id when it had a usable one)."""
        record = {"connection": number, "peer": peer, "path": path, "status": int(status), "reason": reason,
                  "at": utc_stamp(), "charge_point_id": cp_id}
        self.refused.append(record)
        log.warning("connection #%d from %s refused (%d): %s (path %s)", number, peer, int(status), reason,
                    shown(path))
        self.capture.event(cp_id, f"connection #{number} from {peer} to {shown(path)}: refused with HTTP "
                                  f"{int(status)}: {reason}", {"kind": "refused"} | record)
        return ws.respond(status, reason + "\n")

    async def _handle(self, ws: ServerConnection) -> None:
        record: dict[str, Any] | None = getattr(ws, "security_record", None)
        if record is None:  # _process_request accepts only with a record; nothing else gets here
            await ws.close(1011, "no handshake record")
            return
        cp_id, number = record["charge_point_id"], record["connection"]
        link = self.link(cp_id)
        if link.session is not None:
            await self._replace(link, record)
        session = CSSession(RecordingConnection(ws, self.capture, link, record), self.response_timeout)
        record["attached"] = True  # from here (no await before attach) the link's session is this connection's
        await link.attach(session, record)
        try:
            await session.start()
        except websockets.ConnectionClosed:
            log.info("%s disconnected (connection #%d)", cp_id, number)
        finally:
            self.capture.event(cp_id, f"connection #{number} closed: {_close_text(ws)}",
                               {"kind": "closed", "connection": number, "peer": record["peer"]} | _close_codes(ws))
            await link.detach(session)

    async def _replace(self, link: ChargerLink, record: dict[str, Any]) -> None:
        """A new connection for a charge point whose previous one is still the link's: the previous one is closed
        either way; whether that was a takeover depends on whether it still answered."""
        assert link.session is not None
        old_ws, old = link.session.connection.ws, link.session.connection.record
        alive = await _answers_ping(old_ws, self.takeover_probe_s)
        number, cp_id = record["connection"], link.charge_point_id
        if not alive:
            # the charger reconnected before we noticed the old socket died (power loss, link loss, half-open)
            old_ws.transport.abort()
            self.capture.event(cp_id, f"connection #{number} replaces #{old['connection']}, which no longer "
                                      f"answered", {"kind": "replaced", "connection": number,
                                                    "previous": old["connection"]})
            return
        takeover = link.takeover(old, record)
        log.warning("%s", takeover["text"])
        self.capture.event(cp_id, takeover["text"], {"kind": "takeover", "connection": number,
                                                     "previous": old["connection"], "peer": record["peer"],
                                                     "previous_peer": old["peer"],
                                                     "contested": takeover["contested"]})
        with contextlib.suppress(asyncio.TimeoutError, websockets.ConnectionClosed):
            await asyncio.wait_for(old_ws.close(1008, f"connection #{number} took over charge point {cp_id}"), 2)
        old_ws.transport.abort()

    async def stop(self) -> None:
        for server in (self._server, self._tls_server):
            if server is not None:
                server.close()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(server.wait_closed(), 5)
        self._server = self._tls_server = None


def _close_codes(ws: ServerConnection) -> dict[str, Any]:
    """The close frames each side sent (None: none, the TCP connection just ended)."""
    sent, received = ws.protocol.close_sent, ws.protocol.close_rcvd
    return {"sent": None if sent is None else {"code": int(sent.code), "reason": sent.reason},
            "received": None if received is None else {"code": int(received.code), "reason": received.reason}}


def _close_text(ws: ServerConnection) -> str:
    codes = _close_codes(ws)
    said = [f"{who} {codes[key]['code']} {codes[key]['reason']}".rstrip() for key, who in
            (("sent", "the Central System sent"), ("received", "the charger sent")) if codes[key] is not None]
    return "; ".join(said) if said else "no close frame (the TCP connection ended)"


async def _answers_ping(ws: ServerConnection, timeout: float) -> bool:
    try:
        pong = await ws.ping()
        await asyncio.wait_for(pong, timeout)
    except (websockets.ConnectionClosed, asyncio.TimeoutError, RuntimeError):
        return False
    return True
