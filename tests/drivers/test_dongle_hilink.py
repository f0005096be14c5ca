"""The E3372h HiLink driver against the simulated stick's HTTP API, on loopback."""

from __future__ import annotations

import asyncio
import http.client
import time
from collections.abc import AsyncIterator

import pytest

from drivers.dongle.hilink import HiLinkDongle, HiLinkError, generation_for_status, parse_figure, parse_xml
from drivers.dongle.protocol import Signal
from drivers.dongle.settings import HiLinkSettings
from drivers.errors import DriverError
from drivers.steplog import StepLog
from hil_sim.gear.cellular import CellSignal, CellularLink
from hil_sim.gear.hilink import NET_MODE, SESTOKINFO, SIGNAL, SimHiLink
from hil_sim.world import World

TIMEOUT_S = 0.5
MODE_BODY = ('<?xml version="1.0" encoding="UTF-8"?><request><NetworkMode>01</NetworkMode>'
             "<NetworkBand>3FFFFFFF</NetworkBand><LTEBand>7FFFFFFFFFFFFFFF</LTEBand></request>")


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def cellular(world: World) -> CellularLink:
    return CellularLink.of(world)


@pytest.fixture
async def sim(world: World) -> AsyncIterator[SimHiLink]:
    stick = SimHiLink(world)
    await stick.start()
    yield stick
    await stick.stop()


@pytest.fixture
async def driver(sim: SimHiLink) -> AsyncIterator[HiLinkDongle]:
    drv = HiLinkDongle("modem", HiLinkSettings(host="127.0.0.1", port=sim.port, timeout_s=TIMEOUT_S, retries=1), steplog=StepLog())
    await drv.connect()
    yield drv
    await drv.close()


