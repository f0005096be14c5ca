"""The WebSocket server chargers dial: ws://host:port/<path>/<chargePointId>, subprotocol ocpp1.6."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import websockets
from websockets.asyncio.server import Server, ServerConnection, serve

from .capture import Capture
from .link import ChargerLink
from .responder import Responder
from .session import CSSession, RecordingConnection

log = logging.getLogger("benchctl.csms")


class CentralSystem:
    def __init__(self, capture: Capture, values: dict[str, Any], host: str = "127.0.0.1", port: int = 0,
                 path: str = "/ocpp", response_timeout: float = 30.0) -> None:
        self.capture = capture
        self.values = values
        self.host = host
        self.requested_port = port
        self.path = "/" + path.strip("/")
        self.response_timeout = response_timeout
        self.links: dict[str, ChargerLink] = {}
        self._server: Server | None = None

    async def start(self) -> None:
        # websockets refuses (HTTP 400) a handshake that does not offer the ocpp1.6 subprotocol
        self._server = await serve(self._handle, self.host, self.requested_port, subprotocols=["ocpp1.6"],
                                   ping_interval=None)

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
            self.links[charge_point_id] = ChargerLink(charge_point_id, Responder(self.values))
        return self.links[charge_point_id]

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
        await link.attach(session)
        try:
            await session.start()
        except websockets.ConnectionClosed:
            log.info("%s disconnected", cp_id)
        finally:
            await link.detach(session)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 5)
            self._server = None
