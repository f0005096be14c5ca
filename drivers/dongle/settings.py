"""The settings of the dongles (the Huawei E3372h in its two modes)."""

from __future__ import annotations

from dataclasses import dataclass

from benchctl.config.typed import setting

from ..retry import retries_setting, timeout_setting

_LINK_ENDPOINT_HELP = "host:port of the link endpoint measured through the dongle"


@dataclass(kw_only=True)
class E3372AtSettings:
    # a program may give the candidates as `port` too (a list); a bench config names them `ports`
    port: str | list[str] | None = setting(default=None, refs=True, type=str,
                                           help="AT serial device, e.g. /dev/ttyUSB0")
    ports: list[str] | None = setting(default=None, refs=True,
                                      help="candidate serial devices; the first answering AT with OK is used")
    baudrate: int = setting(default=115200, minimum=1200)
    timeout_s: float = timeout_setting(2.0)
    retries: int = retries_setting(2)
    link_endpoint: str | None = setting(default=None, refs=True, type=str, help=_LINK_ENDPOINT_HELP)


@dataclass(kw_only=True)
class HiLinkSettings:
    host: str = setting(default="192.168.8.1", refs=True, type=str, help="the stick's web address")
    port: int | str = setting(default=80, refs=True, minimum=1, maximum=65535)
    timeout_s: float = timeout_setting(3.0)
    retries: int = retries_setting(2)
    link_endpoint: str | None = setting(default=None, refs=True, type=str, help=_LINK_ENDPOINT_HELP)
