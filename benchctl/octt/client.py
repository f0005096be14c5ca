"""A client for the desktop OCTT's HTTP API (OCPP 1.6): list the cases, run one, read and answer its prompts.

Running a case blocks until the case ends, minutes later, so it has a timeout of its own; answering a prompt may
block for minutes too (public scripts give it minutes), so it has another; the other calls are short. An error
names the URL, the HTTP status and the body the tool answered with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiohttp

DEFAULT_TOOL_URL = "http://127.0.0.1:63341"
LIST_CASES, RUN_CASE = "/ocpp/getTestcases", "/ocpp/autoExecTestcase"
IS_WAITING, GET_PROMPT, ANSWER_PROMPT = "/ocpp/isWaitingOnPrompt", "/ocpp/getPrompt", "/ocpp/autoExecPrompt"
NO_TRANSACTION = -1  # the transactionID public scripts send before any transaction exists
DEFAULT_ANSWER_TIMEOUT_S = 600.0


class OcttError(Exception):
    """The tool did not answer a call as expected."""

    def __init__(self, method: str, url: str, reason: str, status: int | None = None, body: str = "") -> None:
        self.url, self.status, self.body = url, status, body
        where = f"{method} {url}"
        got = f": HTTP {status}" if status is not None else ""
        shown = body if len(body) <= 500 else body[:500] + "..."
        super().__init__(f"{where}{got}: {reason}" + (f"; body: {shown!r}" if body else ""))


@dataclass(frozen=True)
class ToolCase:
    name: str
    description: str


@dataclass(frozen=True)
class ToolVerdict:
    case: str
    result: str  # testCase_Result as the tool gave it ("PASS", "FAIL", ...)
    raw: dict[str, Any]


class OcttClient:
    def __init__(self, base_url: str = DEFAULT_TOOL_URL, *, run_timeout_s: float = 3600.0,
                 call_timeout_s: float = 10.0, answer_timeout_s: float = DEFAULT_ANSWER_TIMEOUT_S) -> None:
        self.base_url = base_url.rstrip("/")
        self.run_timeout_s = run_timeout_s
        self.call_timeout_s = call_timeout_s
        self.answer_timeout_s = answer_timeout_s
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> "OcttClient":
        # no connection limit: the case call holds one connection for minutes while the prompts are polled
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def list_cases(self) -> list[ToolCase]:
        url, body = await self._call("GET", LIST_CASES)
        data = _json(url, "GET", body)
        cases = data.get("testcases") if isinstance(data, dict) else None
        if not isinstance(cases, list):
            raise OcttError("GET", url, "no `testcases` list in the answer", 200, body)
        out = []
        for case in cases:
            if not isinstance(case, dict) or not isinstance(case.get("name"), str):
                raise OcttError("GET", url, f"a test case without a name: {case!r}", 200, body)
            out.append(ToolCase(case["name"], str(case.get("desc") or "")))
        return out

    async def run_case(self, case: str) -> ToolVerdict:
        """Start a case and wait for its end (the call blocks that long)."""
        url, body = await self._call("POST", RUN_CASE, {"testCaseID": case, "executionType": "start"},
                                     timeout=self.run_timeout_s)
        data = _json(url, "POST", body)
        result = data.get("testCase_Result") if isinstance(data, dict) else None
        if not isinstance(result, str):
            raise OcttError("POST", url, f"no testCase_Result for {case}", 200, body)
        return ToolVerdict(case, result, data)

    async def is_waiting_on_prompt(self) -> bool:
        """True only for a bare JSON `true`: anything else the tool says is "no prompt", as public scripts read it."""
        _, body = await self._call("GET", IS_WAITING)
        try:
            return json.loads(body) is True
        except json.JSONDecodeError:
            return False

    async def get_prompt(self) -> str:
        _, body = await self._call("GET", GET_PROMPT)
        # the text as it is, or a JSON string holding it: both are seen
        try:
            data = json.loads(body)
        except json.JSONDecodeError:
            return body
        return data if isinstance(data, str) else body

    async def answer_prompt(self, yes: bool, transaction_id: int | None) -> None:
        """Answer the open prompt; the tool may hold the call long after taking the answer."""
        await self._call("POST", ANSWER_PROMPT, {
            "continuePrompt": yes, "auto": "api",
            "transactionID": NO_TRANSACTION if transaction_id is None else transaction_id},
            timeout=self.answer_timeout_s)

    async def _call(self, method: str, path: str, payload: dict[str, Any] | None = None,
                    timeout: float | None = None) -> tuple[str, str]:
        if self._session is None:
            raise RuntimeError("use `async with OcttClient(...)`")
        url = self.base_url + path
        limit = aiohttp.ClientTimeout(total=timeout or self.call_timeout_s)
        try:
            async with self._session.request(method, url, json=payload, timeout=limit) as response:
                body = await response.text()
                if response.status >= 300:
                    raise OcttError(method, url, response.reason or "error", response.status, body)
                return url, body
        except TimeoutError as exc:
            raise OcttError(method, url, f"no answer within {timeout or self.call_timeout_s:.0f} s") from exc
        except aiohttp.ClientError as exc:
            raise OcttError(method, url, f"cannot reach the tool: {exc}") from exc


def _json(url: str, method: str, body: str) -> Any:
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        raise OcttError(method, url, f"not JSON ({exc.msg})", 200, body) from exc
