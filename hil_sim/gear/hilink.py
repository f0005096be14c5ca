"""A simulated Huawei E3372h in HiLink mode: its XML-over-HTTP API on loopback.

Sessions and tokens are checked as the stick does: GET /api/webserver/SesTokInfo opens a session (or gives
a new token for the session the request's cookie names) and answers <SesInfo>SessionID=...</SesInfo> and
<TokInfo>; every other API request needs that cookie (else error 125002), a POST also needs a valid token
in `__RequestVerificationToken` (else 125003). A token is good for one POST: the POST uses it up and its
answer carries the next one in the `__RequestVerificationToken` header, so a reused token is refused.

Endpoints: GET /api/device/signal, GET/POST /api/net/net-mode, GET /api/monitoring/status; the others
answer error 100002 (not supported). The generation and the signal live in the world's CellularLink,
shared with the AT simulator and the link endpoint.

Faults: `expire_session()` forgets every session (as after a reboot or the stick's idle timeout);
`inject_error(path, code, times)` makes the next requests to a path answer an error code; `hang` accepts
requests and never answers. `chunked` sends every answer with Transfer-Encoding: chunked, in several
chunks, instead of with a Content-Length: an HTTP/1.1 server may answer either way, the driver must read both.
"""

from __future__ import annotations

import asyncio
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web

from ..world import World
from .cellular import CellularLink

SESTOKINFO = "/api/webserver/SesTokInfo"
SIGNAL = "/api/device/signal"
NET_MODE = "/api/net/net-mode"
STATUS = "/api/monitoring/status"
TOKEN_HEADER = "__RequestVerificationToken"

WRONG_SESSION = 125002
WRONG_SESSION_TOKEN = 125003
NOT_SUPPORTED = 100002
FORMAT_ERROR = 100005
PARAMETER_ERROR = 100006

NETWORK_MODES = {"00": "auto", "01": "2G", "02": "3G", "03": "4G"}
SIGNAL_MODE = {"2G": "0", "3G": "2", "4G": "7"}
# (CurrentNetworkType, CurrentNetworkTypeEx) per serving generation: EDGE, HSPA+ (DC-HSPA+), LTE
NETWORK_TYPE = {None: ("0", "0"), "2G": ("3", "3"), "3G": ("9", "46"), "4G": ("19", "101")}
CONNECTED, DISCONNECTED = "901", "902"

MAX_BODY = 64 * 1024
CHUNK = 64  # bytes per chunk when `chunked`: an answer comes in several
SHUTDOWN_S = 1.0
MAX_TOKENS_PER_SESSION = 16


@dataclass
class Request:
    method: str
    path: str
    outcome: str  # "ok" or "error <code>"


def _xml(root: str, fields: dict[str, str] | None = None, text: str = "") -> bytes:
    inner = "".join(f"<{k}>{v}</{k}>\r\n" for k, v in (fields or {}).items())
    body = f"\r\n{inner}" if fields else text
    return f'<?xml version="1.0" encoding="UTF-8"?>\r\n<{root}>{body}</{root}>\r\n'.encode("utf-8")


def _figure(value: float | None, unit: str) -> str:
    return "" if value is None else f"{value:g}{unit}"


