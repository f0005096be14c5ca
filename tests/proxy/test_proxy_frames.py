"""Frames through the proxy over real WebSockets: unchanged, in order, both directions, every one captured."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from benchctl.csms.capture import TO_CHARGER, TO_CSMS, Capture
from benchctl.proxy import OcppProxy
from benchctl.proxy import bridge as proxy_bridge

from recording_upstream import RecordingUpstream

# what a serializer would never produce: odd spacing, key order, escapes next to literal unicode, number spellings
ODD_TO_CSMS = [
    '[2,"b-1","BootNotification",{"chargePointVendor":"Acme","chargePointModel":"X1"}]',
    '[2 ,  "b-2" ,"BootNotification" ,\n\t{ "chargePointModel" : "Zaun\u00e9 \u26a1" ,'
    ' "chargePointVendor":"\\u00c9nergie" } ]  ',
    '[2,"m-1","MeterValues",{"connectorId":1,"meterValue":[{"timestamp":"2024-01-01T00:00:00.000Z",'
    '"sampledValue":[{"value":"1.50E+3"}]}],"transactionId":1}]',
    '[2,"\u30c6\u30b9\u30c8","Heartbeat",{}]',
]
ODD_TO_CHARGER = [
    '[3,"b-1",{"status":"Accepted","currentTime":"2024-01-01T00:00:00Z","interval":300}]',
    '[3 , "b-2",{ "interval" : 3e2 ,"currentTime":"2024-01-01T00:00:00.123456+00:00","status":"Pending"}]',
    '[2,"c-1","DataTransfer",{"vendorId":"\u00dcber \U0001f50c","data":"line1\\nline2 \\"q\\""}]',
]


def records(path: Path) -> list[dict[str, Any]]:
    """The capture file's records (one JSON object a line)."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


async def test_frames_pass_byte_for_byte_both_ways(proxy: OcppProxy, upstream: RecordingUpstream,
                                                   capture: Capture, tmp_path: Path) -> None:
    async with connect(f"{proxy.url}/CP-1", subprotocols=["ocpp1.6"]) as charger:
        for raw in ODD_TO_CSMS:
            await charger.send(raw)
        side = await upstream.side("CP-1")
        assert await side.wait_for(len(ODD_TO_CSMS)) == ODD_TO_CSMS
        for raw in ODD_TO_CHARGER:
            await side.ws.send(raw)
        got = [await asyncio.wait_for(charger.recv(), 5) for _ in ODD_TO_CHARGER]
    assert got == ODD_TO_CHARGER
    assert [(f.direction, f.frame.raw) for f in capture.read()] == \
        [(TO_CSMS, r) for r in ODD_TO_CSMS] + [(TO_CHARGER, r) for r in ODD_TO_CHARGER]
    on_disk = records(tmp_path / "capture.jsonl")
    assert [r["raw"] for r in on_disk] == ODD_TO_CSMS + ODD_TO_CHARGER
    assert [(r["cp"], r["type"], r["id"], r["action"], r["valid"]) for r in on_disk] == [
        ("CP-1", "CALL", "b-1", "BootNotification", True),
        ("CP-1", "CALL", "b-2", "BootNotification", True),
        ("CP-1", "CALL", "m-1", "MeterValues", True),
        ("CP-1", "CALL", "\u30c6\u30b9\u30c8", "Heartbeat", True),
        ("CP-1", "CALLRESULT", "b-1", "BootNotification", True),
        ("CP-1", "CALLRESULT", "b-2", "BootNotification", False),  # 3e2 is a JSON number, not an integer
        ("CP-1", "CALL", "c-1", "DataTransfer", True),
    ]
    assert "interval" in on_disk[5]["error"]
    # microsecond wall clock and monotonic time on every record, in order
    assert all(len(r["ts"].split(".")[1]) == len("123456+00:00") for r in on_disk)
    assert [r["mono"] for r in on_disk] == sorted(r["mono"] for r in on_disk)


INVALID = [
    ("{not json", "not JSON"),
    ('{"a": 1}', "not an OCPP-J message array"),
    ('[2,"x-1","BootNotification",{"chargePointModel":"X1"}]', "violates the schema"),
    ('[2,"x-2","NoSuchAction",{}]', "unknown action"),
    ('[3,"never-asked",{}]', "unknown unique id"),
    ("", "not JSON"),
]


