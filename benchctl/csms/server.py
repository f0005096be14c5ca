"""The WebSocket server chargers dial: ws://host:port/<path>/<chargePointId>, subprotocol ocpp1.6; with a TLS port
also wss://host:tls_port/<path>/<chargePointId> (security profiles 2 and 3, see security.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime, timezone
from http import HTTPStatus
from typing import Any

import websockets
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from .capture import Capture
from .link import ChargerLink
from .responder import Responder
from .security import CsmsSecurity, StationSecurity, describe_connection
from .session import CSSession, RecordingConnection

log = logging.getLogger("benchctl.csms")


class CentralSystem:
    def __init__(self, capture: Capture, values: dict[str, Any], host: str = "127.0.0.1", port: int = 0,
                 path: str = "/ocpp", response_timeout: float = 30.0, security: CsmsSecurity | None = None) -> None:
        self.capture = capture
        self.values = values
        self.host = host
        self.requested_port = port
        self.path = "/" + path.strip("/")
        self.response_timeout = response_timeout
        self.security = security or CsmsSecurity()
        self.links: dict[str, ChargerLink] = {}
        self._server: Server | None = None
        self._tls_server: Server | None = None

    async def start(self) -> None:
        # websockets refuses (HTTP 400) a handshake that does not offer the ocpp1.6 subprotocol
        self._server = await serve(self._handle, self.host, self.requested_port, subprotocols=["ocpp1.6"],
                                   ping_interval=None, process_request=self._process_request)
        if self.security.tls_port is not None:
            self._tls_server = await serve(self._handle, self.host, self.security.tls_port, subprotocols=["ocpp1.6"],
                                           ping_interval=None, process_request=self._process_request,
                                           ssl=self.security.server_context())

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
                                                      StationSecurity(self.security))
        return self.links[charge_point_id]

    async def _process_request(self, ws: ServerConnection, request: Request) -> Response | None:
        """Before the upgrade: record what the charger presented and accept it or refuse it (401 / 403)."""
        prefix = self.path.rstrip("/") + "/"
        cp_id = request.path[len(prefix):] if request.path.startswith(prefix) else ""
        if not cp_id or "/" in cp_id:
            return None  # _handle closes it, naming the expected path
        offered = ",".join(request.headers.get_all("Sec-WebSocket-Protocol"))
        if "ocpp1.6" not in [p.strip() for p in offered.split(",")]:
            return None  # not an OCPP 1.6 charger: websockets refuses the handshake (400)
        link = self.link(cp_id)
        record = describe_connection(request.path, cp_id, request.headers.get("Authorization"),
                                     ws.transport.get_extra_info("ssl_object"))
        refused, reason = link.security.judge(record)
        record.update(index=len(link.security.connections), accepted=refused is None, reason=reason,
                      status=int(refused or HTTPStatus.SWITCHING_PROTOCOLS), mono=time.monotonic(),
                      at=datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"))
        if refused is None:
            link.security.accepted(record)
            ws.security_record = record  # type: ignore[attr-defined]
        else:
            log.warning("%s: connection refused (%s): %s", cp_id, int(refused), reason)
        await link.connection_attempt(record)
        if refused is None:
            return None
        response = ws.respond(refused, reason + "\n")
        if refused == HTTPStatus.UNAUTHORIZED:
            response.headers["WWW-Authenticate"] = 'Basic realm="OCPP", charset="UTF-8"'
        return response

    async def _handle(self, ws: ServerConnection) -> None:
        path = ws.request.path if ws.request is not None else ""
        prefix = self.path.rstrip("/") + "/"
        cp_id = path[len(prefix):] if path.startswith(prefix) else ""
        if not cp_id or "/" in cp_id:
            await ws.close(1008, f"expected {prefix}<chargePointId>")
            return
        link = self.link(cp_id)
        if link.session is not None:
            # the charger reconnected before we noticed the old socket died (power loss, link loss)
            link.session.connection.ws.transport.abort()
        session = CSSession(RecordingConnection(ws, self.capture, link), self.response_timeout)
        record = getattr(ws, "security_record", None)
        if record is not None:
            record["attached"] = True  # from here (no await before attach) the link's session is this connection's
        await link.attach(session)
        try:
            await session.start()
        except websockets.ConnectionClosed:
            log.info("%s disconnected", cp_id)
        finally:
            await link.detach(session)

    async def stop(self) -> None:
        for server in (self._server, self._tls_server):
            if server is not None:
                server.close()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(server.wait_closed(), 5)
        self._server = self._tls_server = None
