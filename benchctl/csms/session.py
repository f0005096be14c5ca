"""One WebSocket connection of a charger, routed by the `ocpp` library, every frame captured."""

from __future__ import annotations

from typing import Any

from ocpp.charge_point import camel_to_snake_case
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode

from .capture import TO_CHARGER, TO_CSMS, Capture, CapturedFrame
from .defaults import with_ocpp_defaults
from .frames import CALL, CALLERROR, CALLRESULT, Frame, in_ocpp16_words, parse
from .link import ChargerLink, Received

# Requests a charge point may send (OCPP 1.6 Core and feature profiles, and the security extension).
CHARGER_ACTIONS = (
    "Authorize", "BootNotification", "DataTransfer", "DiagnosticsStatusNotification",
    "FirmwareStatusNotification", "Heartbeat", "MeterValues", "StartTransaction", "StatusNotification",
    "StopTransaction", "SecurityEventNotification", "SignedFirmwareStatusNotification",
    "LogStatusNotification", "SignCertificate",
)


class RecordingConnection:
    """Wraps the WebSocket so every frame in and out is parsed, schema-checked and captured."""

    def __init__(self, ws: ServerConnection, capture: Capture, link: ChargerLink) -> None:
        self.ws = ws
        self.capture = capture
        self.link = link
        self.pending: dict[str, str] = {}  # unique id -> action of requests in either direction
        self.calls: dict[str, CapturedFrame] = {}  # requests from the charger, by unique id
        self.responses: dict[str, CapturedFrame] = {}  # charger answers to tool requests, by unique id

    async def recv(self) -> str:
        try:
            raw = await self.ws.recv()
        except ConnectionClosed as exc:
            if exc.sent is not None and exc.sent.code == CloseCode.MESSAGE_TOO_BIG:
                await self._too_big(exc.sent.reason)
            raise
        captured = self.capture.add(TO_CSMS, self.link.charge_point_id, parse(raw, self.pending))
        frame = captured.frame
        if frame.error is not None:
            await self.link.flag_invalid(captured)
        if frame.message_type == CALL:
            self.calls[frame.unique_id] = captured  # type: ignore[index]
        elif frame.message_type in (CALLRESULT, CALLERROR):
            self.responses[frame.unique_id] = captured  # type: ignore[index]
        return raw if isinstance(raw, str) else raw.decode("utf-8", "replace")

    async def _too_big(self, reason: str) -> None:
        """The charger sent a frame over the WebSocket size limit: websockets drops it and closes with 1009, so the
        capture keeps what is known of it and the case fails naming it (not "no Authorize within 10 s")."""
        error = f"a frame over the WebSocket size limit ({reason}); the Central System closed the connection with 1009"
        captured = self.capture.add(TO_CSMS, self.link.charge_point_id, Frame("", error=error, oversize=True))
        await self.link.flag_invalid(captured)

    async def send(self, raw: str) -> None:
        raw = in_ocpp16_words(raw)
        captured = self.capture.add(TO_CHARGER, self.link.charge_point_id, parse(raw, self.pending))
        await self.ws.send(raw)
        if captured.frame.message_type in (CALLRESULT, CALLERROR):
            await self.link.answered(captured)


class CSSession(ChargePoint):
    def __init__(self, connection: RecordingConnection, response_timeout: float) -> None:
        super().__init__(connection.link.charge_point_id, connection, response_timeout=response_timeout)
        self.connection = connection
        self.link = connection.link

    async def _answer(self, action: str, unique_id: str) -> Any:
        captured = self.connection.calls.pop(unique_id)
        request = captured.frame.payload
        answer = self.link.responder.answer(action, request)
        await self.link.received(Received(action, with_ocpp_defaults(action, request), captured, answer))
        return getattr(call_result, action)(**camel_to_snake_case(answer))


def _handler(action: str) -> Any:
    async def handle(self: CSSession, call_unique_id: str, **_: Any) -> Any:
        return await self._answer(action, call_unique_id)

    handle.__name__ = f"on_{action}"
    return on(action)(handle)


for _action in CHARGER_ACTIONS:
    setattr(CSSession, f"on_{_action}", _handler(_action))
