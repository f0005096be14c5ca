"""Huawei E3372h in HiLink mode: the stick is a small router with an XML-over-HTTP API (192.168.8.1).

Session: GET /api/webserver/SesTokInfo answers <SesInfo> (the session cookie, "SessionID=...") and
<TokInfo> (a request verification token). Every request then carries `Cookie: <SesInfo>` and the header
`__RequestVerificationToken: <token>`. The token is good for one POST: the POST's answer names the next one
in its `__RequestVerificationToken` header (several "#"-separated ones on some firmware: the first is used).

Answers are XML: <response>...</response>, or <error><code>N</code><message/></error> with HTTP 200.
125001/125002/125003 (wrong token / session / session token: the stick rebooted, the session expired, a
token was used twice) -> the driver does the handshake again and retries the request once; 100003 (no
rights: this firmware wants a login) and every other code -> HiLinkError (a DriverError) with the code.

  GET  /api/device/signal       rssi, rsrp, rsrq, sinr, rscp, ecio ("-67dBm", "-10.5dB", ">=-51dBm"), mode
  GET  /api/net/net-mode        NetworkMode 00 auto / 01 2G / 02 3G / 03 4G, NetworkBand, LTEBand
  POST /api/net/net-mode        <request><NetworkMode/><NetworkBand/><LTEBand/></request>
  GET  /api/monitoring/status   CurrentNetworkType(Ex), ConnectionStatus

HTTP is aiohttp's client (one connection per request), every request bounded by `timeout_s` and tried
`retries` more times when the stick does not answer.
"""

from __future__ import annotations

import asyncio
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

import aiohttp

from ..errors import DriverError
from ..retry import RetryPolicy
from ..steplog import StepLog, step
from .protocol import (
    ACQ_ORDER_FOR_GENERATION,
    DongleProtocol,
    Signal,
    generation_for_acq_order,
    normalize_generation,
)
from .settings import HiLinkSettings

SESTOKINFO = "/api/webserver/SesTokInfo"
SIGNAL = "/api/device/signal"
NET_MODE = "/api/net/net-mode"
STATUS = "/api/monitoring/status"
TOKEN_HEADER = "__RequestVerificationToken"
ALL_BANDS = "3FFFFFFF"
ALL_LTE_BANDS = "7FFFFFFFFFFFFFFF"

SESSION_ERRORS = {125001, 125002, 125003}
NO_RIGHTS = 100003
ERROR_NAMES = {
    100002: "not supported by this firmware",
    100003: "no rights (this firmware wants a login)",
    100004: "system busy",
    100005: "format error",
    100006: "parameter error",
    108003: "already logged in",
    125001: "wrong token",
    125002: "wrong session",
    125003: "wrong session token",
}

# /api/device/signal <mode>
GENERATION_FOR_SIGNAL_MODE = {"0": "2G", "2": "3G", "7": "4G"}
# /api/monitoring/status CurrentNetworkTypeEx and CurrentNetworkType; 0 = no service, unknown codes -> None
GENERATION_FOR_NETWORK_TYPE_EX = {
    1: "2G", 2: "2G", 3: "2G",  # GSM, GPRS, EDGE
    41: "3G", 42: "3G", 43: "3G", 44: "3G", 45: "3G", 46: "3G",  # WCDMA .. DC-HSPA+
    61: "3G", 62: "3G", 63: "3G", 64: "3G", 65: "3G",  # TD-SCDMA family
    101: "4G",  # LTE
}
GENERATION_FOR_NETWORK_TYPE = {
    1: "2G", 2: "2G", 3: "2G",  # GSM, GPRS, EDGE
    4: "3G", 5: "3G", 6: "3G", 7: "3G", 8: "3G", 9: "3G", 17: "3G", 18: "3G",  # WCDMA .. HSPA+ MIMO
    19: "4G",  # LTE
}

MAX_BODY = 1024 * 1024
MAX_REASON = 300
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


class HiLinkError(DriverError):
    """The stick answered with an <error>; `code` is its number."""

    def __init__(self, role: str, backend: str, address: str, request: str, code: int, message: str = "") -> None:
        self.code = code
        self.request = request
        name = ERROR_NAMES.get(code, "")
        detail = f" ({name})" if name else ""
        if message:
            detail += f": {message}"
        super().__init__(role, backend, address, f"{request} answered error {code}{detail}")


class _Transport(Exception):
    """No usable HTTP answer that aiohttp lets through (too long)."""


def parse_xml(body: bytes) -> tuple[str, dict[str, str] | str]:
    """("response" | "error", {child: text} or the bare text); ValueError when it is not such XML."""
    try:
        root = ET.fromstring(body.strip())
    except ET.ParseError as exc:
        raise ValueError(f"not XML ({exc}): {body[:80]!r}") from exc
    children = list(root)
    if not children:
        return root.tag, (root.text or "").strip()
    return root.tag, {child.tag: (child.text or "").strip() for child in children}


