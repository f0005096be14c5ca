"""The latency the proxy adds to each frame, in each direction, against a direct connection in the same run.

Each simulated charger holds two connections to the same upstream Central System, one direct and one through
the proxy (upstream and proxy each in a process of its own, the proxy capturing to a file as in a run). Every
--interval it sends a MeterValues CALL on both at once (which goes first alternates); the upstream answers each
with a CALLRESULT at once. Every frame is stamped where it leaves and where it arrives:

  charger -> Central System  the charger stamps the CALL as it sends it, the upstream as it reads it
  Central System -> charger  the upstream stamps the CALLRESULT as it sends it, the charger as it reads it

The stamps are time.monotonic(), the system's CLOCK_MONOTONIC: one clock for every process on the machine. A
frame's transit is arrival - departure; the latency the proxy adds to a frame is its transit through the proxy
minus the transit of its twin on the direct connection (sent at the same moment by the same charger, so both
meet the same load in the load generator and the upstream). The figures are percentiles of that per-frame
difference, not a difference of percentiles. The twin's own jitter is in it too, so it errs on the high side.

The default interval (100 ms: ten MeterValues a second from every charger, and ten replies back, far chattier
than a real one) puts 4,000 frames a second through the proxy at 100 chargers. --interval 0 sends back to back
instead: that measures the proxy saturated (every frame queued behind the others), not the latency it adds.

    .venv/bin/python benchmarks/proxy_latency.py [--levels 1,10,100] [--frames 200] [--interval 0.1]

Target (issues 7 and 19): under 1 ms added per frame at p99 on loopback, each direction.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from proxy_rig import Rig, Usage, meter_values, percentile  # noqa: E402
from websockets.asyncio.client import ClientConnection, connect  # noqa: E402

TARGET_MS = 1.0
UP, DOWN = "charger -> CS", "CS -> charger"
DIRECT, PROXIED = "d", "p"  # unique id prefixes: which path a frame took


async def read_replies(ws: ClientConnection, arrivals: dict[str, float]) -> None:
    async for message in ws:
        arrived = time.monotonic()
        arrivals[json.loads(message)[1]] = arrived


async def charger(rig: Rig, index: int, frames: int, interval: float, phase: float,
                  sent: dict[str, float], arrivals: dict[str, float]) -> None:
    """Send `frames` CALLs on both paths, paced; return once every reply has arrived."""
    options = {"subprotocols": ["ocpp1.6"], "ping_interval": None, "compression": None}
    loop = asyncio.get_running_loop()
    async with connect(f"{rig.upstream_url}/CP-{index}", **options) as direct, \
            connect(f"{rig.proxy_url}/CP-{index}", **options) as proxied:
        readers = [asyncio.create_task(read_replies(ws, arrivals)) for ws in (direct, proxied)]
        due = loop.time() + phase
        for k in range(frames):
            if interval:
                await asyncio.sleep(max(0.0, due - loop.time()))
                due = max(due + interval, loop.time())  # late: go on from now, never catch up in a burst
            order = ((direct, DIRECT), (proxied, PROXIED))
            for ws, path in (order if k % 2 else order[::-1]):  # neither path always second
                unique_id = f"{path}{index}-{k}"
                sent[unique_id] = time.monotonic()
                await ws.send(meter_values(unique_id))
        last = [f"{path}{index}-{frames - 1}" for path in (DIRECT, PROXIED)]
        while not all(unique_id in arrivals for unique_id in last):  # replies come in order on each path
            await asyncio.sleep(0.01)
        for reader in readers:
            reader.cancel()


def added_per_frame(chargers: int, frames: int, warmup: int, sent: dict[str, float], arrivals: dict[str, float],
                    upstream: dict[str, tuple[float, float]]) -> dict[str, list[float]]:
    """Per frame (ms): transit through the proxy minus its direct twin's, each direction; and the direct transits."""
    out: dict[str, list[float]] = {UP: [], DOWN: [], "direct " + UP: [], "direct " + DOWN: []}
    for i in range(chargers):
        for k in range(warmup, frames):
            transit = {}
            for path in (DIRECT, PROXIED):
                unique_id = f"{path}{i}-{k}"
                arrived, replied = upstream[unique_id]
                transit[path] = (arrived - sent[unique_id], arrivals[unique_id] - replied)
            for n, direction in enumerate((UP, DOWN)):
                out[direction].append((transit[PROXIED][n] - transit[DIRECT][n]) * 1000)
                out["direct " + direction].append(transit[DIRECT][n] * 1000)
    return out


async def level(rig: Rig, chargers: int, frames: int, warmup: int,
                interval: float) -> tuple[dict[str, list[float]], Usage]:
    sent: dict[str, float] = {}
    arrivals: dict[str, float] = {}
    before = rig.proxy_usage()
    await asyncio.gather(*(charger(rig, i, warmup + frames, interval, interval * i / chargers, sent, arrivals)
                           for i in range(chargers)))
    used = rig.proxy_usage() - before
    return added_per_frame(chargers, warmup + frames, warmup, sent, arrivals, rig.upstream_stamps()), used


def figures(ms: list[float]) -> tuple[float, float, float]:
    """p50, p99 and max of a sample (nan for none)."""
    ordered = sorted(ms)
    return percentile(ordered, 50), percentile(ordered, 99), ordered[-1] if ordered else math.nan


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", default="1,10,100", help="concurrent chargers, comma separated")
    parser.add_argument("--frames", type=int, default=200, help="measured CALLs per charger and path")
    parser.add_argument("--warmup", type=int, default=10, help="CALLs per charger and path not measured")
    parser.add_argument("--interval", type=float, default=0.1,
                        help="seconds between one charger's CALLs (0: back to back); default %(default)s")
    args = parser.parse_args(argv)
    levels = [int(n) for n in args.levels.split(",")]
    rig = Rig(answer_every_call=True, stamp=True)
    try:
        pace = f"every {args.interval * 1000:g} ms" if args.interval else "back to back (saturation)"
        print(f"proxy latency per frame: MeterValues CALL and its CALLRESULT {pace}, {args.frames} per charger, "
              f"path and direction")
        print(f"{'chargers':>8} {'frames':>7}  {'direction':<14} {'added p50':>10} {'p99':>9} {'max':>9}   "
              f"{'direct transit p50':>18} {'p99':>8}  target added p99 < {TARGET_MS:g} ms")
        for n in levels:
            samples, used = asyncio.run(level(rig, n, args.frames, args.warmup, args.interval))
            for direction in (UP, DOWN):
                p50, p99, worst = figures(samples[direction])
                d50, d99, _ = figures(samples["direct " + direction])
                met = p99 < TARGET_MS
                print(f"{n:>8} {len(samples[direction]):>7}  {direction:<14} {p50:>7.3f} ms {p99:>6.3f} ms "
                      f"{worst:>6.3f} ms   {d50:>15.3f} ms {d99:>5.3f} ms  {'met' if met else 'NOT met'}")
            # why a tail: the proxy's own work per frame, and how often the kernel gave its core to another process
            print(f"{'':>8} proxy process: {used.cpu_s / max(1, used.frames) * 1e6:.0f} us CPU per frame, "
                  f"{used.cpu_s:.2f} s CPU for {used.frames} frames, preempted {used.preempted} times")
    finally:
        counts = rig.stop()
    print(f"the proxy captured {counts['frames']} frames ({counts['invalid']} flagged invalid)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
