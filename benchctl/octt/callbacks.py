"""The newer tool's SUT API: instead of prompting, that tool calls the system under test to do a physical step
(`/plugin`, `/plugout`, `/start`, `/stop`, `/reset?connector_id=N`). Each callback is answered with the bench
actions prompts.yaml lists for it. Loopback only unless a host is configured.

Every call is a step in the bench's step log (so in the run's actions.jsonl). An unknown connector is refused
with 404, a malformed one with 400, a failed action with 500; each with the reason in the body.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from aiohttp import web

from benchctl.bench.actions import ACTIONS, missing_roles
from benchctl.bench.bench import Bench
from benchctl.scenario.values import UnknownVariable, substitute
from drivers.steplog import Step

from .prompts import PromptBook

ROLE = "sut_api"  # how the calls appear in the step log


class SutCallbackServer:
    def __init__(self, bench: Bench, book: PromptBook, *, host: str = "127.0.0.1", port: int = 0,
                 variables: Callable[[], dict[str, Any]] | None = None) -> None:
        self.bench = bench
        self.book = book
        self.host = host
        self.requested_port = port
        # the values actions refer to (${valid_id_tag}, ${transaction_id_tag}, ...), read at each call
        self.variables = variables or (lambda: {**bench.values, "transaction_id": None,
                                                "transaction_id_tag": bench.values["valid_id_tag"]})
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None

    async def start(self) -> None:
        app = web.Application()
        for path in self.book.callbacks:
            app.router.add_route("*", path, self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, self.host, self.requested_port)
        await self._site.start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = self._site = None

    @property
    def port(self) -> int:
        assert self._runner is not None and self._runner.addresses, "start() first"
        return int(self._runner.addresses[0][1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def _handle(self, request: web.Request) -> web.Response:
        path = request.path
        started, t0 = time.time(), time.monotonic()
        args: dict[str, Any] = {"method": request.method, "query": dict(request.query)}
        done: list[str] = []

        def reply(status: int, error: str | None = None) -> web.Response:
            self.bench.steplog.add(Step(ROLE, path, args, started, time.monotonic() - t0,
                                        result=None if error else {"actions": done}, error=error))
            body = {"ok": error is None, "callback": path, "actions": done}
            if error is not None:
                body["error"] = error
            return web.json_response(body, status=status)

        configured = int(self.bench.values["connector_id"])
        raw = request.query.get("connector_id")
        if raw is not None:
            try:
                connector_id = int(raw)
            except ValueError:
                return reply(400, f"connector_id must be a whole number, got {raw!r}")
        else:
            connector_id = configured
        args["connector_id"] = connector_id
        if connector_id != configured:
            return reply(404, f"unknown connector {connector_id}: this bench's gear is on connector {configured} "
                              f"(bench {self.bench.config.file}, values.connector_id)")
        for step in self.book.callbacks[path]:
            spec = ACTIONS[step.action]
            missing = missing_roles(self.bench, list(spec.roles))
            if missing:
                return reply(500, f"{step.action} needs the role(s) {', '.join(missing)}, which this bench lacks")
            try:
                kwargs = substitute(step.args, self.variables())
                await spec.func(self.bench, **kwargs)
            except UnknownVariable as exc:
                return reply(500, f"{step.action}: {exc}")
            except Exception as exc:  # the tool gets the reason; the bench keeps serving
                return reply(500, f"{step.action} failed: {exc}")
            done.append(step.action)
        return reply(200)
