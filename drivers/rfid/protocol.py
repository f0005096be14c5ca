"""The card presenter role."""

from __future__ import annotations

from abc import abstractmethod

from ..base import Driver


class RFIDPresenterProtocol(Driver):
    @abstractmethod
    async def present(self, uid: str, hold_s: float | None = None) -> None:
        """Present a card with this UID (hex, 4 or 7 bytes); remove it after hold_s if given.

        Mapping an OCPP idTag to a UID is the bench's job (`drivers.rfid.uid.uid_for_id_tag`).
        """

    @abstractmethod
    async def remove(self) -> None:
        """Take the card out of the reader's field."""
