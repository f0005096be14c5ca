"""Loading a4.yaml: the chapter 8 / Appendix A.4 figures, the triggered-function pairs and the link limits.

The file ships inside the package; it is checked on load (file, line and field in every error), and the PICS
fields it names must be fields of the PICS `performance:` section.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from benchctl.config import load_marked
from benchctl.config.pics import PERFORMANCE_SCHEMA
from benchctl.config.schema import Field, Schema, validate

A4_FILE = Path(__file__).with_name("a4.yaml")
MEASURES = ("triggered", "response")
ANSWERED_BY = ("charger", "csms")

_PROMISE = Schema({
    "action": Field(str, help="the charger's request"),
    "status": Field(str, help="the StatusNotification status it must carry"),
    "requested": Field(str, help="the request's payload field naming the promised action"),
})
_PAIR = Schema({
    "request": Field(str, required=True),
    "label": Field(str, required=True),
    "promises": Field(list, required=True, items=_PROMISE),
    "same_connector": Field(bool, default=False),
})
_FIGURE = Schema({
    "id": Field(str, required=True),
    "title": Field(str, required=True),
    "a4_row": Field(str, required=True),
    "measure": Field(str, required=True, choices=MEASURES),
    "per_pair": Field(bool, default=False),
    "answered_by": Field(str, default="charger", choices=ANSWERED_BY),
    "action": Field(str),
    "pics": Field(str, choices=tuple(PERFORMANCE_SCHEMA.fields)),
    "note": Field(str, default=""),
})
_LIMITS = Schema({
    "bandwidth_kB_s_min": Field(float, required=True, minimum=0),
    "latency_ms_max": Field(float, required=True, minimum=0),
    "rssi_dbm_min": Field(float, required=True),
    "csq_min": Field(int, required=True, minimum=0, maximum=31),
    "generations": Field(list, required=True, items=Field(str, choices=("2G", "3G", "4G"))),
})
A4_SCHEMA = Schema({
    "triggered_pairs": Field(list, required=True, items=_PAIR),
    "figures": Field(list, required=True, items=_FIGURE),
    "link_limits": _LIMITS,
})


@dataclass(frozen=True)
class Promise:
    action: str | None = None
    status: str | None = None
    requested: str | None = None  # payload field of the request naming the promised action

    def matches(self, action: str | None, payload: Any, request_payload: Any) -> bool:
        if self.requested is not None:
            return isinstance(request_payload, dict) and action == request_payload.get(self.requested)
        if action != self.action:
            return False
        return self.status is None or (isinstance(payload, dict) and payload.get("status") == self.status)


@dataclass(frozen=True)
class TriggeredPair:
    request: str
    label: str
    promises: tuple[Promise, ...]
    same_connector: bool = False

    @property
    def name(self) -> str:
        return f"{self.request} -> {self.label}"


@dataclass(frozen=True)
class FigureSpec:
    id: str
    title: str
    a4_row: str
    measure: str
    per_pair: bool = False
    answered_by: str = "charger"
    action: str | None = None
    pics: str | None = None
    note: str = ""


@dataclass(frozen=True)
class LinkLimits:
    bandwidth_kB_s_min: float
    latency_ms_max: float
    rssi_dbm_min: float
    csq_min: int
    generations: tuple[str, ...]


@dataclass(frozen=True)
class A4:
    pairs: tuple[TriggeredPair, ...]
    figures: tuple[FigureSpec, ...]
    link_limits: LinkLimits


def load_a4(path: str | Path = A4_FILE) -> A4:
    doc = load_marked(path)
    data = validate(doc, A4_SCHEMA)
    pairs: list[TriggeredPair] = []
    for n, pair in enumerate(data["triggered_pairs"]):
        if any(p.request == pair["request"] for p in pairs):
            raise doc.error(("triggered_pairs", n, "request"), f"{pair['request']} has a pair already")
        promises = []
        for m, promise in enumerate(pair["promises"]):
            if (promise["action"] is None) == (promise["requested"] is None):
                raise doc.error(("triggered_pairs", n, "promises", m), "give either action or requested")
            promises.append(Promise(**promise))
        pairs.append(TriggeredPair(pair["request"], pair["label"], tuple(promises), pair["same_connector"]))
    seen: set[str] = set()
    figures = []
    for n, figure in enumerate(data["figures"]):
        if figure["id"] in seen:
            raise doc.error(("figures", n, "id"), f"figure id {figure['id']!r} given twice")
        seen.add(figure["id"])
        figures.append(FigureSpec(**figure))
    limits = data["link_limits"]
    return A4(tuple(pairs), tuple(figures), LinkLimits(**{**limits, "generations": tuple(limits["generations"])}))


@lru_cache(maxsize=1)
def a4() -> A4:
    """The shipped definitions."""
    return load_a4()
