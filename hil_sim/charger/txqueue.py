"""Transaction-related messages (StartTransaction, StopTransaction, MeterValues of a transaction) and security
events are never dropped: firmware keeps them in order, across link loss and power loss, and sends them when
it can.

A transaction started offline has a local (negative) id until its StartTransaction is answered; the real id
then replaces it in every message still queued and wherever the station holds it.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

from ocpp.v16 import call

# security events are queued too: the OCPP 1.6 security whitepaper makes them as critical as transaction data
TX_MESSAGES = (call.StartTransaction, call.StopTransaction, call.MeterValues, call.SecurityEventNotification)

Deliver = Callable[[Any], Awaitable[Any]]  # returns the response, or None when it could not be delivered
OnStarted = Callable[[int, Any], None]  # (local id, the StartTransaction.conf with the real id)


class TransactionQueue:
    def __init__(self, on_started: OnStarted) -> None:
        self.pending: list[Any] = []
        self.on_started = on_started
        self._lock = asyncio.Lock()

    async def send(self, payload: Any, deliver: Deliver) -> Any:
        """Queue behind anything older and flush; return this message's response if it went out now."""
        self.pending.append(payload)
        return (await self.flush(deliver)).get(id(payload))

    def keep(self, payload: Any) -> None:
        """Queue a message behind the older ones without sending it now (a status change while offline, for a
        station that replays them); the next flush sends it in its place."""
        self.pending.append(payload)

    def forget(self, kind: type) -> None:
        """Drop the queued messages of one kind: what was only kept in RAM does not survive a reboot."""
        self.pending = [p for p in self.pending if not isinstance(p, kind)]

    async def flush(self, deliver: Deliver) -> dict[int, Any]:
        delivered: dict[int, Any] = {}
        async with self._lock:
            while self.pending:
                payload = self.pending[0]
                response = await deliver(payload)
                if response is None:
                    break
                self.pending.pop(0)
                delivered[id(payload)] = response
                local = getattr(payload, "transaction_id_local", None)
                if isinstance(payload, call.StartTransaction) and local is not None:
                    self._remap(local, response)
        return delivered

    def _remap(self, local: int, response: Any) -> None:
        for payload in self.pending:
            if getattr(payload, "transaction_id", None) == local:
                payload.transaction_id = response.transaction_id
        self.on_started(local, response)


def start_transaction(local_id: int, **fields: Any) -> call.StartTransaction:
    """A StartTransaction that remembers the local id of its transaction (not sent on the wire)."""
    payload = call.StartTransaction(**fields)
    payload.transaction_id_local = local_id  # type: ignore[attr-defined]
    return payload
