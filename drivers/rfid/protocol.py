"""The card presenter role."""

from __future__ import annotations

import asyncio
import contextlib
from abc import abstractmethod

from ..base import Driver


class RFIDPresenterProtocol(Driver):
    """A presenter; `present(uid, hold_s)` with a hold removes the card later, in the background."""

    _hold_task: "asyncio.Task[None] | None" = None

    @abstractmethod
    async def present(self, uid: str, hold_s: float | None = None) -> None:
        """Present a card with this UID (hex, 4 or 7 bytes); remove it after hold_s if given.

        Mapping an OCPP idTag to a UID is the bench's job (`drivers.rfid.uid.uid_for_id_tag`).
        """

    @abstractmethod
    async def remove(self) -> None:
        """Take the card out of the reader's field."""

    # timed removal, shared by every backend -------------------------------------------------------------

    def _schedule_removal(self, hold_s: float) -> None:
        self._cancel_hold()
        self._hold_task = asyncio.create_task(self._remove_after(hold_s))

    def _cancel_hold(self) -> None:
        task, self._hold_task = self._hold_task, None
        if task is not None and task is not asyncio.current_task() and not task.done():
            task.cancel()

    async def _remove_after(self, hold_s: float) -> None:
        await asyncio.sleep(hold_s)
        self._hold_task = None  # so remove() does not cancel the task that runs it
        # a failure is already in the step log as a failed "remove" step; nobody awaits this task
        with contextlib.suppress(Exception):
            await self.remove()
