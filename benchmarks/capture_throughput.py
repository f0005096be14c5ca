"""Capture throughput: frames per second written to capture.jsonl, alone and through the proxy.

1. Capture alone: realistic frames (MeterValues, StatusNotification, Heartbeat and their replies, parsed and
   schema-checked as the proxy does) appended to a capture file, with a listener, as in a run.
2. Through the proxy, both directions: chargers send MeterValues back to back through the proxy (its own process,
   capturing to a file) to an upstream that answers each with a CALLRESULT at once, which comes back through
   the proxy too. The clock runs from the first send until every reply has arrived; the frames of each
   direction and of both are counted over that time.

    .venv/bin/python benchmarks/capture_throughput.py [--frames 50000] [--chargers 4] [--proxied-frames 5000]

Target (issues 7 and 19): the capture keeps up with 5,000 frames per second, both directions counted.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from proxy_rig import END_ID, Rig, meter_values  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

from benchctl.csms.capture import TO_CHARGER, TO_CSMS, Capture, CapturedFrame  # noqa: E402
from benchctl.csms.frames import parse  # noqa: E402

TARGET_FPS = 5000.0


def conversation(n: int) -> list[tuple[str, str]]:
    """n frames of a charging session: each CALL from the charger followed by its reply."""
    calls = [
        lambda i: meter_values(f"m{i}"),
        lambda i: f'[2,"s{i}","StatusNotification",{{"connectorId":1,"errorCode":"NoError","status":"Charging",'
                  f'"timestamp":"2024-05-01T12:00:00.000Z"}}]',
        lambda i: f'[2,"h{i}","Heartbeat",{{}}]',
    ]
    replies = ['[3,"m{i}",{{}}]', '[3,"s{i}",{{}}]', '[3,"h{i}",{{"currentTime":"2024-05-01T12:00:00.000Z"}}]']
    frames = []
    for i in range(n // 2):
        kind = i % 3
        frames.append((TO_CSMS, calls[kind](i)))
        frames.append((TO_CHARGER, replies[kind].format(i=i)))
    return frames


def capture_alone(n: int) -> tuple[float, float]:
    """Frames per second of Capture.add alone (frames parsed beforehand) and of parse + Capture.add."""
    frames = conversation(n)
    seen: list[CapturedFrame] = []
    with tempfile.TemporaryDirectory() as tmp:
        pending: dict[str, str] = {}
        parsed = [(d, parse(raw, pending)) for d, raw in frames]
        assert all(f.error is None for _, f in parsed), [f.error for _, f in parsed if f.error][:1]
        capture = Capture(Path(tmp) / "capture.jsonl")
        capture.listeners.append(seen.append)
        start = time.perf_counter()
        for direction, frame in parsed:
            capture.add(direction, "CP-1", frame)
        add_only = len(parsed) / (time.perf_counter() - start)
        capture.close()
        lines = sum(1 for _ in (Path(tmp) / "capture.jsonl").open())

        capture = Capture(Path(tmp) / "capture2.jsonl")
        pending = {}
        start = time.perf_counter()
        for direction, raw in frames:
            capture.add(direction, "CP-1", parse(raw, pending))
        with_parse = len(frames) / (time.perf_counter() - start)
        capture.close()
    assert lines == len(frames) and len(seen) == len(frames)
    return add_only, with_parse


async def through_proxy(rig: Rig, chargers: int, per_charger: int) -> float:
    """Seconds from the first CALL sent until every charger has the replies to all its CALLs."""
    options = {"subprotocols": ["ocpp1.6"], "ping_interval": None, "compression": None}
    connections = [await connect(f"{rig.proxy_url}/CP-{i}", **options) for i in range(chargers)]

    async def blast(index: int) -> None:
        ws = connections[index]

        async def read() -> None:
            for _ in range(per_charger):
                await ws.recv()
            assert END_ID in str(await ws.recv())  # replies come in order: this was the last

        reader = asyncio.create_task(read())
        for k in range(per_charger):
            await ws.send(meter_values(f"{index}-{k}"))
        await ws.send(f'[2,"{END_ID}","Heartbeat",{{}}]')
        await reader

    start = time.perf_counter()
    await asyncio.gather(*(blast(i) for i in range(chargers)))
    elapsed = time.perf_counter() - start
    for ws in connections:
        await ws.close()
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=50000, help="frames through Capture alone")
    parser.add_argument("--chargers", type=int, default=4, help="chargers sending through the proxy at once")
    parser.add_argument("--proxied-frames", type=int, default=5000, help="frames each charger sends")
    args = parser.parse_args(argv)

    add_only, with_parse = capture_alone(args.frames)
    print(f"capture to a file, {args.frames} frames (target {TARGET_FPS:,.0f} fps):")
    print(f"  Capture.add                     {add_only:>10,.0f} fps  {'met' if add_only >= TARGET_FPS else 'NOT met'}")
    print(f"  parse + schema check + add      {with_parse:>10,.0f} fps  "
          f"{'met' if with_parse >= TARGET_FPS else 'NOT met'}")

    rig = Rig(answer_every_call=True)
    try:
        elapsed = asyncio.run(through_proxy(rig, args.chargers, args.proxied_frames))
    finally:
        counts = rig.stop()
    each_way = args.chargers * (args.proxied_frames + 1)  # the CALLs and a last Heartbeat; as many replies
    total = 2 * each_way
    fps = total / elapsed
    print(f"through the proxy, {args.chargers} charger(s) x {args.proxied_frames} MeterValues back to back, "
          f"each answered, in {elapsed:.2f} s:")
    print(f"  charger -> CS                   {each_way / elapsed:>10,.0f} fps")
    print(f"  CS -> charger                   {each_way / elapsed:>10,.0f} fps")
    print(f"  both directions, captured       {fps:>10,.0f} fps  {'met' if fps >= TARGET_FPS else 'NOT met'}")
    print(f"  captured {counts['frames']} of {total} frames ({counts['invalid']} flagged invalid)")
    return 0 if counts["frames"] == total else 1


if __name__ == "__main__":
    sys.exit(main())
