"""One charger's traffic through the proxy: two pumps (charger -> upstream, upstream -> charger) and the close of
either side mirrored on the other.

Each message is forwarded, then parsed and captured (see _pump for why the order holds). Forwarding sends the
received bytes in a frame of the received type: nothing is decoded and encoded again, nothing is dropped or
rewritten, whether it is valid OCPP or not (the capture flags what is wrong with it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import unquote

from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode

from benchctl.csms.capture import TO_CHARGER, TO_CSMS, Capture
from benchctl.csms.frames import Frame, parse

from .wire import RawClientConnection, RawServerConnection

log = logging.getLogger("benchctl.proxy")

RawConnection = RawServerConnection | RawClientConnection
MAX_PENDING = 1000  # unanswered CALLs remembered per direction of a connection (OCPP-J allows one at a time)


class CallsFrom(dict[str, str]):
    """`parse` notes a CALL with `pending[id] = action` and looks up a reply with `pending.pop(id)`. A reply travels
    the other way from its CALL, so each direction notes its own CALLs here and takes its replies from the other
    direction's: the charger and the Central System may use the same unique ids without mixing them up."""

    answered_from: dict[str, str]

    def __setitem__(self, key: str, value: str) -> None:
        # a peer that never answers must not grow the proxy without limit: past MAX_PENDING the oldest unanswered
        # CALL is forgotten (an answer coming for it after all is then captured as for an unknown unique id)
        dict.__setitem__(self, key, value)
        if len(self) > MAX_PENDING:
            del self[next(iter(self))]

    def pop(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return dict.pop(self.answered_from, key, default)  # type: ignore[arg-type]


def charge_point_id(path_segment: str) -> str:
    return unquote(path_segment)


def decode_frame(data: bytes, is_text: bool, pending: dict[str, str]) -> Frame:
    if not is_text:
        return parse(data, pending)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Frame(data.decode("utf-8", "replace"), error=f"text frame is not valid UTF-8 at byte {exc.start}")
    return parse(text, pending)


class Bridge:
    def __init__(self, capture: Capture, cp_id: str, charger: RawServerConnection,
                 upstream: RawClientConnection) -> None:
        self.capture = capture
        self.cp_id = cp_id
        self.charger = charger
        self.upstream = upstream
        self._capture_failed = False

    async def run(self) -> None:
        from_charger, from_csms = CallsFrom(), CallsFrom()
        from_charger.answered_from, from_csms.answered_from = from_csms, from_charger
        pumps = {asyncio.create_task(self._pump(self.charger, self.upstream, TO_CSMS, from_charger)),
                 asyncio.create_task(self._pump(self.upstream, self.charger, TO_CHARGER, from_csms))}
        try:
            done, _ = await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            closed = next(iter(done)).result()
            other = self.upstream if closed is self.charger else self.charger
            await self._mirror_close(closed, other)
            # the other pump ends as its connection closes (or once aborted)
            await asyncio.wait(pumps)
        finally:
            for pump in pumps:
                pump.cancel()
            # never leave a half-open pair behind (the proxy stopping, a bug): the other side goes too
            for side in (self.charger, self.upstream):
                if side.transport is not None and not side.transport.is_closing():
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(side.close(CloseCode.GOING_AWAY, "proxy closing"), 2)

    async def _pump(self, src: RawConnection, dst: RawConnection, direction: str,
                    pending: dict[str, str]) -> RawConnection:
        """Forward until one side closes; return the side that closed."""
        while True:
            try:
                data, is_text = await src.recv_raw()
            except ConnectionClosed:
                return src
            # send() writes at once and returns without yielding, so capturing right after it keeps the capture in
            # arrival order and a CALL ahead of its reply, and the parse is not part of the frame's delay. Only when
            # the destination is not keeping up does send() wait, and the reply might be read meanwhile: then
            # the frame is captured first.
            capture_first = dst.paused
            if capture_first:
                self._capture(direction, data, is_text, pending)
            try:
                await dst.send(data, text=is_text)
            except ConnectionClosed:
                if not capture_first:
                    self._capture(direction, data, is_text, pending)
                return dst
            if not capture_first:
                self._capture(direction, data, is_text, pending)

    def _capture(self, direction: str, data: bytes, is_text: bool, pending: dict[str, str]) -> None:
        try:
            self.capture.add(direction, self.cp_id, decode_frame(data, is_text, pending))
        except Exception:  # a failing listener or a full disk must not stop the traffic
            if not self._capture_failed:
                log.exception("%s: capturing a frame failed; forwarding goes on", self.cp_id)
                self._capture_failed = True

    async def _mirror_close(self, closed: RawConnection, other: RawConnection) -> None:
        """The close frame that ended `closed`, sent to `other` with its code and reason; a connection lost
        without a close frame (TCP reset, network gone) aborts `other` as well."""
        await asyncio.shield(closed.connection_lost_waiter)  # close_rcvd / close_sent are final from here
        protocol = closed.protocol
        # the close that started the closing handshake: the peer's, or the proxy's own (a protocol error seen here)
        close = protocol.close_rcvd if protocol.close_rcvd_then_sent is not False else protocol.close_sent
        close = close or protocol.close_sent
        name = "charger" if closed is self.charger else "upstream"
        if close is None:
            log.info("%s: %s connection lost without a close frame; aborting the other side", self.cp_id, name)
            if other.transport is not None:
                other.transport.abort()
            return
        code: int | None = None if close.code == CloseCode.NO_STATUS_RCVD else close.code
        log.info("%s: %s closed (%s %s); mirroring", self.cp_id, name, close.code, close.reason)
        with contextlib.suppress(Exception):
            await other.close(code, close.reason)  # type: ignore[arg-type]
