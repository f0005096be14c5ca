"""The agent's one ordered outbox, which outlives connections: while the broker is away the run goes on, the
latest retained message per topic is kept and sent when the broker is back, and messages that are not retained
(progress events, case results) are dropped (the retained progress catches up)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from typing import Any

from .broker import BrokerError, FleetConnection


class Outbox:
    """Ordered publishing that survives the broker going away."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[str, Any, bool]] = asyncio.Queue()
        self.pending: OrderedDict[str, Any] = OrderedDict()
        self.conn: FleetConnection | None = None

    def put(self, topic: str, payload: Any, retain: bool = True) -> None:
        self.pending.pop(topic, None)  # superseded
        self.queue.put_nowait((topic, payload, retain))

    def attach(self, conn: FleetConnection) -> None:
        self.conn = conn
        held, self.pending = self.pending, OrderedDict()
        for topic, payload in held.items():
            self.put(topic, payload)

    def detach(self) -> None:
        self.conn = None

    async def run(self) -> None:
        while True:
            topic, payload, retain = await self.queue.get()
            try:
                if await self._published(topic, payload, retain):
                    continue
                if retain:
                    self.pending[topic] = payload
            finally:
                self.queue.task_done()

    async def _published(self, topic: str, payload: Any, retain: bool) -> bool:
        """Sent on the current connection; False when there is none or the broker went away while sending (a
        retained message then waits for the next connection)."""
        conn = self.conn
        if conn is None or not conn.connected:
            return False
        try:
            await conn.publish(topic, payload, retain=retain)
        except BrokerError:
            return False
        return True

    async def drain(self, timeout: float = 10.0) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self.queue.join()