async def test_invalid_frames_are_forwarded_and_flagged(proxy: OcppProxy, upstream: RecordingUpstream,
                                                        capture: Capture) -> None:
    async with connect(f"{proxy.url}/CP-1", subprotocols=["ocpp1.6"]) as charger:
        for raw, _ in INVALID:
            await charger.send(raw)
        side = await upstream.side("CP-1")
        assert await side.wait_for(len(INVALID)) == [raw for raw, _ in INVALID]
        # and the other way: garbage from the Central System reaches the charger too
        await side.ws.send("[3,\"b-1\",{\"status\":")
        assert await asyncio.wait_for(charger.recv(), 5) == "[3,\"b-1\",{\"status\":"
    flagged = [(f.frame.raw, f.frame.error) for f in capture.read()]
    assert [raw for raw, _ in flagged] == [raw for raw, _ in INVALID] + ["[3,\"b-1\",{\"status\":"]
    for (raw, why), (_, error) in zip(INVALID, flagged):
        assert error is not None and why in error, (raw, error)
    assert capture.read()[-1].frame.error is not None and capture.read()[-1].direction == TO_CHARGER


async def test_binary_frames_stay_binary_and_are_flagged(proxy: OcppProxy, upstream: RecordingUpstream,
                                                         capture: Capture) -> None:
    blob = bytes(range(256))
    async with connect(f"{proxy.url}/CP-1", subprotocols=["ocpp1.6"]) as charger:
        await charger.send(blob)
        await charger.send(b'[2,"h","Heartbeat",{}]')  # valid JSON, but in a binary frame
        side = await upstream.side("CP-1")
        assert await side.wait_for(2) == [blob, b'[2,"h","Heartbeat",{}]']
        await side.ws.send(b"\x00\x01binary")
        assert await asyncio.wait_for(charger.recv(), 5) == b"\x00\x01binary"
    assert [f.frame.error for f in capture.read()] == ["binary frame; OCPP-J uses text frames"] * 3


async def test_text_frame_with_invalid_utf8_is_forwarded_unchanged(capture: Capture) -> None:
    upstream = RecordingUpstream(decode=False)  # keeps the bytes of text frames as they came
    await upstream.start()
    proxy = OcppProxy(capture, upstream.url)
    await proxy.start()
    try:
        async with connect(f"{proxy.url}/CP-1", subprotocols=["ocpp1.6"]) as charger:
            await charger.send(b'[2,"u","Heartbeat",{"x":"\xff\xfe"}]', text=True)
            side = await upstream.side("CP-1")
            assert await side.wait_for(1) == [b'[2,"u","Heartbeat",{"x":"\xff\xfe"}]']
    finally:
        await proxy.stop()
        await upstream.stop()
    assert capture.read()[0].frame.error == "text frame is not valid UTF-8 at byte 25"


async def test_order_is_kept_under_a_burst_in_both_directions(proxy: OcppProxy, upstream: RecordingUpstream,
                                                              capture: Capture) -> None:
    n = 1500
    up = [f'[2,"u{i}","Heartbeat",{{}}]' for i in range(n)]
    down = [f'[2,"d{i}","ClearCache",{{}}]' for i in range(n)]
    async with connect(f"{proxy.url}/CP-1", subprotocols=["ocpp1.6"]) as charger:
        await charger.send(up[0])
        side = await upstream.side("CP-1")

        async def charger_sends() -> None:
            for raw in up[1:]:
                await charger.send(raw)

        async def upstream_sends() -> None:
            for raw in down:
                await side.ws.send(raw)

        async def charger_reads() -> list[str]:
            return [await charger.recv() for _ in down]

        _, _, got = await asyncio.wait_for(asyncio.gather(charger_sends(), upstream_sends(), charger_reads()), 20)
        assert await side.wait_for(n) == up
    assert got == down
    assert [f.frame.raw for f in capture.read() if f.direction == TO_CSMS] == up
    assert [f.frame.raw for f in capture.read() if f.direction == TO_CHARGER] == down
    assert [f.index for f in capture.read()] == list(range(2 * n))


async def test_a_slow_upstream_holds_the_charger_back_without_losing_or_reordering(
        proxy: OcppProxy, upstream: RecordingUpstream, capture: Capture) -> None:
    padding = "x" * 40000
    frames = [f'[2,"p{i}","DataTransfer",{{"vendorId":"bench","data":"{padding}"}}]' for i in range(300)]
    upstream.reading.clear()  # ~12 MB the upstream does not read: the proxy's buffers toward it fill up
    async with connect(f"{proxy.url}/CP-1", subprotocols=["ocpp1.6"]) as charger:
        sender = asyncio.gather(*(charger.send(f) for f in frames))
        try:
            # send() waits: capture goes first (however long a busy machine takes to fill the buffers)
            deadline = asyncio.get_running_loop().time() + 10
            while not any(bridge.upstream.paused for bridge in proxy.bridges):
                assert asyncio.get_running_loop().time() < deadline, "the proxy never held the charger back"
                await asyncio.sleep(0.05)
            assert capture.count < len(frames)  # held back, not buffered without limit
        finally:
            upstream.reading.set()
        await asyncio.wait_for(sender, 10)
        side = await upstream.side("CP-1")
        assert await side.wait_for(len(frames), timeout=10) == frames
    assert [f.frame.raw for f in capture.read()] == frames


