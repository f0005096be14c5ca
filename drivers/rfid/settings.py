"""The settings of the RFID presenters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from benchctl.config.typed import setting

from ..retry import retries_setting, timeout_setting


@dataclass(kw_only=True)
class ChameleonSettings:
    port: str = setting(required=True, refs=True, type=str, help="serial device, e.g. /dev/ttyACM0")
    baudrate: int = setting(default=115200, minimum=1200)
    timeout_s: float = timeout_setting(1.0)
    retries: int = retries_setting(2)


@dataclass(kw_only=True)
class Proxmark3Settings:
    port: str = setting(required=True, refs=True, type=str,
                        help="the Proxmark3's device, e.g. /dev/ttyACM0 (or tcp:host:port, bt:...)")
    client: str = setting(default="pm3", refs=True, type=str,
                          help="the Proxmark3 client (Iceman/RRG): pm3, proxmark3 or a path, with options if any")
    timeout_s: float = setting(default=5.0, minimum=0.1,
                               help="how long one client run may take to open the device and answer")
    stop_grace_s: float = setting(default=1.0, minimum=0.05,
                                  help="wait after SIGINT (then SIGTERM) before the next signal")


def _carousel_cards(value: dict[Any, Any]) -> str | None:
    from .carousel import check_cards

    return check_cards(value)


@dataclass(kw_only=True)
class CarouselSettings:
    cards: dict[str, str] = setting(required=True, check=_carousel_cards,
                                    help="card UID (hex, quoted) -> role of the digital output the card sits on")
    swap_gap_s: float = setting(default=0.0, minimum=0.0, help="time with no card in the field between two cards")
