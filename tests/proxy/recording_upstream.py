"""A minimal Central System for the proxy tests: records every message exactly as received (str for text frames,
bytes for binary), the handshake it was offered, and can refuse, answer, send and close on request."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Callable

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response


@dataclass
class UpstreamSide:
    cp_id: str
    ws: ServerConnection
    path: str
    authorization: str | None
    offered: list[str]
    received: list[str | bytes] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    ended: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[str | bytes]:
        async with asyncio.timeout(timeout):
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.received


class RecordingUpstream:
    def __init__(self, *, ssl_context: ssl.SSLContext | None = None, subprotocols: list[str] | None = None,
                 decode: bool | None = None) -> None:
        self.ssl_context = ssl_context
        self.subprotocols = ["ocpp1.6"] if subprotocols is None else subprotocols
        self.decode = decode
        self.refuse: dict[str, tuple[int, dict[str, str]]] = {}  # cp id -> (HTTP status, extra headers)
        self.reply: Callable[[str | bytes], str | None] | None = None  # answer to each message, if any
        self.reading = asyncio.Event()  # cleared: the upstream reads nothing (its socket fills up)
        self.reading.set()
        self.sides: dict[str, UpstreamSide] = {}
        self._new = asyncio.Condition()
        self._server: Server | None = None

    async def start(self) -> None:
        self._server = await serve(self._handle, "127.0.0.1", 0, ssl=self.ssl_context,
                                   subprotocols=self.subprotocols or None, process_request=self._process_request,
                                   ping_interval=None)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @property
    def url(self) -> str:
        assert self._server is not None
        scheme = "wss" if self.ssl_context else "ws"
        return f"{scheme}://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/ocpp"

    async def side(self, cp_id: str, timeout: float = 5.0) -> UpstreamSide:
        async with asyncio.timeout(timeout):
            async with self._new:
                await self._new.wait_for(lambda: cp_id in self.sides)
        return self.sides[cp_id]

    def _process_request(self, ws: ServerConnection, request: Request) -> Response | None:
        cp_id = request.path.rsplit("/", 1)[-1]
        if cp_id in self.refuse:
            status, headers = self.refuse[cp_id]
            response = ws.respond(status, f"refused by the test upstream: {HTTPStatus(status).phrase}\n")
            for name, value in headers.items():
                response.headers[name] = value
            return response
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        cp_id = ws.request.path.rsplit("/", 1)[-1]
        offered = [p.strip() for v in ws.request.headers.get_all("Sec-WebSocket-Protocol") for p in v.split(",")]
        side = UpstreamSide(cp_id, ws, ws.request.path, ws.request.headers.get("Authorization"), offered)
        async with self._new:
            self.sides[cp_id] = side
            self._new.notify_all()
        try:
            while True:
                await self.reading.wait()
                message = await ws.recv(self.decode)
                side.received.append(message)
                side.arrived.set()
                if self.reply is not None:
                    answer = self.reply(message)
                    if answer is not None:
                        await ws.send(answer)
        except ConnectionClosed:
            pass
        finally:
            side.ended.set()
