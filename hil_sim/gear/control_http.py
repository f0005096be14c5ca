"""The simulated hardware behind a small REST API, as a charger firmware's simulation API offers one (aiohttp,
loopback only). Commands answer 204; a bad value 400, an unknown connector or switch 404.

    POST   /api/connectors/{cid}/ev/plug              the EV side plugged in
    POST   /api/connectors/{cid}/ev/unplug
    PUT    /api/connectors/{cid}/ev/state             {"state": "C"}
    PUT    /api/connectors/{cid}/ev/diode_fault       {"fault": true}
    PUT    /api/connectors/{cid}/ev/pp_rating         {"amps": 32}
    GET    /api/connectors/{cid}/cp                   {"state", "duty_pct", "high_v", "low_v", "frequency_hz", ...}
    PUT    /api/reader/card                           {"uid": "04A1B2C3"}
    DELETE /api/reader/card
    GET    /api/reader                                {"uid": ... or null}
    PUT    /api/switches/{name}                       {"on": false}   mains, network, cable, ground_fault, ...
    GET    /api/switches/{name}                       {"on": true}
    GET    /api/connectors/{cid}/meter                {"voltage_v": [...], "current_a": [...], "power_w", ...}
    GET    /api/health                                {"ok": true}
"""

from __future__ import annotations

import json
from typing import Any, Awaitable, Callable

from aiohttp import web

from ..world import World
from .control import ControlError, ControlPanel
from .modbus_gear import _check_loopback

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class HTTPControl:
    def __init__(self, world: World, host: str = "127.0.0.1", port: int = 0) -> None:
        _check_loopback(host)
        self.panel = ControlPanel(world)
        self.host, self.port = host, port
        self.requests = 0  # how many requests it served (tests see the gear was driven through it)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        app = web.Application(middlewares=[self._errors])
        p, cid = self.panel, "/api/connectors/{cid}"
        app.router.add_post(f"{cid}/ev/plug", self._command(lambda r, b: p.set_plugged(r["cid"], True)))
        app.router.add_post(f"{cid}/ev/unplug", self._command(lambda r, b: p.set_plugged(r["cid"], False)))
        app.router.add_put(f"{cid}/ev/state", self._command(lambda r, b: p.set_cp_state(r["cid"], b.get("state"))))
        app.router.add_put(f"{cid}/ev/diode_fault",
                           self._command(lambda r, b: p.set_diode_fault(r["cid"], b.get("fault"))))
        app.router.add_put(f"{cid}/ev/pp_rating", self._command(lambda r, b: p.set_pp_rating(r["cid"], b.get("amps"))))
        app.router.add_get(f"{cid}/cp", self._read(lambda r: p.cp(r["cid"])))
        app.router.add_get(f"{cid}/meter", self._read(lambda r: p.meter(r["cid"])))
        app.router.add_put("/api/reader/card", self._command(lambda r, b: p.set_card(b.get("uid"))))
        app.router.add_delete("/api/reader/card", self._command(lambda r, b: p.set_card(None)))
        app.router.add_get("/api/reader", self._read(lambda r: p.card()))
        app.router.add_put("/api/switches/{name}", self._command(lambda r, b: p.set_switch(r["name"], b.get("on"))))
        app.router.add_get("/api/switches/{name}",
                           self._read(lambda r: {"on": p.switch(r["name"]).get(p.world)}))
        app.router.add_get("/api/health", self._read(lambda r: {"ok": True}))
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = self._runner.addresses[0][1]  # the port it bound (port 0 picks one)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    @web.middleware
    async def _errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.requests += 1
        try:
            return await handler(request)
        except ControlError as exc:
            return web.json_response({"error": str(exc)}, status=404 if exc.missing else 400)

    @staticmethod
    def _command(do: Callable[[Any, dict[str, Any]], None]) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            body: Any = {}
            if request.can_read_body:
                try:
                    body = await request.json()
                except json.JSONDecodeError:
                    raise ControlError("the body is not JSON") from None
            if not isinstance(body, dict):
                raise ControlError(f"the body must be a JSON object, not {body!r}")
            do(request.match_info, body)
            return web.Response(status=204)

        return handle

    @staticmethod
    def _read(get: Callable[[Any], dict[str, Any]]) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            return web.json_response(get(request.match_info))

        return handle
