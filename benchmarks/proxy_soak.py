"""The proxy's memory over a long session: does `benchctl proxy` grow with the frames it passes?

Starts `benchctl proxy` as an operator does (the CLI in a process of its own, a bench without simulator whose
dut.csms port is 0, a run directory and lock directory of its own), an upstream Central System in another process
(proxy_rig's, answering every CALL) and simulated chargers here: --chargers connections, each keeping --window
MeterValues CALLs in flight. A warm-up (--warmup frames) fills what the proxy keeps by design (the capture's
latest frames of the current label, the allocator's pools); the proxy's resident set size (RSS) is read then and
after --frames more frames (both directions count: a CALL and its CALLRESULT are two frames). Everything is on
127.0.0.1 with ports chosen by the OS, and the script stops by itself.

    .venv/bin/python benchmarks/proxy_soak.py [--frames 1000000] [--chargers 8] [--window 32]

Target (issue 19): under 50 MiB of growth for 1,000,000 frames. Before, the capture kept every frame in memory
(about 1.75 KB each: 1.7 GB for 1,000,000).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from proxy_rig import meter_values, upstream_main  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

from benchctl.paths import DEFAULT_BENCH, ROOT  # noqa: E402

TARGET_MIB_PER_MILLION = 50.0
MIB = 1024 * 1024


def rss_bytes(pid: int) -> int:
    """The process's resident set size, as the kernel counts it."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def lab_bench(directory: Path) -> Path:
    """The shipped sim bench without its simulator: a lab's bench, whose charger dials the proxy by itself."""
    text = DEFAULT_BENCH.read_text(encoding="utf-8").replace("pics: ../pics/", f"pics: {ROOT}/pics/")
    text = re.sub(r"\nsimulator:\n(?:  .*\n|\s*\n)*?(?=\S)", "\n", text)
    if "simulator:" in text or "\n    port: 0" not in text:
        raise RuntimeError(f"{DEFAULT_BENCH}: not the layout this benchmark edits (simulator block, csms port 0)")
    path = directory / "lab.yaml"
    path.write_text(text, encoding="utf-8")
    return path


class Proxy:
    """`benchctl proxy` in a process of its own, stopped with Ctrl-C (SIGINT) as an operator stops it."""

    def __init__(self, directory: Path, upstream: str) -> None:
        env = {**os.environ, "BENCHCTL_LOCK_DIR": str(directory / "locks"), "COLUMNS": "200"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchctl.cli", "proxy", "--bench", str(lab_bench(directory)), "--upstream",
             upstream, "--run-dir", str(directory / "run")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, env=env, cwd=directory)
        assert self.process.stdout is not None
        announced = self.process.stdout.readline()
        found = re.match(r"proxy (ws://127\.0\.0\.1:\d+\S*)/<chargePointId>", announced)
        if found is None:
            self.process.kill()
            raise RuntimeError(f"benchctl proxy did not start: {announced}{self.process.communicate()[0]}")
        self.url = found[1]
        self.output: list[str] = []  # read as it comes, so a chatty proxy never blocks on a full pipe
        self._reader = threading.Thread(target=lambda: self.output.extend(self.process.stdout or ()), daemon=True)
        self._reader.start()

    def stop(self) -> str:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=60)
        self._reader.join(10)
        output = "".join(self.output)
        if self.process.returncode != 0:
            raise RuntimeError(f"benchctl proxy exited with {self.process.returncode}: {output}")
        return output


async def push(url: str, frames: int, chargers: int, window: int, tag: str) -> int:
    """`frames` frames through the proxy (half CALLs, half their answers), spread over the chargers; returns how
    many passed."""
    options = {"subprotocols": ["ocpp1.6"], "ping_interval": None, "compression": None, "max_size": None}
    trips = frames // 2

    async def charger(index: int, count: int) -> int:
        in_flight = asyncio.Semaphore(window)
        async with connect(f"{url}/SOAK-{index}", **options) as ws:  # type: ignore[arg-type]
            async def answers() -> None:
                for _ in range(count):
                    await ws.recv()
                    in_flight.release()

            reading = asyncio.create_task(answers())
            for k in range(count):
                await in_flight.acquire()
                await ws.send(meter_values(f"{tag}-{index}-{k}"))
            await reading
        return 2 * count

    shares = [trips // chargers + (1 if i < trips % chargers else 0) for i in range(chargers)]
    return sum(await asyncio.gather(*(charger(i, n) for i, n in enumerate(shares) if n)))


def start_upstream() -> tuple[str, Connection, BaseProcess]:
    context = multiprocessing.get_context("spawn")
    pipe, child = context.Pipe()
    process = context.Process(target=upstream_main, args=(child, True, False), daemon=True)
    process.start()
    if not pipe.poll(30):  # a process that died at its start never says its port
        process.kill()
        raise RuntimeError(f"the upstream process did not start (exit status {process.exitcode})")
    return f"ws://127.0.0.1:{pipe.recv()}/ocpp", pipe, process


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=1_000_000, help="frames measured (default %(default)s)")
    parser.add_argument("--warmup", type=int, default=10_000, help="frames before the first reading")
    parser.add_argument("--chargers", type=int, default=8, help="charger connections at once")
    parser.add_argument("--window", type=int, default=32, help="CALLs in flight per connection")
    args = parser.parse_args(argv)
    upstream, pipe, upstream_process = start_upstream()
    with tempfile.TemporaryDirectory(prefix="benchctl-soak-") as tmp:
        proxy = Proxy(Path(tmp), upstream)
        try:
            warm = asyncio.run(push(proxy.url, args.warmup, args.chargers, args.window, "warm"))
            before = rss_bytes(proxy.process.pid)
            t0 = time.monotonic()
            passed = asyncio.run(push(proxy.url, args.frames, args.chargers, args.window, "soak"))
            elapsed = time.monotonic() - t0
            after = rss_bytes(proxy.process.pid)
        finally:
            output = proxy.stop()
            pipe.send("stop")
            upstream_process.join(10)
    growth = (after - before) / MIB
    allowed = TARGET_MIB_PER_MILLION * passed / 1_000_000
    print(f"proxy soak: {passed:,} frames ({passed // 2:,} MeterValues round trips on {args.chargers} connections, "
          f"{args.window} in flight each) in {elapsed:.1f} s ({passed / elapsed:,.0f} frames/s)")
    print(f"proxy RSS after warm-up ({warm:,} frames): {before / MIB:.1f} MiB")
    print(f"proxy RSS at the end: {after / MIB:.1f} MiB")
    print(f"growth: {growth:.1f} MiB ({(after - before) / max(passed, 1):.1f} bytes/frame); target < "
          f"{allowed:g} MiB for {passed:,} frames: {'met' if growth < allowed else 'NOT met'}")
    captured = re.search(r"([\d,]+) frame\(s\) captured \(([\d,]+) not valid OCPP\)", output)
    print(f"the proxy captured {captured[1] if captured else '?'} frames "
          f"({captured[2] if captured else '?'} not valid OCPP)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
