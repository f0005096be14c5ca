"""The newer tool's "SUT API": instead of prompting for a physical step it asks the system under test to do it.

Each step is a POST with an empty body to <sut_api>/<callback>?connector_id=N (plugin, plugout, start, stop,
reset), N the configured connector. Public orchestration code names the callbacks and reset's query parameter;
the method, the empty body and connector_id on every callback are our choice (the same shape as the public
SUT-side implementations, which take POST and query parameters). Any 2xx is success.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import aiohttp


class SutCallbackFailed(Exception):
    pass


@dataclass(frozen=True)
class SutCall:
    callback: str
    connector_id: int
    status: int
    body: str


class SutApi:
    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.calls: list[SutCall] = []

    async def callback(self, name: str, connector_id: int) -> SutCall:
        url = f"{self.base_url}/{name}"
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout)) as http:
                async with http.post(url, params={"connector_id": str(connector_id)}) as resp:
                    done = SutCall(name, connector_id, resp.status, await resp.text())
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise SutCallbackFailed(f"SUT callback POST {url}?connector_id={connector_id} failed: {exc}") from exc
        self.calls.append(done)
        if not 200 <= done.status < 300:
            raise SutCallbackFailed(f"SUT callback POST {url}?connector_id={connector_id} answered "
                                    f"{done.status}: {done.body.strip()[:200]}")
        return done