def raw_request(port: int, method: str, path: str, headers: dict[str, str], body: str | None = None
                ) -> tuple[int, dict[str, str], str]:
    """A request by another HTTP client (the standard library's), to see what the stick enforces."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request(method, path, body=body, headers=headers)
        answer = conn.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read().decode()
    finally:
        conn.close()


def error_code(text: str) -> int | None:
    tag, content = parse_xml(text.encode())
    return int(content["code"]) if tag == "error" and isinstance(content, dict) else None


# session ------------------------------------------------------------------------------------------

async def test_handshake(driver: HiLinkDongle, sim: SimHiLink) -> None:
    assert sim.handshakes == 1 and driver.handshakes == 1
    assert len(sim.sessions) == 1
    session = next(iter(sim.sessions))
    assert driver._cookie == f"SessionID={session}"
    assert driver._token in sim.sessions[session]
    await driver.connect()  # idempotent
    assert sim.handshakes == 1


async def test_the_stick_wants_the_session(sim: SimHiLink) -> None:
    status, _, text = await asyncio.to_thread(raw_request, sim.port, "GET", SIGNAL, {})
    assert status == 200 and error_code(text) == 125002
    status, _, text = await asyncio.to_thread(raw_request, sim.port, "GET", SESTOKINFO, {})
    tag, fields = parse_xml(text.encode())
    assert tag == "response" and isinstance(fields, dict)
    cookie = {"Cookie": fields["SesInfo"]}
    _, _, text = await asyncio.to_thread(raw_request, sim.port, "GET", SIGNAL, cookie)
    assert error_code(text) is None
    # a POST also needs a token
    _, _, text = await asyncio.to_thread(raw_request, sim.port, "POST", NET_MODE, cookie, MODE_BODY)
    assert error_code(text) == 125003


async def test_token_rotation_is_enforced(driver: HiLinkDongle, sim: SimHiLink, cellular: CellularLink) -> None:
    first = driver._token
    assert first is not None and driver._cookie is not None
    await driver.set_generation("3G")
    second = driver._token
    assert second != first  # the POST's answer named the next token, and the driver took it
    await driver.set_generation("4G")
    assert driver._token not in (first, second)
    assert sim.handshakes == 1  # no new session was needed: rotation alone carried the POSTs

    # the used token is refused, the current one accepted once
    headers = {"Cookie": driver._cookie, "__RequestVerificationToken": second}
    _, _, text = await asyncio.to_thread(raw_request, sim.port, "POST", NET_MODE, headers, MODE_BODY)
    assert error_code(text) == 125003
    assert cellular.generation == "4G"
    headers["__RequestVerificationToken"] = driver._token
    _, answer_headers, text = await asyncio.to_thread(raw_request, sim.port, "POST", NET_MODE, headers, MODE_BODY)
    assert error_code(text) is None and cellular.generation == "2G"
    assert answer_headers["__requestverificationtoken"] not in (first, second, driver._token)
    _, _, text = await asyncio.to_thread(raw_request, sim.port, "POST", NET_MODE, headers, MODE_BODY)
    assert error_code(text) == 125003

    # the driver's token was used behind its back: it gets a new session once and goes on
    await driver.set_generation("auto")
    assert cellular.generation == "auto" and sim.handshakes == 2


@pytest.mark.parametrize("call", ["get", "set"])
async def test_expired_session_is_recovered_once(driver: HiLinkDongle, sim: SimHiLink, cellular: CellularLink,
                                                 call: str) -> None:
    sim.expire_session()
    if call == "get":
        assert await driver.get_generation() == "auto"
    else:
        await driver.set_generation("2G")
        assert cellular.generation == "2G"
    assert sim.handshakes == 2 and driver.handshakes == 2
    outcomes = [(r.method, r.path, r.outcome) for r in sim.requests]
    method = "GET" if call == "get" else "POST"
    assert outcomes[1:4] == [(method, NET_MODE, "error 125002"), ("GET", SESTOKINFO, "ok"),
                             (method, NET_MODE, "ok")]


async def test_session_error_again_after_the_new_handshake_is_an_error(driver: HiLinkDongle,
                                                                       sim: SimHiLink) -> None:
    sim.inject_error(NET_MODE, 125002, times=2)
    with pytest.raises(HiLinkError) as info:
        await driver.get_generation()
    assert info.value.code == 125002 and "125002" in str(info.value)
    assert sim.handshakes == 2  # one recovery, no loop


@pytest.mark.parametrize("code, words", [(100003, "no rights"), (100002, "not supported"),
                                         (100004, "system busy"), (112003, "")])
async def test_error_codes_are_driver_errors_with_the_code(driver: HiLinkDongle, sim: SimHiLink,
                                                           code: int, words: str) -> None:
    sim.inject_error(SIGNAL, code)
    with pytest.raises(DriverError) as info:
        await driver.signal()
    err = info.value
    assert isinstance(err, HiLinkError) and err.code == code
    assert (err.role, err.backend, err.address) == ("modem", "HiLink", f"127.0.0.1:{sim.port}")
    assert f"GET {SIGNAL} answered error {code}" in err.message and words in err.message
    assert sim.handshakes == 1  # not a session problem: no new handshake
    assert (await driver.signal()).generation == "4G"


# generation ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("gen, mode", [("2G", "01"), ("3G", "02"), ("4G", "03"), ("auto", "00")])
async def test_set_and_get_generation(driver: HiLinkDongle, sim: SimHiLink, cellular: CellularLink,
                                      gen: str, mode: str) -> None:
    cellular.set_generation("3G" if gen != "3G" else "4G")
    await driver.set_generation(gen)
    assert cellular.generation == gen
    assert await driver.get_generation() == gen
    assert ("POST", NET_MODE, "ok") in [(r.method, r.path, r.outcome) for r in sim.requests]


async def test_get_generation_reads_what_the_stick_is_set_to(driver: HiLinkDongle, cellular: CellularLink) -> None:
    for gen in ("2G", "4G", "auto", "3G"):
        cellular.set_generation(gen)
        assert await driver.get_generation() == gen


async def test_safe_state_is_auto(driver: HiLinkDongle, cellular: CellularLink) -> None:
    await driver.set_generation("2G")
    await driver.safe_state()
    assert cellular.generation == "auto"


# signal -------------------------------------------------------------------------------------------

SIGNAL_TABLE = [
    ("4G", CellSignal(rssi_dbm=-67, rsrp_dbm=-95, sinr_db=12, rsrq_db=-10.5),
     Signal("4G", rssi_dbm=-67, rsrp_dbm=-95, sinr_db=12, rsrq_db=-10.5)),
    ("3G", CellSignal(rssi_dbm=-71, rscp_dbm=-83, ecio_db=-6.5),
     Signal("3G", rssi_dbm=-71, rscp_dbm=-83, ecio_db=-6.5)),
    ("2G", CellSignal(rssi_dbm=-85), Signal("2G", rssi_dbm=-85)),
]


@pytest.mark.parametrize("gen, cell, expected", SIGNAL_TABLE)
async def test_signal_per_generation(driver: HiLinkDongle, cellular: CellularLink,
                                     gen: str, cell: CellSignal, expected: Signal) -> None:
    cellular.set_signal(gen, cell)
    await driver.set_generation(gen)
    assert await driver.signal() == expected


async def test_signal_without_service(driver: HiLinkDongle, sim: SimHiLink, cellular: CellularLink) -> None:
    cellular.set_coverage()
    assert await driver.signal() == Signal(None)
    assert sim.requests[-1].path == "/api/monitoring/status"  # no <mode>: the status tells


@pytest.mark.parametrize("text, value", [("-67dBm", -67.0), (">=-51dBm", -51.0), ("<=-113dBm", -113.0),
                                         ("-10.5dB", -10.5), ("12dB", 12.0), ("", None), (None, None),
                                         ("dBm", None)])
def test_parse_figure(text: str | None, value: float | None) -> None:
    assert parse_figure(text) == value


@pytest.mark.parametrize("status, gen", [
    ({"CurrentNetworkType": "19", "CurrentNetworkTypeEx": "101"}, "4G"),
    ({"CurrentNetworkType": "9"}, "3G"),
    ({"CurrentNetworkTypeEx": "46"}, "3G"),
    ({"CurrentNetworkType": "3"}, "2G"),
    ({"CurrentNetworkType": "0"}, None),
    ({}, None),
])
def test_generation_for_status(status: dict[str, str], gen: str | None) -> None:
    assert generation_for_status(status) == gen


async def test_self_test(driver: HiLinkDongle, sim: SimHiLink) -> None:
    result = await driver.self_test()
    assert result["generation"] == "auto" and result["network_type"] == "19"
    assert result["connection_status"] == "901" and result["signal"]["rsrp_dbm"] == -95


# transport ----------------------------------------------------------------------------------------

async def test_a_hung_stick_times_out(driver: HiLinkDongle, sim: SimHiLink) -> None:
    sim.hang = True
    t0 = time.monotonic()
    with pytest.raises(DriverError, match="no answer within 0.5 s \\(2 attempts\\)") as info:
        await driver.get_generation()
    assert time.monotonic() - t0 < 2 * TIMEOUT_S + 1.0
    assert info.value.backend == "HiLink"


async def test_a_chunked_answer_is_read(driver: HiLinkDongle, sim: SimHiLink, cellular: CellularLink) -> None:
    sim.chunked = True
    _, headers, text = await asyncio.to_thread(raw_request, sim.port, "GET", SESTOKINFO, {})
    assert headers.get("transfer-encoding") == "chunked" and "content-length" not in headers
    assert len(text) > 2 * 64  # more than one chunk
    await driver.set_generation("3G")  # a POST whose answer names the next token, then a read-back
    assert cellular.generation == "3G"
    result = await driver.self_test()
    assert result["generation"] == "3G" and result["signal"]["rscp_dbm"] is not None


BROKEN_ANSWERS = {
    "not HTTP": b"SSH-2.0-OpenSSH_9.6\r\n",
    "cut inside a chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n<?xml",
    "cut short of its length": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n<response>",
    "too long": b"HTTP/1.1 200 OK\r\nContent-Length: 1048577\r\n\r\n" + b" " * 1048577,
}


@pytest.mark.parametrize("what", list(BROKEN_ANSWERS))
async def test_a_broken_answer_names_the_request_and_what_went_wrong(what: str) -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(BROKEN_ANSWERS[what])
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    drv = HiLinkDongle("modem", HiLinkSettings(host="127.0.0.1", port=port, timeout_s=TIMEOUT_S, retries=1))
    try:
        with pytest.raises(DriverError) as info:
            await drv.connect()
    finally:
        server.close()
        await server.wait_closed()
    message = info.value.message
    assert message.startswith(f"GET {SESTOKINFO}: ") and message.endswith("(2 attempts)")
    assert "no answer within" not in message  # it failed at once, for what it was
    assert "\n" not in message
    assert ("not a valid HTTP answer: Bad status line" in message) == (what == "not HTTP")
    assert ("answer longer than 1048576 bytes" in message) == (what == "too long")
    assert ("ClientPayloadError" in message) == what.startswith("cut")


async def test_nothing_listening(world: World) -> None:
    stick = SimHiLink(world)
    await stick.start()
    port = stick.port
    await stick.stop()
    drv = HiLinkDongle("modem", HiLinkSettings(host="127.0.0.1", port=port, timeout_s=TIMEOUT_S, retries=0))
    with pytest.raises(DriverError) as info:
        await drv.connect()
    assert info.value.address == f"127.0.0.1:{port}" and SESTOKINFO in info.value.message


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError):
        HiLinkDongle("modem", HiLinkSettings(port=0))
    with pytest.raises(ValueError):
        HiLinkDongle("modem", HiLinkSettings(timeout_s=-1))
    assert HiLinkDongle("modem", HiLinkSettings()).address == "192.168.8.1:80"
