"""One charger as the Central System sees it: its current connection, what it sent, what it last said.

A charger reconnects after a power cycle or a link loss; the link outlives connections, so a scenario can
wait across a reboot for the next BootNotification.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from ocpp.charge_point import camel_to_snake_case
from ocpp.exceptions import OCPPError
from ocpp.v16 import call
from websockets.exceptions import ConnectionClosed

from .capture import CapturedFrame
from .responder import Responder
from .security import CsmsSecurity, StationSecurity

if TYPE_CHECKING:
    from .session import CSSession


class ToolRequestError(Exception):
    """A request the Central System sent was not answered with a CALLRESULT."""

    def __init__(self, message: str, frame: CapturedFrame | None = None) -> None:
        super().__init__(message)
        self.frame = frame  # the charger's answer when there was one (a CALLERROR), as evidence


class NoAnswer(ToolRequestError):
    """The charger did not answer a request at all within the response timeout (connected, but silent)."""


@dataclass
class Received:
    """A request from the charger, with the frame it came in and the answer it got."""

    action: str
    payload: dict[str, Any]
    frame: CapturedFrame
    answer: dict[str, Any] | None = None


class ChargerLink:
    def __init__(self, charge_point_id: str, responder: Responder, security: StationSecurity | None = None) -> None:
        self.charge_point_id = charge_point_id
        self.responder = responder
        # its security settings as the Central System knows them, and every connection attempt (accepted or not)
        self.security = security or StationSecurity(CsmsSecurity())
        self.session: CSSession | None = None
        self.connected = asyncio.Event()
        self.inbox: list[Received] = []
        self.connections = 0
        self.attached_at: list[float] = []  # wall time each connection became the link's (queued messages)
        self.statuses: dict[int, str] = {}  # connectorId -> last reported status
        self.invalid: list[CapturedFrame] = []  # frames from the charger that are not valid OCPP 1.6
        self.answers: dict[str, CapturedFrame] = {}  # the Central System's answers, by unique id
        self.transactions: dict[int, int] = {}  # open transactionId -> connectorId
        self.reservations: dict[int, int] = {}  # reservationId -> connectorId the tool reserved, not yet seen ended
        # connections that replaced one still answering (see server.py); contested: the current one did so without
        # credentials, so which client is the charger is unknown until one connects normally again
        self.takeovers: list[dict[str, Any]] = []
        self.contested: dict[str, Any] | None = None
        self._changed = asyncio.Condition()

    # called by the session -------------------------------------------------
    async def attach(self, session: "CSSession", record: dict[str, Any] | None = None) -> None:
        taken = self.takeovers[-1] if self.takeovers else None
        mine = taken is not None and record is not None and taken["new"]["connection"] == record.get("connection")
        # a connection that replaced nothing alive, or proved itself with credentials, is the charger's own again
        self.contested = taken if mine and taken is not None and taken["contested"] else None
        self.session = session
        self.connections += 1
        self.attached_at.append(time.time())
        self.connected.set()
        await self._notify()

    async def detach(self, session: "CSSession") -> None:
        if self.contested is not None and self.contested["new"]["connection"] == session.connection.number:
            self.contested = None  # the connection whose claim was in doubt is gone
        if self.session is session:
            self.session = None
            self.connected.clear()
            await self._notify()

    async def received(self, item: Received) -> None:
        if item.action == "StatusNotification":
            self.statuses[int(item.payload.get("connectorId", -1))] = str(item.payload.get("status"))
        if item.action == "StartTransaction" and item.answer and "transactionId" in item.answer:
            self.transactions[int(item.answer["transactionId"])] = int(item.payload.get("connectorId", 0))
        if item.action == "StopTransaction":
            self.transactions.pop(int(item.payload.get("transactionId", -1)), None)
        if item.action == "StartTransaction" and "reservationId" in item.payload:
            self.reservations.pop(int(item.payload["reservationId"]), None)  # a start ends its reservation
        self.inbox.append(item)
        await self._notify()

    def takeover(self, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
        """Connection `new` replaces `old`, which still answered: two clients claim this id. With credentials
        (profile 1-3) the newcomer proved to be the station; without, nobody can tell (contested)."""
        contested = new.get("security_profile", 0) == 0
        text = (f"another connection took over charge point {self.charge_point_id}: connection #{new['connection']} "
                f"from {new['peer']} at {new['at']}, while connection #{old['connection']} from {old['peer']} "
                f"(opened {old['at']}) still answered")
        text += (": without credentials (security profile 0) which of them is the charger is unknown" if contested
                 else f"; the newcomer presented the station's credentials (security profile "
                      f"{new['security_profile']})")
        taken = {"old": old, "new": new, "contested": contested, "text": text, "mono": time.monotonic()}
        self.takeovers.append(taken)
        return taken

    async def connection_attempt(self, record: dict[str, Any]) -> None:
        """An HTTP upgrade request of the charger, as the Central System judged it (see security.py)."""
        self.security.connections.append(record)
        await self._notify()

    async def flag_invalid(self, frame: CapturedFrame) -> None:
        self.invalid.append(frame)
        await self._notify()

    async def answered(self, frame: CapturedFrame) -> None:
        self.answers[frame.frame.unique_id or ""] = frame
        await self._notify()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # used by the engine --------------------------------------------------------
    async def wait_until(self, predicate: Callable[[], Any], timeout: float) -> Any:
        """Wait until predicate() returns something truthy; return it, or None on timeout."""
        async def wait() -> Any:
            async with self._changed:
                while True:
                    result = predicate()
                    if result:
                        return result
                    await self._changed.wait()
        try:
            return await asyncio.wait_for(wait(), timeout)
        except asyncio.TimeoutError:
            return None

    async def call(self, action: str, payload: dict[str, Any]) -> tuple[dict[str, Any], CapturedFrame]:
        """Send a tool request; return the charger's response payload as it was on the wire, and its frame."""
        session = self.session
        if session is None:
            raise ToolRequestError(f"{action}: the charger is not connected")
        request_cls = getattr(call, action, None)
        if request_cls is None:
            raise ToolRequestError(f"{action} is not an OCPP 1.6 request of the Central System")
        unique_id = str(uuid.uuid4())
        try:
            await session.call(request_cls(**camel_to_snake_case(payload)), suppress=False, unique_id=unique_id)
        except OCPPError as exc:
            raise ToolRequestError(f"{action}: the charger answered CALLERROR {type(exc).__name__}: {exc}",
                                   session.connection.responses.pop(unique_id, None)) from exc
        except asyncio.TimeoutError as exc:
            raise NoAnswer(f"{action}: no answer within {session._response_timeout} s") from exc
        except ConnectionClosed as exc:  # the charger's connection went as the request was being sent
            raise ToolRequestError(f"{action}: the charger's connection closed ({exc})") from exc
        frame = session.connection.responses.pop(unique_id)
        self._track(action, payload, frame.frame.payload)  # the security settings: as the answer came (session.py)
        return frame.frame.payload, frame

    def _track(self, action: str, request: dict[str, Any], response: Any) -> None:
        """Reservations the tool made, so the return to idle can cancel one a case left open (it may have expired
        meanwhile: the charger then rejects the cancel)."""
        if action == "ReserveNow" and isinstance(response, dict) and response.get("status") == "Accepted":
            self.reservations[int(request["reservationId"])] = int(request.get("connectorId", 0))
        elif action == "CancelReservation":
            self.reservations.pop(int(request.get("reservationId", -1)), None)

    async def close(self) -> None:
        if self.session is not None:
            await self.session.connection.ws.close()
