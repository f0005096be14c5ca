"""The OCPP-J proxy between a charger and another Central System (the official test tool on certification day):
every frame forwarded unchanged and captured."""

from .server import OcppProxy
from .tls import UpstreamTls

__all__ = ["OcppProxy", "UpstreamTls"]
