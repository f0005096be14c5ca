"""How benchctl, as the Central System, answers the charger's requests.

The scenario's answers come first (e.g. BootNotification → Rejected once, then Accepted), each used as many
times as the scenario says; everything else gets the behaviour of a permissive Central System that knows the
bench's configured idTags.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Rule:
    action: str
    payload: dict[str, Any]
    remaining: int = 1
    step: int | None = None  # the test case step this answer comes from


class Responder:
    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values
        self.rules: list[Rule] = []
        self._next_tx_id = 1

    def push(self, rule: Rule) -> None:
        self.rules.append(rule)

    def clear(self) -> None:
        self.rules.clear()

    def tag_status(self, id_tag: str | None) -> str:
        valid = {self.values.get("valid_id_tag"), self.values.get("valid_id_tag_2")}
        return "Accepted" if id_tag in valid else "Invalid"

    def answer(self, action: str, request: dict[str, Any]) -> dict[str, Any]:
        for rule in self.rules:
            if rule.action == action and rule.remaining > 0:
                rule.remaining -= 1
                return self._complete(action, copy.deepcopy(rule.payload), request)
        return self._complete(action, self._default(action, request), request)

    def _complete(self, action: str, payload: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
        """Fill the fields a scenario need not spell out (clock, transaction ids)."""
        if action in ("BootNotification", "Heartbeat"):
            payload.setdefault("currentTime", utc_now())
        if action == "BootNotification":
            payload.setdefault("interval", self.values.get("heartbeat_interval_s", 60))
        if action == "StartTransaction":
            if "transactionId" not in payload:
                payload["transactionId"] = self._next_tx_id
                self._next_tx_id += 1
            payload.setdefault("idTagInfo", {"status": self.tag_status(request.get("idTag"))})
        return payload

    def _default(self, action: str, request: dict[str, Any]) -> dict[str, Any]:
        if action == "BootNotification":
            return {"status": "Accepted"}
        if action == "Authorize":
            return {"idTagInfo": {"status": self.tag_status(request.get("idTag"))}}
        if action == "StopTransaction":
            return {"idTagInfo": {"status": "Accepted"}} if request.get("idTag") else {}
        if action == "DataTransfer":
            return {"status": "UnknownVendorId"}
        if action == "SignCertificate":
            return {"status": "Accepted"}  # the tool is also the Certificate Authority: it takes every CSR
        return {}
