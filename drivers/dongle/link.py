"""Link figures against a link endpoint: TCP connect time, echo round trips, download bandwidth.

The endpoint (`hil_sim.gear.link_endpoint` serves it; any host reachable through the dongle can run it)
speaks a tiny line protocol over TCP, ASCII lines ended by LF:

    PING <word>      -> PONG <word>            (as often as the client likes, on one connection)
    GET <n>          -> n bytes, then the server closes the connection
    PUT <n> + n bytes-> OK <n>
    anything else    -> ERR <text>, then the server closes the connection

Latency: the time from sending a PING line to reading its PONG line, `pings` times on one connection,
reported as p50 and max (plus the TCP connect time on its own). Bandwidth: `bytes_` bytes are asked for
with GET; the download time runs from the request to the last byte, less the median round trip (the
request's way out and the first byte's way back are latency, not bandwidth), never less than the time
between the first and the last byte read nor than MIN_TRANSFER_S: size `bytes_` so the transfer takes well
over the link's jitter, or the bandwidth figure only says "faster than this transfer can tell".
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Any

DEFAULT_BYTES = 16 * 1024
DEFAULT_PINGS = 5
DEFAULT_TIMEOUT_S = 30.0
MAX_BYTES = 64 * 1024 * 1024
MAX_PINGS = 1000
LINE_MAX = 128  # no protocol line is longer
MIN_TRANSFER_S = 0.001  # timing resolution we trust for the bandwidth figure

_READ_CHUNK = 64 * 1024


class LinkError(Exception):
    """The endpoint could not be reached or broke the protocol."""


@dataclass(frozen=True)
class LinkFigures:
    host: str
    port: int
    connect_ms: float
    rtt_ms: list[float] = field(default_factory=list)
    latency_p50_ms: float = 0.0
    latency_max_ms: float = 0.0
    download_bytes: int = 0
    download_s: float = 0.0  # request to last byte
    transfer_s: float = 0.0  # the time the bandwidth is computed over (latency taken out)
    bandwidth_Bps: float = 0.0  # download_bytes / transfer_s

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("connect_ms", "latency_p50_ms", "latency_max_ms", "download_s", "transfer_s",
                    "bandwidth_Bps"):
            data[key] = round(data[key], 3)
        data["rtt_ms"] = [round(v, 3) for v in self.rtt_ms]
        return data


async def measure(
    host: str,
    port: int,
    bytes_: int = DEFAULT_BYTES,
    pings: int = DEFAULT_PINGS,
    local_host: str | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> LinkFigures:
    """Measure latency and download bandwidth against the endpoint at host:port; LinkError on failure."""
    if isinstance(bytes_, bool) or not isinstance(bytes_, int) or not 1 <= bytes_ <= MAX_BYTES:
        raise ValueError(f"bytes_ must be 1..{MAX_BYTES}, not {bytes_!r}")
    if isinstance(pings, bool) or not isinstance(pings, int) or not 1 <= pings <= MAX_PINGS:
        raise ValueError(f"pings must be 1..{MAX_PINGS}, not {pings!r}")
    if not timeout_s > 0:
        raise ValueError(f"timeout_s must be > 0, not {timeout_s!r}")
    local_addr = (local_host, 0) if local_host else None
    try:
        async with asyncio.timeout(timeout_s):
            connect_s, rtts = await _latency(host, port, pings, local_addr)
            p50 = statistics.median(rtts)
            download_s, transfer_s = await _download(host, port, bytes_, local_addr)
    except TimeoutError as exc:
        raise LinkError(f"timed out after {timeout_s:g} s") from exc
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
        raise LinkError(f"{type(exc).__name__}: {exc}") from exc
    net_s = max(download_s - p50, transfer_s, MIN_TRANSFER_S)
    return LinkFigures(
        host=host,
        port=port,
        connect_ms=connect_s * 1000.0,
        rtt_ms=[r * 1000.0 for r in rtts],
        latency_p50_ms=p50 * 1000.0,
        latency_max_ms=max(rtts) * 1000.0,
        download_bytes=bytes_,
        download_s=download_s,
        transfer_s=net_s,
        bandwidth_Bps=bytes_ / net_s,
    )


async def _open(host: str, port: int, local_addr: tuple[str, int] | None
                ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(host, port, local_addr=local_addr, limit=LINE_MAX * 4)


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass


async def _latency(host: str, port: int, pings: int, local_addr: tuple[str, int] | None
                   ) -> tuple[float, list[float]]:
    t0 = time.perf_counter()
    reader, writer = await _open(host, port, local_addr)
    connect_s = time.perf_counter() - t0
    rtts: list[float] = []
    try:
        for seq in range(pings):
            word = f"p{seq}"
            t0 = time.perf_counter()
            writer.write(f"PING {word}\n".encode("ascii"))
            await writer.drain()
            line = await reader.readline()
            rtt = time.perf_counter() - t0
            if line.rstrip(b"\r\n") != f"PONG {word}".encode("ascii"):
                raise LinkError(f"PING {word} answered {line[:LINE_MAX]!r}")
            rtts.append(rtt)
    finally:
        await _close(writer)
    return connect_s, rtts


async def _download(host: str, port: int, count: int, local_addr: tuple[str, int] | None
                    ) -> tuple[float, float]:
    """(request to last byte, first byte to last byte) in seconds for GET count."""
    reader, writer = await _open(host, port, local_addr)
    try:
        t_request = time.perf_counter()
        writer.write(f"GET {count}\n".encode("ascii"))
        await writer.drain()
        received = 0
        t_first = t_last = t_request
        while received < count:
            chunk = await reader.read(min(_READ_CHUNK, count - received))
            if not chunk:
                raise LinkError(f"GET {count}: the endpoint closed after {received} bytes")
            if received == 0:
                t_first = time.perf_counter()
                if chunk.startswith(b"ERR "):
                    raise LinkError(f"GET {count} answered {chunk[:LINE_MAX]!r}")
            received += len(chunk)
            t_last = time.perf_counter()
    finally:
        await _close(writer)
    return t_last - t_request, t_last - t_first
