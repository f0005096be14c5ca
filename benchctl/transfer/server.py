"""The run's file server: HTTP and FTP on the same directory, started and stopped together, on one address.

Loopback unless the bench says otherwise, and never a wildcard address: the server accepts anonymous uploads,
so it must only be reachable where the charger under test is.
"""

from __future__ import annotations

import asyncio
import ipaddress
from pathlib import Path
from typing import Any

from .area import FileArea
from .records import TransferLog

PROTOCOLS = ("http", "ftp")  # what this server speaks (no TLS variants yet)


def check_host(host: str) -> str | None:
    """Why `host` is not an address to serve files on, or None."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"{host!r} is not an IP address (give the address of the interface the charger reaches)"
    if address.is_unspecified:
        return f"{host} listens on every interface; give the address of the one the charger reaches"
    return None


class FileServer:
    def __init__(self, root: Path, host: str = "127.0.0.1") -> None:
        problem = check_host(host)
        if problem is not None:
            raise ValueError(problem)
        self.host = host
        self.area = FileArea(root)
        self._http: Any = None  # HttpFileServer once started
        self._ftp: Any = None  # FtpFileServer once started

    @property
    def log(self) -> TransferLog:
        return self.area.log

    async def start(self) -> None:
        # imported here: the bench config checks addresses with this module without loading the servers
        from .ftp_server import FtpFileServer
        from .http_server import HttpFileServer

        self._http = HttpFileServer(self.area, self.host)
        self._ftp = FtpFileServer(self.area, self.host)
        self._http.start()
        self._ftp.start()

    async def stop(self) -> None:
        servers = [s for s in (self._http, self._ftp) if s is not None]
        self._http = self._ftp = None
        for server in servers:
            await asyncio.to_thread(server.stop)

    def port(self, protocol: str) -> int:
        server = {"http": self._http, "ftp": self._ftp}.get(protocol)
        if server is None:
            raise ValueError(f"the file server does not serve {protocol!r} (or is not started)")
        return server.address[1]

    def url(self, protocol: str, path: str, mode: str | None = None) -> str:
        """The URL of `path` (e.g. firmware/x.fwi, upload/diagnostics/) in `mode` (None, or a failure mode)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        prefix = f"/{mode}" if mode else ""
        return f"{protocol}://{host}:{self.port(protocol)}{prefix}/{path.lstrip('/')}"
