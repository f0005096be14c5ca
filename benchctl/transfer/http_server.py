"""HTTP side of the file server (stdlib http.server, one thread per connection): GET serves a file, PUT and
POST store the request body as an upload. The failure modes of area.py are carried out on the wire."""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from .area import FileArea
from .records import RECEIVED, SERVED

log = logging.getLogger("benchctl.transfer.http")
CHUNK = 64 * 1024


class _Handler(BaseHTTPRequestHandler):
    server_version = "benchctl-files/1"
    protocol_version = "HTTP/1.1"
    area: FileArea  # set on the subclass made per server

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.client_address[0], format % args)

    def _url_path(self) -> str:
        return unquote(urlsplit(self.path).path)

    def _drop(self) -> None:
        """The `closed` mode: no status line at all, the connection just ends."""
        self.close_connection = True

    def _reply(self, code: int, body: bytes = b"") -> None:
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_GET(self) -> None:
        url_path = self._url_path()
        target = self.area.resolve(url_path)
        if target.mode == "closed":
            self.area.record(SERVED, "http", url_path, b"", False, target.mode, "connection closed")
            return self._drop()
        if target.mode == "refused":
            self.area.record(SERVED, "http", url_path, b"", False, target.mode, "refused (403)")
            return self._reply(403, b"refused\n")
        if target.path is None or not target.path.is_file():
            self.area.record(SERVED, "http", url_path, b"", False, target.mode, "not found (404)")
            return self._reply(404, b"not found\n")
        data = target.path.read_bytes()
        sent = data[:len(data) // 2] if target.mode == "interrupted" else data
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))  # the whole size: a cut transfer is detectable
        self.end_headers()
        try:
            self.wfile.write(sent)
            self.wfile.flush()
        except OSError as exc:
            self.area.record(SERVED, "http", url_path, b"", False, target.mode, f"client went away: {exc}")
            self.close_connection = True
            return
        complete = len(sent) == len(data)
        self.area.record(SERVED, "http", url_path, sent, complete, target.mode,
                         None if complete else "cut after half the file")
        if not complete:
            self.close_connection = True

    def _upload(self) -> None:
        url_path = self._url_path()
        target = self.area.resolve(url_path)
        if target.mode == "closed":
            self.area.record(RECEIVED, "http", url_path, b"", False, target.mode, "connection closed")
            return self._drop()
        if target.mode == "refused":
            self.area.record(RECEIVED, "http", url_path, b"", False, target.mode, "refused (403)")
            self.close_connection = True  # the body is not read: the connection cannot be reused
            return self._reply(403, b"refused\n")
        if target.path is None or not target.name or not target.path.parent.is_dir():
            self.area.record(RECEIVED, "http", url_path, b"", False, target.mode, "no such location (404)")
            self.close_connection = True
            return self._reply(404, b"no such location\n")
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self.area.record(RECEIVED, "http", url_path, b"", False, target.mode, "no Content-Length (411)")
            self.close_connection = True
            return self._reply(411, b"Content-Length required\n")
        wanted = length // 2 if target.mode == "interrupted" else length
        body = bytearray()
        error = None
        try:
            while len(body) < wanted:
                chunk = self.rfile.read(min(CHUNK, wanted - len(body)))
                if not chunk:
                    break
                body += chunk
        except OSError as exc:
            error = f"connection lost: {exc}"
        data = bytes(body)
        target.path.write_bytes(data)
        if target.mode == "interrupted":
            self.area.record(RECEIVED, "http", url_path, data, False, target.mode, "dropped after half the upload")
            return self._drop()
        if len(data) < length:
            self.area.record(RECEIVED, "http", url_path, data, False, target.mode,
                             error or f"connection closed after {len(data)} of {length} bytes")
            self.close_connection = True
            return
        self.area.record(RECEIVED, "http", url_path, data, True, target.mode)
        self._reply(201, b"stored\n")

    do_PUT = _upload
    do_POST = _upload


class HttpFileServer:
    def __init__(self, area: FileArea, host: str, port: int = 0) -> None:
        handler = type("Handler", (_Handler,), {"area": area})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.httpd.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="benchctl-http-files", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(5)
        self.httpd.server_close()