class SimHiLink:
    """HiLink API on `host`; `port` 0 picks a free one (read `.port` after start())."""

    def __init__(self, world: World, host: str = "127.0.0.1", port: int = 0, *,
                 cellular: CellularLink | None = None) -> None:
        self.world = world
        self.cellular = cellular if cellular is not None else CellularLink.of(world)
        self.host = host
        self.port = port
        self.hang = False
        self.network_band = "3FFFFFFF"
        self.lte_band = "7FFFFFFFFFFFFFFF"
        self.sessions: dict[str, list[str]] = {}  # SessionID -> tokens still valid for a POST
        self.handshakes = 0
        self.requests: list[Request] = []
        self._errors: dict[str, list[int]] = {}
        self.chunked = False
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()

    # lifecycle ------------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._runner is not None:
            return
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_route("*", "/{path:.*}", self._handle)
        self._closing.clear()
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_S)
        await runner.setup()
        await web.TCPSite(runner, self.host, self.port).start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._closing.set()  # a hung request ends now, not after the shutdown timeout
        await runner.cleanup()

    # faults ---------------------------------------------------------------------------------------

    def expire_session(self) -> None:
        """Forget every session and token: the next request with an old cookie gets error 125002."""
        self.sessions.clear()

    def inject_error(self, path: str, code: int, times: int = 1) -> None:
        """The next `times` requests to `path` answer <error><code>code</code>."""
        self._errors.setdefault(path, []).extend([code] * times)

    # HTTP -----------------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if self.hang:
            await self._closing.wait()
            raise web.HTTPServiceUnavailable()
        body = await request.read()
        status, extra, payload = self._respond(request.method, request.path, request.headers, body)
        if not self.chunked:
            return web.Response(status=status, body=payload, headers=extra, content_type="text/html")
        answer = web.StreamResponse(status=status, headers=extra)
        answer.content_type = "text/html"
        answer.enable_chunked_encoding()
        await answer.prepare(request)
        for at in range(0, len(payload), CHUNK):
            await answer.write(payload[at:at + CHUNK])
        await answer.write_eof()
        return answer

    # API ------------------------------------------------------------------------------------------

    def _respond(self, method: str, path: str, headers: Mapping[str, str], body: bytes
                 ) -> tuple[int, dict[str, str], bytes]:
        if not path.startswith("/api/"):
            self.requests.append(Request(method, path, "http 404"))
            return 404, {}, b"Not Found"
        queued = self._errors.get(path)
        if queued:
            return self._error(method, path, queued.pop(0))
        if method == "GET" and path == SESTOKINFO:
            return self._sestokinfo(headers)
        session = self._session(headers)
        if session is None:
            return self._error(method, path, WRONG_SESSION)
        extra: dict[str, str] = {}
        if method == "POST":
            tokens = self.sessions[session]
            token = headers.get(TOKEN_HEADER, "")
            if token not in tokens:
                return self._error(method, path, WRONG_SESSION_TOKEN)
            tokens.remove(token)  # used up; the answer names the next one
            extra[TOKEN_HEADER] = self._new_token(session)
        handler = {
            ("GET", SIGNAL): self._signal,
            ("GET", NET_MODE): self._get_net_mode,
            ("POST", NET_MODE): self._post_net_mode,
            ("GET", STATUS): self._status,
        }.get((method, path))
        if handler is None:
            status, _, payload = self._error(method, path, NOT_SUPPORTED)
            return status, extra, payload
        result = handler(body)
        if isinstance(result, int):
            status, _, payload = self._error(method, path, result)
            return status, extra, payload
        self.requests.append(Request(method, path, "ok"))
        return 200, extra, result

    def _error(self, method: str, path: str, code: int) -> tuple[int, dict[str, str], bytes]:
        self.requests.append(Request(method, path, f"error {code}"))
        return 200, {}, _xml("error", {"code": str(code), "message": ""})

    def _session(self, headers: Mapping[str, str]) -> str | None:
        for part in headers.get("Cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == "SessionID" and value in self.sessions:
                return value
        return None

    def _new_token(self, session: str) -> str:
        token = secrets.token_hex(16)
        tokens = self.sessions[session]
        tokens.append(token)
        del tokens[:-MAX_TOKENS_PER_SESSION]
        return token

    def _sestokinfo(self, headers: Mapping[str, str]) -> tuple[int, dict[str, str], bytes]:
        session = self._session(headers)
        if session is None:
            session = secrets.token_hex(32)
            self.sessions[session] = []
        token = self._new_token(session)
        self.handshakes += 1
        self.requests.append(Request("GET", SESTOKINFO, "ok"))
        return 200, {}, _xml("response", {"SesInfo": f"SessionID={session}", "TokInfo": token})

    def _signal(self, _: bytes) -> bytes:
        serving = self.cellular.serving()
        s = self.cellular.signal()
        return _xml("response", {
            "pci": "" if serving != "4G" else "283",
            "sc": "",
            "cell_id": "" if serving is None else "20878337",
            "rsrq": _figure(s.rsrq_db if s else None, "dB"),
            "rsrp": _figure(s.rsrp_dbm if s else None, "dBm"),
            "rssi": _figure(s.rssi_dbm if s else None, "dBm"),
            "sinr": _figure(s.sinr_db if s else None, "dB"),
            "rscp": _figure(s.rscp_dbm if s else None, "dBm"),
            "ecio": _figure(s.ecio_db if s else None, "dB"),
            "mode": SIGNAL_MODE.get(serving or "", ""),
        })

    def _get_net_mode(self, _: bytes) -> bytes:
        mode = next(k for k, v in NETWORK_MODES.items() if v == self.cellular.generation)
        return _xml("response", {"NetworkMode": mode, "NetworkBand": self.network_band, "LTEBand": self.lte_band})

    def _post_net_mode(self, body: bytes) -> bytes | int:
        try:
            root = ET.fromstring(body)
        except ET.ParseError:
            return FORMAT_ERROR
        if root.tag != "request":
            return FORMAT_ERROR
        mode = (root.findtext("NetworkMode") or "").strip()
        band = (root.findtext("NetworkBand") or "").strip()
        lte_band = (root.findtext("LTEBand") or "").strip()
        if mode not in NETWORK_MODES or not _hex(band) or not _hex(lte_band):
            return PARAMETER_ERROR
        self.cellular.set_generation(NETWORK_MODES[mode])
        self.network_band, self.lte_band = band.upper(), lte_band.upper()
        return _xml("response", text="OK")

    def _status(self, _: bytes) -> bytes:
        serving = self.cellular.serving()
        network_type, network_type_ex = NETWORK_TYPE[serving]
        return _xml("response", {
            "ConnectionStatus": DISCONNECTED if serving is None else CONNECTED,
            "SignalIcon": "0" if serving is None else "4",
            "CurrentNetworkType": network_type,
            "CurrentServiceDomain": "0" if serving is None else "3",
            "RoamingStatus": "0",
            "SimStatus": "1",
            "CurrentNetworkTypeEx": network_type_ex,
        })


def _hex(text: str) -> bool:
    return bool(text) and all(c in "0123456789abcdefABCDEF" for c in text)
