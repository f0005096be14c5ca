"""WebSocket connections that hand over each message as the bytes that arrived, with its frame type.

websockets' `recv(decode=False)` returns the payload bytes untouched but not whether they came in a text or a
binary frame; the proxy needs both to forward a message exactly as sent (a text frame that is not valid UTF-8
included). The type of each message is noted as its first frame arrives, in the order `recv` hands them out.
"""

from __future__ import annotations

from collections import deque

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.server import ServerConnection
from websockets.frames import Frame, Opcode
from websockets.protocol import Event


class _RawMessages:
    message_is_text: deque[bool]

    def _note_frame_type(self, event: Event) -> None:
        if isinstance(event, Frame) and (event.opcode is Opcode.TEXT or event.opcode is Opcode.BINARY):
            self.message_is_text.append(event.opcode is Opcode.TEXT)

    async def recv_raw(self) -> tuple[bytes, bool]:
        """The next message's payload as received and whether it came as text. Raises ConnectionClosed."""
        data = await self.recv(decode=False)  # type: ignore[attr-defined]
        return data, self.message_is_text.popleft()


class RawServerConnection(_RawMessages, ServerConnection):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.message_is_text = deque()
        # the charger's upstream connection, dialed before the charger is accepted (see server.py)
        self.upstream: RawClientConnection | None = None
        self.charge_point_id = ""
        self.bridged = False

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self.upstream is not None and not self.bridged and self.upstream.transport is not None:
            # the upstream accepted but the charger's own handshake never completed: it did not really connect
            self.upstream.transport.abort()

    def process_event(self, event: Event) -> None:
        self._note_frame_type(event)
        super().process_event(event)


class RawClientConnection(_RawMessages, ClientConnection):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.message_is_text = deque()

    def process_event(self, event: Event) -> None:
        self._note_frame_type(event)
        super().process_event(event)
