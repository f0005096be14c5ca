"""Software gear over HTTP: each action is a request declared in the bench config (aiohttp).

An action is a method, a URL template (absolute, or relative to `base_url`), an optional JSON body template,
the status that means success and a timeout; a read-back names, for each field, a JSON path into the answer.
A request answered with another status, or not answered in time, fails with the URL and the status in the
message (a DriverError), so the bench action fails and the run goes on after the safe state.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import aiohttp

from ..errors import DriverError
from .roles import SoftCardPresenter, SoftEVEmulator, SoftGear, SoftMeter, SoftOutput
from .settings import HttpEvSettings, HttpGearSettings, HttpOutputSettings
from .template import TemplateError, pick, render, render_body

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class HTTPAction:
    url: str
    method: str = "POST"
    body: Any = None  # a JSON body template, None: no body
    status: int = 200
    timeout_s: float | None = None  # None: the driver's
    fields: dict[str, str] = field(default_factory=dict)  # read-back: field -> JSON path into the answer

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> "HTTPAction":
        return cls(**{k: v for k, v in raw.items() if v is not None})


class HTTPActions:
    """The declared requests of one role, sent with one aiohttp session."""

    def __init__(self, settings: HttpGearSettings, fail: Callable[[str], DriverError]) -> None:
        base_url = settings.base_url
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http:// or https:// URL, not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.address = self.base_url
        self.actions = {name: HTTPAction.of(raw) for name, raw in settings.actions.items() if raw is not None}
        for name, action in self.actions.items():
            if action.method not in METHODS:
                raise ValueError(f"action {name}: method must be one of {', '.join(METHODS)}, not {action.method!r}")
        self.timeout_s = settings.timeout_s
        self.headers = dict(settings.headers or {})
        self._fail = fail
        self._session: aiohttp.ClientSession | None = None

    def has(self, action: str) -> bool:
        return action in self.actions

    async def open(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(headers=self.headers)

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def url(self, action: HTTPAction, values: Mapping[str, Any]) -> str:
        url = render(action.url, values)
        return url if url.startswith(("http://", "https://")) else f"{self.base_url}/{url.lstrip('/')}"

    async def perform(self, action: str, values: Mapping[str, Any]) -> None:
        await self._send(action, values)

    async def read(self, action: str, values: Mapping[str, Any]) -> dict[str, Any]:
        answer, where = await self._send(action, values)
        out = {}
        for name, path in self.actions[action].fields.items():
            try:
                out[name] = pick(answer, path)
            except TemplateError as exc:
                raise self._fail(f"{where}: field {name}: {exc}") from None
        return out

    async def _send(self, name: str, values: Mapping[str, Any]) -> tuple[Any, str]:
        """(decoded JSON answer or None, "METHOD URL") of one request; DriverError on any failure."""
        action = self.actions[name]
        url = self.url(action, values)
        where = f"{action.method} {url}"
        body = render_body(action.body, values) if action.body is not None else None
        timeout = action.timeout_s if action.timeout_s is not None else self.timeout_s
        await self.open()
        assert self._session is not None
        try:
            async with asyncio.timeout(timeout):
                async with self._session.request(action.method, url, json=body) as response:
                    text = await response.text()
                    status = response.status
        except TimeoutError:
            raise self._fail(f"{where}: no answer within {timeout:g} s (no status)") from None
        except aiohttp.ClientError as exc:
            raise self._fail(f"{where}: {type(exc).__name__}: {exc} (no status)") from None
        if status != action.status:
            raise self._fail(f"{where}: status {status}, expected {action.status}: {text[:200]}")
        if not action.fields:
            return None, where
        try:
            return json.loads(text), where
        except ValueError:
            raise self._fail(f"{where}: status {status} but the answer is not JSON: {text[:200]}") from None


class HTTPGear(SoftGear):
    """What every HTTP software-gear driver takes (HttpGearSettings); a role's own settings go to `configure`."""

    backend = "HTTP"
    transport_name = "http"
    on_lost = "whatever the firmware's simulation API does without its client: usually it keeps its last state."

    @classmethod
    def make_transport(cls, role: str, settings: Any, fail: Callable[[str], DriverError]) -> HTTPActions:
        return HTTPActions(settings, fail)


class HTTPEVEmulator(HTTPGear, SoftEVEmulator):
    """An EV emulator simulated by the firmware, reached over its HTTP simulation API."""

    settings = HttpEvSettings
    summary = "software gear: ev actions as HTTP requests declared in the bench config"


class HTTPCardPresenter(HTTPGear, SoftCardPresenter):
    """A card in front of the simulated reader, over HTTP."""

    settings = HttpGearSettings
    summary = "software gear: card actions as HTTP requests declared in the bench config"


class HTTPOutput(HTTPGear, SoftOutput):
    """A switch of the simulated hardware (mains, network, cable, a fault...), over HTTP."""

    settings = HttpOutputSettings
    summary = "software gear: switch actions as HTTP requests declared in the bench config"


class HTTPMeter(HTTPGear, SoftMeter):
    """The reference meter's reading, from an HTTP answer."""

    settings = HttpGearSettings
    summary = "software gear: meter actions as HTTP requests declared in the bench config"
