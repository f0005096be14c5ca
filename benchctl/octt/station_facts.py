"""What the charger's traffic has told so far that outlives one case, kept up to date frame by frame (a capture
listener) so the evidence never scans the whole capture: a long session holds only its latest frames in memory."""

from __future__ import annotations

from typing import Any

from benchctl.csms.capture import TO_CSMS, Capture, CapturedFrame
from benchctl.csms.frames import CALL, CALLRESULT

RECENT = 1000  # requests awaiting their answer, and Charging notifications with their open transactions, kept


def _remember(table: dict[Any, Any], key: Any, value: Any) -> None:
    """Keep the latest RECENT entries: a charger that never gets its answers does not grow the table forever."""
    table[key] = value
    if len(table) > RECENT:
        del table[next(iter(table))]


def _plain(value: Any) -> bool:
    """A JSON value usable as a key (a hostile payload's list or object is not, and a listener must not raise)."""
    return value is None or isinstance(value, (int, float, str))


class StationFacts:
    """The last StatusNotification of each connector, the last transaction the charger started, and for each
    recent Charging notification the connectors that had a transaction open just before it."""

    def __init__(self, capture: Capture | None = None) -> None:
        self.statuses: dict[int | float, tuple[str | None, int]] = {}  # connectorId -> (status, capture index)
        self.last_transaction: tuple[int | None, str | None, int | None] = (None, None, None)
        self.open_at: dict[int, set[Any]] = {}  # index of a Charging notification -> connectors with a transaction
        self._tags: dict[str, str] = {}  # StartTransaction unique id -> idTag
        self._starts: dict[str, Any] = {}  # StartTransaction unique id -> connectorId
        self._open: dict[Any, Any] = {}  # transactionId -> connectorId, accepted and not stopped
        if capture is not None:
            for captured in capture.iter_frames():  # the frames that came before
                self.feed(captured)
            capture.listeners.append(self.feed)

    @classmethod
    def before(cls, capture: Capture, index: int) -> "StationFacts":
        """The facts as they were just before frame `index`, read back from the capture."""
        facts = cls()
        for captured in capture.iter_frames(stop=index):
            facts.feed(captured)
        return facts

    def open_connectors(self) -> set[Any]:
        return set(self._open.values())

    def feed(self, captured: CapturedFrame) -> None:
        frame = captured.frame
        payload = frame.payload
        if not isinstance(payload, dict) or frame.action is None:
            return
        uid = str(frame.unique_id)
        if frame.action == "StatusNotification" and frame.message_type == CALL:
            self._status(captured, payload)
        elif frame.action == "StartTransaction" and frame.message_type == CALL:
            _remember(self._starts, uid, payload.get("connectorId"))
            if captured.direction == TO_CSMS:
                _remember(self._tags, uid, str(payload.get("idTag")))
        elif frame.action == "StartTransaction" and frame.message_type == CALLRESULT:
            if isinstance(payload.get("transactionId"), int):
                self.last_transaction = (payload["transactionId"], self._tags.get(uid), captured.index)
            info = payload.get("idTagInfo")
            if isinstance(info, dict) and info.get("status") == "Accepted" and _plain(payload.get("transactionId")):
                self._open[payload.get("transactionId")] = self._starts.get(uid)
        elif frame.action == "StopTransaction" and frame.message_type == CALL and _plain(payload.get("transactionId")):
            self._open.pop(payload.get("transactionId"), None)

    def _status(self, captured: CapturedFrame, payload: dict[str, Any]) -> None:
        if payload.get("status") == "Charging":
            _remember(self.open_at, captured.index, self.open_connectors())
        connector = payload.get("connectorId")
        if captured.direction == TO_CSMS and isinstance(connector, (int, float)):
            self.statuses[connector] = (payload.get("status"), captured.index)