async def test_same_unique_id_both_ways_is_not_mixed_up(proxy: OcppProxy, upstream: RecordingUpstream,
                                                        capture: Capture) -> None:
    async with connect(f"{proxy.url}/CP-1", subprotocols=["ocpp1.6"]) as charger:
        await charger.send('[2,"1","Heartbeat",{}]')
        side = await upstream.side("CP-1")
        await side.wait_for(1)
        await side.ws.send('[2,"1","ClearCache",{}]')
        assert await charger.recv() == '[2,"1","ClearCache",{}]'
        await charger.send('[3,"1",{"status":"Accepted"}]')
        await side.ws.send('[3,"1",{"currentTime":"2024-01-01T00:00:00Z"}]')
        await charger.recv()
        await side.wait_for(2)
    assert [(f.direction, f.frame.type_name, f.frame.action, f.frame.error) for f in capture.read()] == [
        (TO_CSMS, "CALL", "Heartbeat", None), (TO_CHARGER, "CALL", "ClearCache", None),
        (TO_CSMS, "CALLRESULT", "ClearCache", None), (TO_CHARGER, "CALLRESULT", "Heartbeat", None)]


async def test_a_failing_capture_listener_does_not_stop_the_traffic(proxy: OcppProxy, upstream: RecordingUpstream,
                                                                    capture: Capture) -> None:
    def broken(frame: object) -> None:
        raise RuntimeError("listener bug")

    capture.listeners.append(broken)
    async with connect(f"{proxy.url}/CP-1", subprotocols=["ocpp1.6"]) as charger:
        await charger.send('[2,"1","Heartbeat",{}]')
        await charger.send('[2,"2","Heartbeat",{}]')
        side = await upstream.side("CP-1")
        assert await side.wait_for(2) == ['[2,"1","Heartbeat",{}]', '[2,"2","Heartbeat",{}]']
    assert capture.count == 2


async def test_two_chargers_each_get_their_own_upstream_connection(proxy: OcppProxy, upstream: RecordingUpstream,
                                                                   capture: Capture) -> None:
    async with connect(f"{proxy.url}/CP-A", subprotocols=["ocpp1.6"]) as a, \
            connect(f"{proxy.url}/CP-B", subprotocols=["ocpp1.6"]) as b:
        await asyncio.gather(*(ws.send(f'[2,"{name}-{i}","Heartbeat",{{}}]')
                               for i in range(20) for name, ws in (("a", a), ("b", b))))
        side_a, side_b = await upstream.side("CP-A"), await upstream.side("CP-B")
        assert side_a.ws is not side_b.ws
        assert await side_a.wait_for(20) == [f'[2,"a-{i}","Heartbeat",{{}}]' for i in range(20)]
        assert await side_b.wait_for(20) == [f'[2,"b-{i}","Heartbeat",{{}}]' for i in range(20)]
        await side_b.ws.send('[2,"to-b","ClearCache",{}]')
        assert await asyncio.wait_for(b.recv(), 5) == '[2,"to-b","ClearCache",{}]'
        await a.close(4000, "A leaves")
        await asyncio.wait_for(side_a.ended.wait(), 5)
        # B is untouched by A's leaving
        await b.send('[2,"b-after","Heartbeat",{}]')
        assert (await side_b.wait_for(21))[-1] == '[2,"b-after","Heartbeat",{}]'
    assert {(f.charge_point_id, f.frame.unique_id.split("-")[0]) for f in capture.read()
            if f.direction == TO_CSMS} == {("CP-A", "a"), ("CP-B", "b")}


async def test_unanswered_calls_are_remembered_up_to_a_limit(proxy: OcppProxy, upstream: RecordingUpstream,
                                                             capture: Capture, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Central System that never answers must not grow the proxy: past the limit the oldest CALL is forgotten."""
    monkeypatch.setattr(proxy_bridge, "MAX_PENDING", 3)
    async with connect(f"{proxy.url}/CP-1", subprotocols=["ocpp1.6"]) as charger:
        for i in range(4):
            await charger.send(f'[2,"h{i}","Heartbeat",{{}}]')
        side = await upstream.side("CP-1")
        await side.wait_for(4)
        for i in (0, 1, 3):
            await side.ws.send(f'[3,"h{i}",{{"currentTime":"2025-01-01T00:00:00Z"}}]')
            await asyncio.wait_for(charger.recv(), 5)
    replies = {f.frame.unique_id: (f.frame.action, f.frame.error) for f in capture.read() if f.direction == TO_CHARGER}
    assert replies == {"h0": (None, "CALLRESULT for an unknown unique id"), "h1": ("Heartbeat", None),
                       "h3": ("Heartbeat", None)}
