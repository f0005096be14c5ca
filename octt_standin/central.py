"""The stand-in tool's Central System: the WebSocket endpoint the charger (or a proxy) dials, answering like the
tool does outside a case step, recording every frame as raw text and every request the charger sent, so a case
can wait for what arrives after it started watching.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

import websockets
from ocpp.charge_point import camel_to_snake_case, remove_nones, snake_to_camel_case
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.typing import Subprotocol

from benchctl.csms.capture import TO_CHARGER, TO_CSMS

log = logging.getLogger("octt_standin")

CALL = 2  # OCPP-J message type of a request

Answer = dict[str, Any]
Override = Callable[["Request"], "Answer | None"]

# What a charge point sends and the tool answers (OCPP 1.6 Core, Firmware Management, security extension).
ACK_ONLY = ("StatusNotification", "MeterValues", "DiagnosticsStatusNotification", "FirmwareStatusNotification",
            "SecurityEventNotification", "LogStatusNotification", "SignedFirmwareStatusNotification")
CHARGER_ACTIONS = ("Authorize", "BootNotification", "DataTransfer", "Heartbeat", "StartTransaction",
                   "StopTransaction", *ACK_ONLY)


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class ToolFrame:
    """One WebSocket frame exactly as the tool received or sent it."""

    index: int
    direction: str  # TO_CSMS (charger -> tool) or TO_CHARGER (tool -> charger)
    charge_point_id: str
    raw: str
    wall: float
    mono: float


@dataclass(frozen=True)
class Request:
    """A request from the charger, in arrival order."""

    index: int
    charge_point_id: str
    action: str
    payload: dict[str, Any]
    wall: float
    mono: float

    def local_time(self) -> str:
        """As the tool prints it in its lists: local time with offset, milliseconds."""
        return datetime.fromtimestamp(self.wall).astimezone().isoformat(timespec="milliseconds")


class _Recorder:
    """The connection the ocpp library reads and writes: every frame is recorded before it is handed on."""

    def __init__(self, ws: ServerConnection, central: "ToolCentral", cp_id: str) -> None:
        self.ws = ws
        self.central = central
        self.cp_id = cp_id
        self.calls: dict[str, dict[str, Any]] = {}  # unique id -> payload of requests from the charger

    async def recv(self) -> str:
        raw = await self.ws.recv()
        text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
        self.central.record(TO_CSMS, self.cp_id, text)
        with contextlib.suppress(ValueError, TypeError, IndexError):
            message = json.loads(text)
            if message[0] == CALL and isinstance(message[3], dict):
                self.calls[message[1]] = message[3]  # the payload as sent, for the handler
        return text

    async def send(self, raw: str) -> None:
        self.central.record(TO_CHARGER, self.cp_id, raw)
        await self.ws.send(raw)


class ToolChargePoint(ChargePoint):
    """One connection of a charger, routed and schema-checked by the ocpp library."""

    def __init__(self, cp_id: str, connection: _Recorder, central: "ToolCentral") -> None:
        super().__init__(cp_id, connection, response_timeout=central.response_timeout)
        self.central = central
        self.ws = connection.ws
        self.recorder = connection

    async def _handle(self, action: str, unique_id: str) -> Any:
        payload = self.recorder.calls.pop(unique_id)
        answer = await self.central.received(self.id, action, payload)
        return getattr(call_result, action)(**camel_to_snake_case(answer))


def _handler(action: str) -> Any:
    async def handle(self: ToolChargePoint, call_unique_id: str, **_: Any) -> Any:
        return await self._handle(action, call_unique_id)

    handle.__name__ = f"on_{action}"
    return on(action)(handle)


for _action in CHARGER_ACTIONS:
    setattr(ToolChargePoint, f"on_{_action}", _handler(_action))


class ToolCentral:
    def __init__(self, values: dict[str, Any], host: str = "127.0.0.1", port: int = 0, path: str = "/ocpp",
                 response_timeout: float = 30.0) -> None:
        self.values = values
        self.host = host
        self.requested_port = port
        self.path = "/" + path.strip("/")
        self.response_timeout = response_timeout
        self.frames: list[ToolFrame] = []
        self.requests: list[Request] = []
        self.answers: dict[int, Answer] = {}  # request index -> the payload the tool answered with
        self.sessions: dict[str, ToolChargePoint] = {}
        self.sut: str | None = None  # the charge point that connected last: the one under test
        self.statuses: dict[int, str] = {}  # connectorId -> last status the charger reported
        self.open_transactions: dict[int, int] = {}  # transactionId -> connectorId
        self.last_transaction_id: int | None = None
        self.overrides: dict[str, Override] = {}  # a case step's own answer; None from it: the default
        self._tx_ids = itertools.count(1)
        self._arrival: asyncio.Future[None] | None = None
        self._connected = asyncio.Event()
        self._server: Server | None = None

    # ----------------------------------------------------------------- server
    async def start(self) -> None:
        self._server = await serve(self._serve, self.host, self.requested_port, subprotocols=[Subprotocol("ocpp1.6")],
                                   ping_interval=None)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 5)
            self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        port = int(self._server.sockets[0].getsockname()[1])
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{port}{self.path}"

    async def _serve(self, ws: ServerConnection) -> None:
        path = ws.request.path if ws.request is not None else ""
        prefix = self.path.rstrip("/") + "/"
        cp_id = path[len(prefix):] if path.startswith(prefix) else ""
        if not cp_id or "/" in cp_id:
            await ws.close(1008, f"expected {prefix}<chargePointId>")
            return
        old = self.sessions.get(cp_id)
        if old is not None:
            old.ws.transport.abort()  # the charger came back before its old socket was noticed dead
        session = ToolChargePoint(cp_id, _Recorder(ws, self, cp_id), self)
        self.sessions[cp_id] = session
        self.sut = cp_id
        self._connected.set()
        try:
            await session.start()
        except websockets.ConnectionClosed:
            log.info("%s disconnected", cp_id)
        finally:
            if self.sessions.get(cp_id) is session:
                del self.sessions[cp_id]

    # ----------------------------------------------------------------- what arrives
    def record(self, direction: str, cp_id: str, raw: str) -> None:
        self.frames.append(ToolFrame(len(self.frames), direction, cp_id, raw, time.time(), time.monotonic()))

    async def received(self, cp_id: str, action: str, payload: dict[str, Any]) -> Answer:
        request = Request(len(self.requests), cp_id, action, payload, time.time(), time.monotonic())
        self.requests.append(request)
        if action == "StatusNotification":
            self.statuses[int(payload["connectorId"])] = payload["status"]
        override = self.overrides.get(action)
        answer = override(request) if override is not None else None
        if answer is None:
            answer = self.default_answer(request)
        self.answers[request.index] = answer
        if action == "StartTransaction":
            self.open_transactions[answer["transactionId"]] = int(payload["connectorId"])
            self.last_transaction_id = answer["transactionId"]
        elif action == "StopTransaction":
            self.open_transactions.pop(int(payload["transactionId"]), None)
        if self._arrival is not None and not self._arrival.done():
            self._arrival.set_result(None)
        return answer

    def tag_status(self, id_tag: str) -> str:
        valid = {self.values.get("valid_id_tag"), self.values.get("valid_id_tag_2")} - {None}
        return "Accepted" if id_tag in valid else "Invalid"

    def default_answer(self, request: Request) -> Answer:
        """The tool's answer when no case step has one of its own."""
        action, payload = request.action, request.payload
        if action == "BootNotification":
            return {"status": "Accepted", "currentTime": now_iso(),
                    "interval": int(self.values["heartbeat_interval_s"])}
        if action == "Heartbeat":
            return {"currentTime": now_iso()}
        if action == "Authorize":
            return {"idTagInfo": {"status": self.tag_status(payload["idTag"])}}
        if action == "StartTransaction":
            return {"transactionId": next(self._tx_ids), "idTagInfo": {"status": self.tag_status(payload["idTag"])}}
        if action == "StopTransaction":
            return {"idTagInfo": {"status": self.tag_status(payload["idTag"])}} if "idTag" in payload else {}
        if action == "DataTransfer":
            return {"status": "UnknownVendorId"}
        return {}

    # ----------------------------------------------------------------- what a case does
    def mark(self) -> int:
        """Where watching starts: requests at this index and after are seen, earlier ones are missed."""
        return len(self.requests)

    async def wait_connected(self, timeout: float) -> bool:
        if self.sut in self.sessions:
            return True
        self._connected.clear()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._connected.wait(), timeout)
        return self.sut in self.sessions

    async def wait_for(self, match: Callable[[Request], bool], after: int, timeout: float) -> Request | None:
        """The first request at index >= after that matches, or None when none came within timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for request in self.requests[after:]:
                if match(request):
                    return request
            after = len(self.requests)
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            if self._arrival is None or self._arrival.done():
                self._arrival = loop.create_future()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._arrival), remaining)

    async def call(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Send a request to the charger under test; its answer's payload (raises OCPPError on a CALLERROR)."""
        session = self.sessions.get(self.sut or "")
        if session is None:
            raise ConnectionError("no charge point connected")
        request = getattr(call, action)(**camel_to_snake_case(payload))
        response = await session.call(request, suppress=False)
        return remove_nones(snake_to_camel_case(dataclasses.asdict(response)))
