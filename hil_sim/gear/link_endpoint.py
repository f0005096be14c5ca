"""A link endpoint: echo (PING/PONG), source (GET n) and sink (PUT n) over TCP, with optional shaping.

The protocol is the one `drivers.dongle.link` measures with (see there). Shaping makes the loopback link
look like a mobile one: every round trip takes `latency_s` longer and data flows at `bandwidth_Bps`.
The shaping is read again for every request, from a fixed `LinkShaping` or from a source such as the
world's `CellularLink` (`.shaping()`), so switching the simulated dongle to 2G slows the next measurement.
A source that answers None means no service: connections are dropped without a word.

Unshaped, the same server can stand in for the endpoint a real bench measures against:
`python -m hil_sim.gear.link_endpoint --host <address> --port <port>` (loopback by default).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from typing import Protocol

from drivers.dongle.link import LINE_MAX, MAX_BYTES

from .cellular import LinkShaping

PAYLOAD = b"benchctl link endpoint payload. " * 512  # 16 KiB, sent over and over


class ShapingSource(Protocol):
    def shaping(self) -> LinkShaping | None: ...


class LinkEndpoint:
    """TCP link endpoint on `host`; `port` 0 picks a free one (read `.port` after start())."""

    def __init__(
        self,
        shaping: LinkShaping | ShapingSource | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._shaping = shaping
        self.host = host
        self.port = port
        self.requests: list[str] = []  # every request line, for tests
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def current_shaping(self) -> tuple[bool, LinkShaping | None]:
        """(service, shaping): no service drops connections; shaping None means as fast as it goes."""
        if self._shaping is None:
            return True, None
        if isinstance(self._shaping, LinkShaping):
            return True, self._shaping
        shaping = self._shaping.shaping()
        return shaping is not None, shaping

    # lifecycle ------------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._server is not None:
            return
        self._server = await asyncio.start_server(self._handle, self.host, self.port, limit=LINE_MAX * 4)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for task in list(self._handlers):
            task.cancel()
        for task in list(self._handlers):
            with contextlib.suppress(BaseException):
                await task
        await server.wait_closed()

    # connections ----------------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await self._serve(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass  # the client went away or sent garbage: nothing to tell anybody
        finally:
            self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        service, _ = self.current_shaping()
        if not service:
            return
        while True:
            raw = await reader.readline()
            if not raw:
                return
            line = raw.decode("ascii", errors="replace").strip()
            self.requests.append(line)
            service, shaping = self.current_shaping()
            if not service:
                return
            verb, _, arg = line.partition(" ")
            if verb == "PING" and arg and len(arg) <= LINE_MAX // 2:
                if shaping is not None:
                    await asyncio.sleep(shaping.latency_s)
                writer.write(f"PONG {arg}\n".encode("ascii"))
                await writer.drain()
                continue
            count = _count(arg)
            if verb == "GET" and count is not None:
                await self._source(writer, count, shaping)
                return
            if verb == "PUT" and count is not None:
                await self._sink(reader, writer, count, shaping)
                continue
            writer.write(f"ERR unknown request {line[:LINE_MAX // 2]!r}\n".encode("ascii", errors="replace"))
            await writer.drain()
            return

    async def _source(self, writer: asyncio.StreamWriter, count: int, shaping: LinkShaping | None) -> None:
        loop = asyncio.get_running_loop()
        if shaping is None:
            chunk = len(PAYLOAD)
        else:
            await asyncio.sleep(shaping.latency_s)
            chunk = int(min(len(PAYLOAD), max(64, shaping.bandwidth_Bps / 50)))
        start = loop.time()
        sent = 0
        while sent < count:
            part = min(chunk, count - sent)
            if shaping is not None:  # a chunk leaves when the link would have carried all of it
                delay = start + (sent + part) / shaping.bandwidth_Bps - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            writer.write(PAYLOAD[:part])
            await writer.drain()
            sent += part

    async def _sink(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, count: int,
                    shaping: LinkShaping | None) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        left = count
        while left:
            left -= len(await reader.readexactly(min(left, 64 * 1024)))
        if shaping is not None:
            delay = start + shaping.latency_s + count / shaping.bandwidth_Bps - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        writer.write(f"OK {count}\n".encode("ascii"))
        await writer.drain()


def _count(arg: str) -> int | None:
    if not arg.isdigit() or len(arg) > 10:
        return None
    value = int(arg)
    return value if 1 <= value <= MAX_BYTES else None


async def _main(host: str, port: int) -> None:
    endpoint = LinkEndpoint(host=host, port=port)
    await endpoint.start()
    print(f"link endpoint on {endpoint.address}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await endpoint.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Unshaped link endpoint (PING/GET/PUT) for dongle link tests")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args.host, args.port))


if __name__ == "__main__":
    main()
