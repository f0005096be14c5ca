"""The charger's handshake through the proxy: the upstream decides (subprotocol, credentials, refusal)."""

from __future__ import annotations

import asyncio
import base64
import re
import socket

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from benchctl.csms.capture import Capture
from benchctl.proxy import OcppProxy

from recording_upstream import RecordingUpstream

BASIC = "Basic " + base64.b64encode(b"CP-1:\x01secret key\xff").decode()


async def test_subprotocols_and_basic_auth_pass_through(capture: Capture) -> None:
    # the upstream speaks only 2.0.1: the charger ends up with it, so the choice is the upstream's, not the proxy's
    upstream = RecordingUpstream(subprotocols=["ocpp2.0.1"])
    await upstream.start()
    proxy = OcppProxy(capture, upstream.url)
    await proxy.start()
    try:
        async with connect(f"{proxy.url}/CP-1?site=lab", subprotocols=["ocpp1.6", "ocpp2.0.1"],
                           additional_headers={"Authorization": BASIC}) as charger:
            side = await upstream.side("CP-1?site=lab")
            assert charger.subprotocol == "ocpp2.0.1"
            assert side.ws.subprotocol == "ocpp2.0.1"
            assert side.offered == ["ocpp1.6", "ocpp2.0.1"]
            assert side.authorization == BASIC
            assert side.path == "/ocpp/CP-1?site=lab"
    finally:
        await proxy.stop()
        await upstream.stop()


async def test_ocpp16_is_accepted_with_the_upstreams_choice(proxy: OcppProxy, upstream: RecordingUpstream) -> None:
    async with connect(f"{proxy.url}/CP-1", subprotocols=["ocpp1.6"]) as charger:
        side = await upstream.side("CP-1")
        assert charger.subprotocol == "ocpp1.6"
        assert side.authorization is None  # nothing invented when the charger sent none


async def test_charge_point_id_with_escapes_reaches_the_upstream_as_sent(proxy: OcppProxy,
                                                                        upstream: RecordingUpstream,
                                                                        capture: Capture) -> None:
    async with connect(f"{proxy.url}/CP%201", subprotocols=["ocpp1.6"]) as charger:
        await charger.send('[2,"1","Heartbeat",{}]')
        side = await upstream.side("CP%201")
        await side.wait_for(1)
    assert side.path == "/ocpp/CP%201"
    assert capture.read()[0].charge_point_id == "CP 1"


@pytest.mark.parametrize("status, headers", [
    (401, {"WWW-Authenticate": 'Basic realm="OCPP", charset="UTF-8"'}),
    (403, {}),
    (404, {}),
    (400, {"X-Reason": "bad charge point"}),
])
async def test_upstream_refusal_is_mirrored_to_the_charger(proxy: OcppProxy, upstream: RecordingUpstream,
                                                           status: int, headers: dict[str, str]) -> None:
    upstream.refuse["CP-1"] = (status, headers)
    with pytest.raises(InvalidStatus) as refused:
        await connect(f"{proxy.url}/CP-1", subprotocols=["ocpp1.6"], additional_headers={"Authorization": BASIC})
    response = refused.value.response
    assert response.status_code == status
    assert b"refused by the test upstream" in response.body
    for name, value in headers.items():
        assert response.headers[name] == value
    assert "CP-1" not in upstream.sides


async def test_unreachable_upstream_gives_the_charger_502(capture: Capture) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    proxy = OcppProxy(capture, f"ws://127.0.0.1:{dead}/ocpp")
    await proxy.start()
    try:
        with pytest.raises(InvalidStatus) as refused:
            await connect(f"{proxy.url}/CP-1", subprotocols=["ocpp1.6"])
        assert refused.value.response.status_code == 502
        assert f"127.0.0.1:{dead}".encode() in refused.value.response.body
    finally:
        await proxy.stop()


async def test_silent_upstream_gives_the_charger_504(capture: Capture) -> None:
    async def accept_and_say_nothing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1 << 16)
        await asyncio.sleep(5)

    server = await asyncio.start_server(accept_and_say_nothing, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    proxy = OcppProxy(capture, f"ws://127.0.0.1:{port}/ocpp", open_timeout=0.3)
    await proxy.start()
    try:
        with pytest.raises(InvalidStatus) as refused:
            await connect(f"{proxy.url}/CP-1", subprotocols=["ocpp1.6"])
        assert refused.value.response.status_code == 504
    finally:
        await proxy.stop()
        server.close()


@pytest.mark.parametrize("path", ["/ocpp", "/ocpp/", "/other/CP-1", "/ocpp/a/b"])
async def test_a_path_without_a_charge_point_id_is_refused(proxy: OcppProxy, upstream: RecordingUpstream,
                                                           path: str) -> None:
    with pytest.raises(InvalidStatus) as refused:
        await connect(f"ws://127.0.0.1:{proxy.port}{path}", subprotocols=["ocpp1.6"])
    assert refused.value.response.status_code == 404
    assert upstream.sides == {}


@pytest.mark.parametrize("url, message", [
    ("http://127.0.0.1:9000/ocpp", "expected a ws:// or wss:// URL"),
    ("ws://", "hostname isn't provided"),
    ("ws://127.0.0.1:9000/ocpp?token=1", "no query here"),
])
def test_upstream_must_be_a_websocket_url(capture: Capture, url: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        OcppProxy(capture, url)