def parse_figure(text: str | None) -> float | None:
    """"-67dBm" -> -67.0, ">=-51dBm" -> -51.0, "-10.5dB" -> -10.5; "" / None -> None."""
    if not text:
        return None
    match = _NUMBER.search(text)
    return float(match.group(0)) if match else None


def generation_for_status(status: dict[str, str]) -> str | None:
    for key, table in (("CurrentNetworkTypeEx", GENERATION_FOR_NETWORK_TYPE_EX),
                       ("CurrentNetworkType", GENERATION_FOR_NETWORK_TYPE)):
        value = status.get(key, "")
        if value.isdigit():
            return table.get(int(value))
    return None


class HiLinkDongle(DongleProtocol):
    """Huawei E3372h (HiLink firmware) over its HTTP API."""

    backend = "HiLink"
    kind = "dongle"
    settings = HiLinkSettings
    summary = "Huawei E3372h in HiLink mode: the stick's HTTP API"
    on_lost = (
        "as `e3372_at`."
    )

    def __init__(self, role: str, settings: HiLinkSettings, *, steplog: StepLog | None = None) -> None:
        if not settings.host:
            raise ValueError("host must not be empty")
        if isinstance(settings.port, bool) or not isinstance(settings.port, int) or not 1 <= settings.port <= 65535:
            raise ValueError(f"port must be 1..65535, not {settings.port!r}")
        policy = RetryPolicy(settings.timeout_s, settings.retries)  # checks both
        super().__init__(role, f"{settings.host}:{settings.port}", settings.link_endpoint, steplog)
        self.host = settings.host
        self.port = settings.port
        self._url = f"http://{f'[{self.host}]' if ':' in self.host else self.host}:{self.port}"
        self.timeout_s = policy.timeout_s
        self.retries = policy.retries
        self.handshakes = 0
        self._cookie: str | None = None
        self._token: str | None = None
        self._lock = asyncio.Lock()  # one request at a time: the token is a sequence

    # lifecycle ------------------------------------------------------------------------------------

    async def connect(self) -> None:
        """Get a session and a token. Idempotent."""
        async with self._lock:
            if self._cookie is None:
                await self._handshake()

    async def close(self) -> None:
        """Forget the session (the stick drops it by itself after a while)."""
        self._cookie = self._token = None

    async def _handshake(self) -> None:
        self._cookie = self._token = None
        answer = await self._request("GET", SESTOKINFO, session=False)
        if not isinstance(answer, dict) or not answer.get("SesInfo") or not answer.get("TokInfo"):
            raise self.error(f"GET {SESTOKINFO} gave no SesInfo/TokInfo: {answer!r}")
        self._cookie, self._token = answer["SesInfo"], answer["TokInfo"]
        self.handshakes += 1

    # role commands --------------------------------------------------------------------------------

    @step
    async def set_generation(self, gen: str) -> None:
        """POST net-mode with the generation's NetworkMode (all bands), then read it back."""
        generation = normalize_generation(gen)
        mode = ACQ_ORDER_FOR_GENERATION[generation]
        body = (
            '<?xml version="1.0" encoding="UTF-8"?><request>'
            f"<NetworkMode>{mode}</NetworkMode><NetworkBand>{ALL_BANDS}</NetworkBand>"
            f"<LTEBand>{ALL_LTE_BANDS}</LTEBand></request>"
        )
        answer = await self._api("POST", NET_MODE, body)
        if answer != "OK":
            raise self.error(f"POST {NET_MODE} answered {answer!r}, not OK")
        now = await self._read_generation()
        if now != generation:
            raise self.error(f"asked for {generation} (NetworkMode {mode}), the stick reads back {now}")

    @step
    async def get_generation(self) -> str:
        return await self._read_generation()

    @step
    async def signal(self) -> Signal:
        """GET device/signal; the generation from its <mode>, else from monitoring/status."""
        return await self._read_signal()

    @step
    async def safe_state(self) -> None:
        """Leave the stick choosing its generation itself (auto), as it does out of the box."""
        await self.set_generation("auto")

    @step
    async def self_test(self) -> dict[str, Any]:
        status = self._mapping(await self._api("GET", STATUS), STATUS)
        generation = await self._read_generation()
        reading = await self._read_signal()
        return {
            "address": self.address,
            "generation": generation,
            "network_type": status.get("CurrentNetworkType"),
            "connection_status": status.get("ConnectionStatus"),
            "signal": reading.as_dict(),
        }

    async def _read_generation(self) -> str:
        answer = self._mapping(await self._api("GET", NET_MODE), NET_MODE)
        try:
            return generation_for_acq_order(answer.get("NetworkMode", ""))
        except ValueError as exc:
            raise self.error(f"GET {NET_MODE}: NetworkMode: {exc}") from exc

    async def _read_signal(self) -> Signal:
        answer = self._mapping(await self._api("GET", SIGNAL), SIGNAL)
        mode = answer.get("mode", "")
        if mode in GENERATION_FOR_SIGNAL_MODE:
            generation: str | None = GENERATION_FOR_SIGNAL_MODE[mode]
        else:
            generation = generation_for_status(self._mapping(await self._api("GET", STATUS), STATUS))
        figures = {name: parse_figure(answer.get(name)) for name in ("rssi", "rsrp", "sinr", "rsrq", "rscp", "ecio")}
        return Signal(
            generation=generation,
            csq=None,
            rssi_dbm=figures["rssi"],
            rsrp_dbm=figures["rsrp"],
            sinr_db=figures["sinr"],
            rsrq_db=figures["rsrq"],
            rscp_dbm=figures["rscp"],
            ecio_db=figures["ecio"],
        )

    def _mapping(self, answer: dict[str, str] | str, path: str) -> dict[str, str]:
        if not isinstance(answer, dict):
            raise self.error(f"GET {path} answered {answer!r}, expected fields")
        return answer

    # API ------------------------------------------------------------------------------------------

    async def _api(self, method: str, path: str, body: str | None = None) -> dict[str, str] | str:
        """One API request with the session; a session/token error is healed by one new handshake."""
        async with self._lock:
            if self._cookie is None:
                await self._handshake()
            try:
                return await self._request(method, path, body)
            except HiLinkError as exc:
                if exc.code not in SESSION_ERRORS:
                    raise
            await self._handshake()
            return await self._request(method, path, body)

    async def _request(self, method: str, path: str, body: str | None = None, session: bool = True
                       ) -> dict[str, str] | str:
        headers = {"Accept": "*/*", "X-Requested-With": "XMLHttpRequest"}
        if session:
            if self._cookie:
                headers["Cookie"] = self._cookie
            if self._token:
                headers[TOKEN_HEADER] = self._token
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded; charset=UTF-8"
        what = f"{method} {path}"
        status, answer_headers, data = await self._http(method, path, headers, body)
        token = answer_headers.get(TOKEN_HEADER, "")
        fresh = next((t for t in token.split("#") if t.strip()), "")
        if fresh:
            self._token = fresh.strip()
        cookie = answer_headers.get("Set-Cookie", "")
        if cookie.startswith("SessionID="):
            self._cookie = cookie.split(";")[0]
        if status != 200:
            raise self.error(f"{what}: HTTP {status}")
        try:
            tag, content = parse_xml(data)
        except ValueError as exc:
            raise self.error(f"{what}: {exc}") from exc
        if tag == "error":
            fields = content if isinstance(content, dict) else {}
            code = fields.get("code", "")
            if not code.isdigit():
                raise self.error(f"{what}: error answer without a code: {data[:200]!r}")
            raise HiLinkError(self.role, self.backend, self.address, what, int(code), fields.get("message", ""))
        if tag != "response":
            raise self.error(f"{what}: unexpected XML <{tag}>")
        return content

    # HTTP -----------------------------------------------------------------------------------------

    async def _http(self, method: str, path: str, headers: dict[str, str], body: str | None
                    ) -> tuple[int, Mapping[str, str], bytes]:
        attempts = self.retries + 1
        last = ""
        for _ in range(attempts):
            try:
                async with asyncio.timeout(self.timeout_s):
                    return await self._http_once(method, path, headers, body)
            except TimeoutError:
                last = f"no answer within {self.timeout_s:g} s"
            except _Transport as exc:
                last = str(exc)
            except aiohttp.ClientError as exc:
                last = _describe(exc)
        raise self.error(f"{method} {path}: {last} ({attempts} attempt{'s' if attempts > 1 else ''})")

    async def _http_once(self, method: str, path: str, headers: dict[str, str], body: str | None
                         ) -> tuple[int, Mapping[str, str], bytes]:
        # A session per request on a connection per request: the stick's small web server is not asked to
        # keep connections, and a retry after a hung answer starts on a fresh one. The driver keeps the
        # session cookie itself (it goes with the token sequence), so the session's cookie jar stays empty.
        connector = aiohttp.TCPConnector(force_close=True)
        async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar()) as http:
            payload = body.encode("utf-8") if body is not None else None
            async with http.request(method, self._url + path, headers=headers, data=payload,
                                    allow_redirects=False) as answer:
                data = bytearray()
                async for block in answer.content.iter_any():  # a Content-Length or a chunked answer
                    data += block
                    if len(data) > MAX_BODY:
                        raise _Transport(f"answer longer than {MAX_BODY} bytes")
                return answer.status, answer.headers, bytes(data)


def _describe(exc: aiohttp.ClientError) -> str:
    """One line for the error: aiohttp's parser messages span lines and give a parse error a status (400)."""
    if isinstance(exc, aiohttp.ClientResponseError):  # raised by the parser: this driver never asks for it
        text = f"not a valid HTTP answer: {exc.message}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())[:MAX_REASON]
