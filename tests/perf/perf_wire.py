"""Capture records as a run or a proxy writes them, with a clock the test moves (for the synthetic cases)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

T0 = 1_800_000_000.0


class Wire:
    def __init__(self, cp: str = "CP1", case: str | None = "TC_X_CS") -> None:
        self.records: list[dict[str, Any]] = []
        self.t = 0.0
        self.cp = cp
        self.case = case

    def at(self, t: float, *, cp: str | None = None, case: str | None = "") -> "Wire":
        self.t = t
        if cp is not None:
            self.cp = cp
        if case != "":
            self.case = case
        return self

    def _add(self, direction: str, kind: str, uid: str, action: str, message: list[Any]) -> int:
        index = len(self.records)
        self.records.append({"i": index, "mono": 100.0 + self.t,
                             "ts": datetime.fromtimestamp(T0 + self.t, timezone.utc).isoformat(),
                             "dir": direction, "cp": self.cp, "case": self.case, "type": kind, "id": uid,
                             "action": action, "valid": True, "error": None, "raw": json.dumps(message)})
        return index

    def tool_call(self, uid: str, action: str, payload: dict[str, Any]) -> int:
        return self._add("csms->charger", "CALL", uid, action, [2, uid, action, payload])

    def charger_answer(self, uid: str, action: str, payload: dict[str, Any]) -> int:
        return self._add("charger->csms", "CALLRESULT", uid, action, [3, uid, payload])

    def charger_error(self, uid: str, action: str) -> int:
        return self._add("charger->csms", "CALLERROR", uid, action, [4, uid, "NotImplemented", "", {}])

    def charger_call(self, uid: str, action: str, payload: dict[str, Any]) -> int:
        return self._add("charger->csms", "CALL", uid, action, [2, uid, action, payload])

    def csms_answer(self, uid: str, action: str, payload: dict[str, Any]) -> int:
        return self._add("csms->charger", "CALLRESULT", uid, action, [3, uid, payload])
