"""The settings every GPIO driver shares: which pin layer, and the bounds of a BCM pin number."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from benchctl.config.typed import setting

BCM: dict[str, Any] = {"minimum": 0, "maximum": 27}


@dataclass(kw_only=True)
class PinLayerSettings:
    pins: str = setting(default="rpi", choices=("rpi", "fake"),
                        help="rpi: the Raspberry Pi's header; fake: the in-process fake pins (tests, simulator)")
    chip: str = setting(default="default", help="which fake chip (pins: fake only)")
