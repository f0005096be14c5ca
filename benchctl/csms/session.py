"""One WebSocket connection of a charger, routed by the `ocpp` library, every frame captured."""

from __future__ import annotations

import logging
import sys
from typing import Any

from ocpp.charge_point import camel_to_snake_case
from ocpp.exceptions import OCPPError
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

    def __init__(self, ws: ServerConnection, capture: Capture, link: ChargerLink, record: dict[str, Any]) -> None:
        self.ws = ws
        self.capture = capture
        self.link = link
        self.record = record  # the handshake as the Central System judged it (security.py), with its number and peer
        self.number: int = record["connection"]
        self.pending: dict[str, str] = {}  # unique id -> action of requests in either direction
        self.calls: dict[str, CapturedFrame] = {}  # requests from the charger, by unique id
        self.responses: dict[str, CapturedFrame] = {}  # charger answers to tool requests, by unique id
        self.tool_requests: dict[str, Any] = {}  # payloads of the tool requests not answered yet, by unique id

    async def recv(self) -> str:
        try:
            raw = await self.ws.recv()
        except ConnectionClosed as exc:
            if exc.sent is not None and exc.sent.code == CloseCode.MESSAGE_TOO_BIG:
                await self._too_big(exc.sent.reason, getattr(self.ws.protocol, "parser_exc", None))
            raise
        captured = self.capture.add(TO_CSMS, self.link.charge_point_id, parse(raw, self.pending), self.number)
        frame = captured.frame
        if frame.error is not None:
            await self.link.flag_invalid(captured)
        if frame.message_type == CALL:
            self.calls[frame.unique_id] = captured  # type: ignore[index]
        elif frame.message_type in (CALLRESULT, CALLERROR):
            self.responses[frame.unique_id] = captured  # type: ignore[index]
            request = self.tool_requests.pop(frame.unique_id, None)  # type: ignore[arg-type]
            if frame.message_type == CALLRESULT and isinstance(request, dict) and isinstance(frame.payload, dict):
                # taken as the answer is read, before anything else: a station that takes a new AuthorizationKey
                # may dial again with it before the tool's call has returned
                self.link.security.observe(str(frame.action), request, frame.payload)
        return raw if isinstance(raw, str) else raw.decode("utf-8", "replace")

    async def _too_big(self, reason: str, cause: BaseException | None) -> None:
        """The charger sent a frame over the size limit (`dut.csms.max_frame_bytes`): websockets drops it and closes
        with 1009, so the capture keeps what is known of it (its size as far as its header told) and the case ends
        naming it (not "no Authorize within 10 s")."""
        size = getattr(cause, "size", None)
        if size is not None:  # of a fragmented message: this fragment and the ones before it
            size += getattr(cause, "current_size", None) or 0
        limit = self.ws.protocol.max_message_size
        # a compressed frame (permessage-deflate) is dropped as it inflates past the limit: its size is not known
        what = f"a frame of {size} bytes" if size is not None else "a compressed frame inflating"
        error = (f"{what} over the size limit of {limit} bytes (dut.csms.max_frame_bytes); the Central System closed "
                 f"the connection with 1009 ({reason})")
        frame = Frame("", error=error, oversize=True, size=size)
        captured = self.capture.add(TO_CSMS, self.link.charge_point_id, frame, self.number)
        await self.link.flag_invalid(captured)

    async def send(self, raw: str) -> None:
        raw = in_ocpp16_words(raw)
        captured = self.capture.add(TO_CHARGER, self.link.charge_point_id, parse(raw, self.pending), self.number)
        if captured.frame.message_type == CALL:
            self.tool_requests[captured.frame.unique_id] = captured.frame.payload  # type: ignore[index]
        await self.ws.send(raw)
        if captured.frame.message_type in (CALLRESULT, CALLERROR):
            await self.link.answered(captured)


class _FrameErrorsQuiet(logging.LoggerAdapter):  # type: ignore[type-arg]
    """The `ocpp` library logs a traceback for every frame it cannot parse or validate. Those frames are the
    charger's, already flagged in the capture and judged by the case: their tracebacks would only bury the run's
    console. Any other exception (a fault of benchctl's handlers) keeps its traceback."""

    def exception(self, msg: object, *args: Any, **kwargs: Any) -> None:
        if isinstance(sys.exc_info()[1], OCPPError):
            kwargs.pop("exc_info", None)
            self.debug(msg, *args, **kwargs)
        else:
            self.logger.exception(msg, *args, **kwargs)


OCPP_LOG = _FrameErrorsQuiet(logging.getLogger("ocpp"), {})


class CSSession(ChargePoint):
    def __init__(self, connection: RecordingConnection, response_timeout: float) -> None:
        super().__init__(connection.link.charge_point_id, connection, response_timeout=response_timeout,
                         logger=OCPP_LOG)
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
