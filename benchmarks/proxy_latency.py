"""The latency the proxy adds per frame, against a direct connection measured in the same run.

Each simulated charger holds two connections to the same upstream Central System, one direct and one through
the proxy (upstream and proxy each in a process of its own, the proxy capturing to a file as in a run). Every
--interval it sends a MeterValues CALL on each and waits for the CALLRESULT (which goes first alternates). A
round trip through the proxy crosses it twice (the CALL and its reply), so the added latency per frame is half
the difference of the round trip percentiles. All chargers run at once, for each concurrency level, their
clocks spread over the interval.

The default interval (100 ms: ten MeterValues a second from every charger, far chattier than a real one) puts
2,000 frames a second through the proxy at 100 chargers. --interval 0 sends back to back instead: that measures
the proxy saturated (every charger's frame queued behind the others'), not the latency it adds.

    .venv/bin/python benchmarks/proxy_latency.py [--levels 1,10,100] [--frames 200] [--interval 0.1]

Target (issue 7): under 1 ms added per frame at p99 on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from proxy_rig import Rig, meter_values, percentile  # noqa: E402
from websockets.asyncio.client import ClientConnection, connect  # noqa: E402

TARGET_MS = 1.0


async def round_trip(ws: ClientConnection, unique_id: str) -> float:
    start = time.perf_counter()
    await ws.send(meter_values(unique_id))
    await ws.recv()
    return time.perf_counter() - start


async def charger(rig: Rig, index: int, frames: int, warmup: int, interval: float,
                  phase: float) -> tuple[list[float], list[float]]:
    options = {"subprotocols": ["ocpp1.6"], "ping_interval": None, "compression": None}
    direct_rtts: list[float] = []
    proxied_rtts: list[float] = []
    loop = asyncio.get_running_loop()
    async with connect(f"{rig.upstream_url}/CP-{index}", **options) as direct, \
            connect(f"{rig.proxy_url}/CP-{index}", **options) as proxied:
        due = loop.time() + phase
        for k in range(warmup + frames):
            if interval:
                await asyncio.sleep(max(0.0, due - loop.time()))
                due = max(due + interval, loop.time())  # late: go on from now, never catch up in a burst
            # alternate which path goes first, so neither always follows the other's wake-up
            order = ((direct, direct_rtts), (proxied, proxied_rtts))
            for ws, rtts in (order if k % 2 else order[::-1]):
                rtt = await round_trip(ws, f"{index}-{k}")
                if k >= warmup:
                    rtts.append(rtt)
    return direct_rtts, proxied_rtts


async def level(rig: Rig, chargers: int, frames: int, warmup: int, interval: float) -> dict[str, float]:
    results = await asyncio.gather(*(charger(rig, i, frames, warmup, interval, interval * i / chargers)
                                     for i in range(chargers)))
    direct = sorted(r for d, _ in results for r in d)
    proxied = sorted(r for _, p in results for r in p)
    figures = {"samples": float(len(proxied))}
    for q in (50, 99):
        d, p = percentile(direct, q) * 1000, percentile(proxied, q) * 1000
        figures[f"direct_p{q}"], figures[f"proxied_p{q}"], figures[f"added_p{q}"] = d, p, (p - d) / 2
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", default="1,10,100", help="concurrent chargers, comma separated")
    parser.add_argument("--frames", type=int, default=200, help="measured round trips per charger and path")
    parser.add_argument("--warmup", type=int, default=10, help="round trips per charger not measured")
    parser.add_argument("--interval", type=float, default=0.1,
                        help="seconds between one charger's round trips (0: back to back); default %(default)s")
    args = parser.parse_args(argv)
    levels = [int(n) for n in args.levels.split(",")]
    rig = Rig(answer_every_call=True)
    try:
        pace = f"every {args.interval * 1000:g} ms" if args.interval else "back to back (saturation)"
        print(f"proxy latency: MeterValues CALL -> CALLRESULT {pace}, {args.frames} round trips per charger "
              f"and path")
        print(f"{'chargers':>8} {'samples':>8} {'direct p50':>11} {'p99':>8} {'proxied p50':>12} {'p99':>8} "
              f"{'added/frame p50':>16} {'p99':>8}  target p99 < {TARGET_MS:g} ms")
        for n in levels:
            f = asyncio.run(level(rig, n, args.frames, args.warmup, args.interval))
            verdict = "met" if f["added_p99"] < TARGET_MS else "NOT met"
            print(f"{n:>8} {int(f['samples']):>8} {f['direct_p50']:>8.3f} ms {f['direct_p99']:>5.3f} ms "
                  f"{f['proxied_p50']:>9.3f} ms {f['proxied_p99']:>5.3f} ms {f['added_p50']:>13.3f} ms "
                  f"{f['added_p99']:>5.3f} ms  {verdict}")
    finally:
        counts = rig.stop()
    print(f"the proxy captured {counts['frames']} frames ({counts['invalid']} flagged invalid)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
