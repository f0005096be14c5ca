"""A bench with the proxy where benchctl's Central System would be: the charger dials the proxy (on the bench
config's csms host, port and path), the proxy dials the upstream Central System (the official tool), and
benchctl drives the gear. Leaving the context puts the gear in its safe state, whatever happened inside."""

from __future__ import annotations

import contextlib
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator

from benchctl.bench.bench import Bench
from benchctl.bench.config import BenchConfig
from benchctl.csms.capture import Capture
from benchctl.run.session import commissioned, release_bench
from benchctl.security.pki import LabPki
from hil_sim.bench import SimBench

from .server import OcppProxy
from .tls import UpstreamTls


@dataclass
class ProxiedBench:
    config: BenchConfig
    bench: Bench
    sim: SimBench | None
    proxy: OcppProxy
    capture: Capture


@contextlib.asynccontextmanager
async def open_proxied_bench(config: BenchConfig, capture: Capture, upstream: str,
                             upstream_tls: UpstreamTls | ssl.SSLContext | None = None) -> AsyncIterator[ProxiedBench]:
    """`upstream` is the Central System's URL without the charge point id (ws:// or wss://). The simulated
    charger (when the bench has one) talks plain ws:// to the proxy, so its bench must be commissioned on
    security profile 0 or 1 (Basic auth passes through); the proxy's own link to the upstream may be wss://."""
    if config.simulator is not None and config.security_profile >= 2:
        raise ValueError(f"{config.file}: dut.csms.security_profile {config.security_profile}: the simulated "
                         f"charger dials the proxy on ws://, so a proxied sim bench runs on profile 0 or 1")
    proxy = OcppProxy(capture, upstream, host=config.csms_host, port=config.csms_port, path=config.csms_path,
                      upstream_tls=upstream_tls, open_timeout=config.values.get("message_timeout_s", 10.0))
    sim: SimBench | None = None
    bench: Bench | None = None
    # the simulated station wants its roots installed as at production (firmware signature checks)
    scratch = tempfile.TemporaryDirectory(prefix="benchctl-pki-") if config.simulator is not None else None
    try:
        await proxy.start()
        endpoints = {}
        if config.simulator is not None:
            assert scratch is not None
            pki = LabPki.create(Path(scratch.name), cpo_name=config.values["cpo_name"])
            sim = SimBench(commissioned(config, pki), proxy.url, config.charge_point_id, host=config.csms_host)
            endpoints = await sim.start()
        bench = Bench.build(config, endpoints)
        await bench.connect()
        yield ProxiedBench(config, bench, sim, proxy, capture)
    finally:
        await release_bench(bench, sim, proxy.stop, scratch, stop_timeout_s=10)
