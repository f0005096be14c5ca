"""The desktop tool's HTTP API (OCTT-AUTOMATION.md), served with aiohttp. Errors the real tool leaves undefined get
clear answers here: 400 for a malformed request, 404 for an unknown case, 409 for a second case or an answer
with no prompt open, each with a JSON {"error": ...}. `transactionID` must be an integer: public scripts send -1
before any transaction. Every call is counted (`StandInTool.calls`), so a test can bound a client's poll rate."""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .errors import CaseAlreadyRunning, UnknownCase
from .prompt_box import NoPromptOpen

if TYPE_CHECKING:
    from .tool import StandInTool

TOOL_KEY = web.AppKey("tool", object)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _json_object(request: web.Request) -> dict[str, Any] | web.Response:
    text = await request.text()
    try:
        body = json.loads(text)
    except ValueError as exc:
        return _error(400, f"body is not JSON: {exc}")
    if not isinstance(body, dict):
        return _error(400, "body must be a JSON object")
    return body


def _tool(request: web.Request) -> "StandInTool":
    return request.app[TOOL_KEY]  # type: ignore[return-value]


async def get_testcases(request: web.Request) -> web.Response:
    return web.json_response({"testcases": _tool(request).testcases()})


async def auto_exec_testcase(request: web.Request) -> web.Response:
    body = await _json_object(request)
    if isinstance(body, web.Response):
        return body
    name, kind = body.get("testCaseID"), body.get("executionType")
    if not isinstance(name, str) or not name:
        return _error(400, "testCaseID (a case name, e.g. TC_CP_V16_003) is missing")
    if kind != "start":
        return _error(400, f"executionType {kind!r} is not supported; only \"start\"")
    try:
        result = await _tool(request).run_case(name)
    except UnknownCase as exc:
        return _error(404, str(exc))
    except CaseAlreadyRunning as exc:
        return _error(409, str(exc))
    return web.json_response(result)


async def is_waiting_on_prompt(request: web.Request) -> web.Response:
    tool = _tool(request)
    # idle_waiting: what the tool answers with no prompt up; public scripts take anything but `true` as "no"
    return web.json_response(True if tool.box.flag else tool.idle_waiting)


async def get_prompt(request: web.Request) -> web.Response:
    return web.Response(text=_tool(request).box.shown_text or "", content_type="text/plain")


async def auto_exec_prompt(request: web.Request) -> web.Response:
    body = await _json_object(request)
    if isinstance(body, web.Response):
        return body
    yes = body.get("continuePrompt")
    if not isinstance(yes, bool):
        return _error(400, "continuePrompt must be true or false")
    transaction_id = body.get("transactionID")
    if not isinstance(transaction_id, int) or isinstance(transaction_id, bool):
        return _error(400, f"transactionID must be an integer (-1 before any transaction), got {transaction_id!r}")
    tool = _tool(request)
    try:
        text = tool.box.answer(yes, transaction_id, by=str(body.get("auto", "api")))
    except NoPromptOpen as exc:
        return _error(409, str(exc))
    # the click is taken at once; the call itself may block long after it (answer_delay_s)
    await asyncio.sleep(tool.answer_delay_s)
    return web.json_response({"prompt": text, "continuePrompt": yes})


@web.middleware
async def count_calls(request: web.Request, handler: Any) -> web.StreamResponse:
    _tool(request).calls.append((time.monotonic(), request.path))
    return await handler(request)


def build_app(tool: "StandInTool") -> web.Application:
    app = web.Application(middlewares=[count_calls])
    app[TOOL_KEY] = tool
    app.router.add_get("/ocpp/getTestcases", get_testcases)
    app.router.add_post("/ocpp/autoExecTestcase", auto_exec_testcase)
    app.router.add_get("/ocpp/isWaitingOnPrompt", is_waiting_on_prompt)
    app.router.add_get("/ocpp/getPrompt", get_prompt)
    app.router.add_post("/ocpp/autoExecPrompt", auto_exec_prompt)
    return app
