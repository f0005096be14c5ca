"""The OCPP-J proxy: chargers dial ws://host:port/<path>/<chargePointId>; for each, the proxy dials
<upstream>/<chargePointId> (ws:// or wss://) before it accepts the charger, so the charger gets exactly the answer
the upstream gave: the subprotocol it selected, or its refusal (401, 403, 404, ...) with the same status."""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import ssl
import time
from http import HTTPStatus
from typing import Any, Callable

from websockets.asyncio.client import connect
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI
from websockets.frames import CloseCode
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

from benchctl.csms.capture import Capture

from .bridge import Bridge, charge_point_id
from .tls import UpstreamTls, upstream_context
from .wire import RawClientConnection, RawServerConnection

log = logging.getLogger("benchctl.proxy")

# headers of the upstream's refusal that describe that one HTTP exchange, not the refusal itself
HOP_HEADERS = {"connection", "content-length", "transfer-encoding", "keep-alive", "upgrade", "date", "server"}

# Both sides: no keepalive pings of the proxy's own (the charger's and the upstream's pings are answered by the
# hop they reach), no compression (messages pass as received; deflate would only add latency on a lab network),
# and no size limit stricter than the two ends'.
LINK_OPTIONS: dict[str, Any] = {"ping_interval": None, "compression": None, "max_size": None}


class OcppProxy:
    def __init__(self, capture: Capture, upstream: str, *, host: str = "127.0.0.1", port: int = 0,
                 path: str = "/ocpp", upstream_tls: UpstreamTls | ssl.SSLContext | None = None,
                 downstream_ssl: ssl.SSLContext | None = None, open_timeout: float = 10.0) -> None:
        if not upstream.lower().startswith(("ws://", "wss://")):
            raise ValueError(f"upstream {upstream!r}: expected a ws:// or wss:// URL")
        try:
            uri = parse_uri(upstream)
        except InvalidURI as exc:
            raise ValueError(f"upstream {upstream!r}: {exc}") from None
        if uri.query:
            raise ValueError(f"upstream {upstream!r}: the charge point id is appended to the path; no query here")
        self.capture = capture
        self.upstream = upstream.rstrip("/")
        self.upstream_ssl = upstream_context(upstream, upstream_tls)
        self.host = host
        self.requested_port = port
        self.path = "/" + path.strip("/")
        self.downstream_ssl = downstream_ssl
        self.open_timeout = open_timeout
        self.bridges: set[Bridge] = set()
        # told (charge point id, wall time) of each connection bridged: a follow run's Appendix D judges a status
        # queued before it as a replay; the capture stays frames only
        self.connection_listeners: list[Callable[[str, float], None]] = []
        self._server: Server | None = None

    async def start(self) -> None:
        self._server = await serve(
            self._handle, self.host, self.requested_port, ssl=self.downstream_ssl,
            process_request=self._process_request, select_subprotocol=self._select_subprotocol,
            create_connection=RawServerConnection, server_header=None,
            # the charger waits while the upstream is dialed: its handshake may take the upstream's time and more
            open_timeout=self.open_timeout + 5, **LINK_OPTIONS)

    async def stop(self) -> None:
        """Close every charger (1001 going away, mirrored upstream) and stop listening."""
        if self._server is None:
            return
        self._server.close()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._server.wait_closed(), 10)
        self._server = None

    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "wss" if self.downstream_ssl is not None else "ws"
        return f"{scheme}://{host}:{self.port}{self.path}"

    def upstream_url(self, segment: str, query: str = "") -> str:
        return f"{self.upstream}/{segment}" + (f"?{query}" if query else "")

    async def _process_request(self, ws: ServerConnection, request: Request) -> Response | None:
        assert isinstance(ws, RawServerConnection)
        target, _, query = request.path.partition("?")
        prefix = self.path.rstrip("/") + "/"
        segment = target[len(prefix):] if target.startswith(prefix) else ""
        if not segment or "/" in segment:
            return ws.respond(HTTPStatus.NOT_FOUND, f"expected {prefix}<chargePointId>\n")
        offered = [Subprotocol(p.strip()) for value in request.headers.get_all("Sec-WebSocket-Protocol")
                   for p in value.split(",") if p.strip()]
        headers = {name: request.headers[name] for name in ("Authorization",) if name in request.headers}
        url = self.upstream_url(segment, query)
        try:
            upstream = await connect(url, subprotocols=offered or None, additional_headers=headers,
                                     user_agent_header=request.headers.get("User-Agent"), ssl=self.upstream_ssl,
                                     open_timeout=self.open_timeout, create_connection=RawClientConnection,
                                     **LINK_OPTIONS)
        except InvalidStatus as exc:
            log.warning("%s: upstream refused the connection: HTTP %d", segment, exc.response.status_code)
            return refusal_like(exc.response)
        except asyncio.TimeoutError:
            return ws.respond(HTTPStatus.GATEWAY_TIMEOUT, f"upstream {url} did not answer within "
                                                          f"{self.open_timeout:g} s\n")
        except (OSError, InvalidHandshake, ssl.SSLError) as exc:
            log.warning("%s: cannot reach upstream %s: %s", segment, url, exc)
            return ws.respond(HTTPStatus.BAD_GATEWAY, f"upstream {url}: {exc}\n")
        assert isinstance(upstream, RawClientConnection)
        if ws.transport.is_closing():  # the charger gave up while the upstream was dialed
            await upstream.close(CloseCode.GOING_AWAY, "charger gone")
            return None
        ws.upstream, ws.charge_point_id = upstream, charge_point_id(segment)
        return None

    def _select_subprotocol(self, ws: ServerConnection, offered: object) -> Subprotocol | None:
        # the charger gets the upstream's choice (None when the upstream selected none)
        upstream = getattr(ws, "upstream", None)
        return upstream.subprotocol if upstream is not None else None

    async def _handle(self, ws: ServerConnection) -> None:
        assert isinstance(ws, RawServerConnection)
        upstream = ws.upstream
        if upstream is None:  # cannot happen: every accepted handshake dialed the upstream first
            await ws.close(CloseCode.INTERNAL_ERROR, "no upstream connection")
            return
        ws.bridged = True
        bridge = Bridge(self.capture, ws.charge_point_id, ws, upstream)
        self.bridges.add(bridge)
        opened = time.time()
        for listener in list(self.connection_listeners):
            listener(bridge.cp_id, opened)
        log.info("%s: connected through the proxy to %s", bridge.cp_id, self.upstream)
        try:
            await bridge.run()
        finally:
            self.bridges.discard(bridge)


def refusal_like(upstream: Response) -> Response:
    """The upstream's refusal as the charger's: same status, reason, body and meaningful headers."""
    headers = Headers([(k, v) for k, v in upstream.headers.raw_items() if k.lower() not in HOP_HEADERS])
    body = bytes(upstream.body or b"")
    headers["Date"] = email.utils.formatdate(usegmt=True)
    headers["Connection"] = "close"
    headers["Content-Length"] = str(len(body))
    return Response(upstream.status_code, upstream.reason_phrase, headers, body)
