"""Processes for the proxy benchmarks: an upstream Central System and the proxy, each in a process of its own so
the figures include no sharing of one event loop with the load generator (as on a real bench).

Not a benchmark itself: proxy_latency.py and capture_throughput.py use it.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import resource
import tempfile
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

METER_VALUES = ('[2,"{id}","MeterValues",{{"connectorId":1,"transactionId":42,"meterValue":[{{"timestamp":'
                '"2024-05-01T12:00:00.000Z","sampledValue":[{{"value":"1234.5","measurand":'
                '"Energy.Active.Import.Register","unit":"Wh"}},{{"value":"16.0","measurand":"Current.Import",'
                '"unit":"A","phase":"L1"}}]}}]}}]')
END_ID = "end-of-burst"
REPLIES = {"Heartbeat": {"currentTime": "2024-05-01T12:00:00.000Z"}}


def meter_values(unique_id: str) -> str:
    """A realistic charger frame: the schema check of MeterValues is among the costlier ones."""
    return METER_VALUES.format(id=unique_id)


async def _upstream(pipe: Connection, answer_every_call: bool, stamp: bool) -> None:
    # unique id -> (when the CALL arrived, when its reply was sent), for proxy_latency.py: time.monotonic() is the
    # system's CLOCK_MONOTONIC, the same clock in every process of the machine, so the load generator's own
    # stamps compare with these
    stamps: dict[str, tuple[float, float]] = {}

    async def handler(ws: ServerConnection) -> None:
        async for message in ws:
            arrived = time.monotonic()
            msg = json.loads(message)
            if answer_every_call or msg[1] == END_ID:
                reply = json.dumps([3, msg[1], REPLIES.get(msg[2], {})])
                sent = time.monotonic()
                await ws.send(reply)
                if stamp:  # kept until asked for: only for a run of bounded length
                    stamps[msg[1]] = (arrived, sent)

    async with serve(handler, "127.0.0.1", 0, subprotocols=["ocpp1.6"], ping_interval=None, compression=None,
                     max_size=None) as server:
        pipe.send(server.sockets[0].getsockname()[1])
        while await asyncio.get_running_loop().run_in_executor(None, pipe.recv) == "stamps":
            pipe.send(dict(stamps))
            stamps.clear()


def upstream_main(pipe: Connection, answer_every_call: bool, stamp: bool) -> None:
    asyncio.run(_upstream(pipe, answer_every_call, stamp))


async def _proxy(pipe: Connection, upstream: str, capture_dir: str) -> None:
    from benchctl.csms.capture import Capture
    from benchctl.proxy import OcppProxy

    capture = Capture(Path(capture_dir) / "capture.jsonl")
    proxy = OcppProxy(capture, upstream)
    await proxy.start()
    pipe.send(proxy.port)
    while await asyncio.get_running_loop().run_in_executor(None, pipe.recv) == "usage":
        used = resource.getrusage(resource.RUSAGE_SELF)
        pipe.send(Usage(used.ru_utime + used.ru_stime, used.ru_nivcsw, capture.count))
    await proxy.stop()
    pipe.send({"frames": capture.count, "invalid": capture.invalid})
    capture.close()


@dataclass(frozen=True)
class Usage:
    """The proxy process's CPU seconds, the times the kernel took its CPU away (involuntary context switches:
    another process was given the core), and the frames captured so far."""

    cpu_s: float
    preempted: int
    frames: int

    def __sub__(self, before: "Usage") -> "Usage":
        return Usage(self.cpu_s - before.cpu_s, self.preempted - before.preempted, self.frames - before.frames)


def proxy_main(pipe: Connection, upstream: str, capture_dir: str) -> None:
    asyncio.run(_proxy(pipe, upstream, capture_dir))


class Rig:
    """An upstream process and a proxy process in front of it; `stop()` returns the proxy's capture counts.
    `stamp`: the upstream keeps when each CALL arrived and its reply left, for `upstream_stamps()`."""

    def __init__(self, answer_every_call: bool = True, stamp: bool = False) -> None:
        context = multiprocessing.get_context("spawn")
        self._capture_dir = tempfile.TemporaryDirectory(prefix="benchctl-bench-")
        self._up_pipe, child = context.Pipe()
        self._up = context.Process(target=upstream_main, args=(child, answer_every_call, stamp),
                                    daemon=True)
        self._up.start()
        self.upstream_url = f"ws://127.0.0.1:{self._up_pipe.recv()}/ocpp"
        self._proxy_pipe, child = context.Pipe()
        self._proxy = context.Process(target=proxy_main, args=(child, self.upstream_url, self._capture_dir.name),
                                      daemon=True)
        self._proxy.start()
        self.proxy_url = f"ws://127.0.0.1:{self._proxy_pipe.recv()}/ocpp"

    def upstream_stamps(self) -> dict[str, tuple[float, float]]:
        """Each CALL the upstream answered since the last call: (arrived, reply sent), by unique id."""
        self._up_pipe.send("stamps")
        stamps: dict[str, tuple[float, float]] = self._up_pipe.recv()
        return stamps

    def proxy_usage(self) -> Usage:
        self._proxy_pipe.send("usage")
        usage: Usage = self._proxy_pipe.recv()
        return usage

    def stop(self) -> dict[str, Any]:
        self._proxy_pipe.send("stop")
        counts: dict[str, Any] = self._proxy_pipe.recv()
        self._up_pipe.send("stop")
        for process in (self._proxy, self._up):
            process.join(10)
        self._capture_dir.cleanup()
        return counts


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]
