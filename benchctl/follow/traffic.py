"""One charger's traffic as seen through a capture (the proxy's), shaped like the link benchctl's own Central
System keeps, so the scenario engine can judge it: the charger's requests with the answers the other Central
System gave, and that Central System's requests with the charger's responses.

Nothing is ever sent from here: `call` refuses, so a follow-mode bug cannot put a frame on the tool's wire.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

from benchctl.csms.capture import TO_CHARGER, TO_CSMS, Capture, CapturedFrame
from benchctl.csms.defaults import with_ocpp_defaults
from benchctl.csms.frames import CALL, CALLERROR, CALLRESULT
from benchctl.csms.link import ChargerLink, Received, ToolRequestError
from benchctl.csms.responder import Responder
from benchctl.scenario.values import mismatches


@dataclass
class ToolRequest:
    """A request of the Central System in charge (the tool), and the charger's response once it came."""

    request: CapturedFrame
    inbox_at: int  # how many charger requests had arrived when it was sent
    response: CapturedFrame | None = None

    @property
    def action(self) -> str | None:
        return self.request.frame.action


class ObservedLink(ChargerLink):
    def __init__(self, capture: Capture, charge_point_id: str, values: dict[str, Any]) -> None:
        super().__init__(charge_point_id, Responder(values))
        self.capture = capture
        self.tool_requests: list[ToolRequest] = []
        self._charger_calls: dict[str, Received] = {}  # by unique id, until the tool answers
        self._tool_calls: dict[str, ToolRequest] = {}  # by unique id, until the charger responds
        self._changed_event = asyncio.Event()
        self._listening = False

    def listen(self) -> None:
        if not self._listening:
            self.capture.listeners.append(self.feed)
            self._listening = True

    async def close(self) -> None:
        if self._listening:
            self.capture.listeners.remove(self.feed)
            self._listening = False

    def connection_opened(self, charge_point_id: str, wall: float) -> None:
        """A proxy listener: the charger (re)connected at `wall`, kept as benchctl's own server keeps it, so a status
        it queued offline and stamped before is judged as a replay (Appendix D)."""
        if charge_point_id == self.charge_point_id:
            at = datetime.fromtimestamp(wall, timezone.utc).isoformat()
            self.security.connections.append({"accepted": True, "at": at})
            self._wake()

    def feed(self, captured: CapturedFrame) -> None:
        """A capture listener: called synchronously for every frame the capture gets, in order."""
        if captured.charge_point_id != self.charge_point_id:
            return
        frame = captured.frame
        unique_id = frame.unique_id or ""
        if captured.direction == TO_CSMS:
            if frame.error is not None:
                self.invalid.append(captured)
            if frame.message_type == CALL and frame.error is None and isinstance(frame.payload, dict):
                item = Received(frame.action or "", with_ocpp_defaults(frame.action or "", frame.payload), captured)
                if item.action == "StatusNotification":
                    self.statuses[int(frame.payload.get("connectorId", -1))] = str(frame.payload.get("status"))
                self.inbox.append(item)
                self._charger_calls[unique_id] = item
            elif frame.message_type in (CALLRESULT, CALLERROR) and unique_id in self._tool_calls:
                self._tool_calls.pop(unique_id).response = captured
        elif captured.direction == TO_CHARGER:
            if frame.message_type == CALL:
                request = ToolRequest(captured, len(self.inbox))
                self.tool_requests.append(request)
                self._tool_calls[unique_id] = request
            elif frame.message_type in (CALLRESULT, CALLERROR):
                answered = self._charger_calls.pop(unique_id) if unique_id in self._charger_calls else None
                if answered is not None and frame.message_type == CALLRESULT and isinstance(frame.payload, dict):
                    answered.answer = frame.payload
                self.answers[unique_id] = captured
        self._wake()

    def _wake(self) -> None:
        event, self._changed_event = self._changed_event, asyncio.Event()
        event.set()

    async def wait_until(self, predicate: Callable[[], Any], timeout: float | None) -> Any:
        """Wait until predicate() returns something truthy; return it, or None on timeout (None: no limit)."""
        async def wait() -> Any:
            while True:
                event = self._changed_event  # taken before the check, so a frame fed meanwhile wakes us
                result = predicate()
                if result:
                    return result
                await event.wait()
        try:
            return await asyncio.wait_for(wait(), timeout)
        except asyncio.TimeoutError:
            return None

    def next_tool_request(self, action: str, start: int, fixed: dict[str, Any]) -> tuple[int] | None:
        """The position of the tool's first request of `action` from `start` on whose payload has the `fixed`
        fields (dotted path -> value)."""
        for i in range(start, len(self.tool_requests)):
            request = self.tool_requests[i]
            if request.action == action and not mismatches(request.request.frame.payload, fixed):
                return (i,)
        return None

    async def call(self, action: str, payload: dict[str, Any]) -> tuple[dict[str, Any], CapturedFrame]:
        raise ToolRequestError(f"{action}: benchctl only observes here; the Central System in charge sends the "
                               f"requests")
