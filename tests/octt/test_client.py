"""The tool's HTTP API client over the real wire (the stand-in serves it): answers parsed, errors naming the URL,
the HTTP status and the body."""

from __future__ import annotations

import pytest

from benchctl.octt.client import OcttClient, OcttError
from octt_standin import StandInTool

from octt_harness import free_port


async def test_cases_prompts_and_errors(sim_config) -> None:
    tool = StandInTool(dict(sim_config.values))
    await tool.start()
    try:
        async with OcttClient(tool.http_url, run_timeout_s=5) as client:
            cases = await client.list_cases()
            assert "TC_CP_V16_000_RESET" in [c.name for c in cases]
            assert all(c.description for c in cases)
            assert await client.is_waiting_on_prompt() is False
            with pytest.raises(OcttError) as caught:
                await client.run_case("TC_CP_V16_999")
            error = caught.value
            assert (error.url, error.status) == (f"{tool.http_url}/ocpp/autoExecTestcase", 404)
            assert "TC_CP_V16_999" in error.body and f"POST {tool.http_url}/ocpp/autoExecTestcase: HTTP 404" in str(error)
            with pytest.raises(OcttError, match=r"autoExecPrompt: HTTP 409.*no prompt is open"):
                await client.answer_prompt(True, None)
    finally:
        await tool.stop()


async def test_a_tool_that_is_not_there_is_named() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    async with OcttClient(url) as client:
        with pytest.raises(OcttError, match=rf"GET {url}/ocpp/getTestcases: cannot reach the tool"):
            await client.list_cases()
