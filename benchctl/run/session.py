"""Everything a bench needs while benchctl works with it: the Central System the charger dials, the simulator
when the bench has one, and the assembled drivers. Leaving the context puts the gear in its safe state,
whatever happened inside."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

from benchctl.bench.bench import Bench
from benchctl.bench.config import BenchConfig
from benchctl.csms.capture import Capture
from benchctl.csms.link import ChargerLink
from benchctl.csms.security import CsmsSecurity
from benchctl.csms.server import CentralSystem
from benchctl.security.pki import LabPki
from hil_sim.bench import SimBench
from hil_sim.settings import SimSettings


@dataclass
class BenchSession:
    config: BenchConfig
    csms: CentralSystem
    bench: Bench
    sim: SimBench | None
    broken: dict[str, Exception]  # roles whose driver could not be built (only when connect=False)
    pki: LabPki | None = None  # the run's test PKI (the security cases' certificates, the wss:// server's)

    @property
    def link(self) -> ChargerLink:
        return self.csms.link(self.config.charge_point_id)


def commissioned(config: BenchConfig, pki: LabPki) -> SimSettings:
    """The simulated station as an installer leaves it for this bench: the bench's security profile and
    AuthorizationKey, and the run's Central System and manufacturer roots installed as at production."""
    assert config.simulator is not None
    station = config.simulator.station
    station = dataclasses.replace(
        station, security_profile=config.security_profile, authorization_key=config.authorization_key,
        csms_root=str(pki.path("csms_root")), serial_number=config.values["charge_point_serial_number"],
        manufacturer_root=station.manufacturer_root or str(pki.path("manufacturer_root")))
    return dataclasses.replace(config.simulator, station=station)


@contextlib.asynccontextmanager
async def open_bench(config: BenchConfig, capture: Capture, connect: bool = True,
                     pki: LabPki | None = None) -> AsyncIterator[BenchSession]:
    """With connect=False nothing is connected yet and roles that cannot be built are listed in `broken`,
    so a check can report each one. `pki` is the run's test PKI (a run keeps it in its directory); without one
    a throw-away PKI serves the wss:// listener and the security cases."""
    values = config.values
    scratch = None
    if pki is None:
        scratch = tempfile.TemporaryDirectory(prefix="benchctl-pki-")
        pki = LabPki.create(Path(scratch.name), cpo_name=values["cpo_name"])
    security = CsmsSecurity(config.security_profile, config.authorization_key, pki, config.tls_port,
                            authorization_keys=dict(config.authorization_keys))
    csms = CentralSystem(capture, values, config.csms_host, config.csms_port, config.csms_path,
                         response_timeout=values["message_timeout_s"], security=security,
                         max_frame_bytes=config.max_frame_bytes)
    sim: SimBench | None = None
    bench: Bench | None = None
    try:
        await csms.start()
        endpoints: dict[str, Any] = {}
        if config.simulator is not None:
            sim = SimBench(commissioned(config, pki), csms.url, config.charge_point_id, host=config.csms_host,
                           csms_tls_url=csms.tls_url)
            endpoints = await sim.start()
        broken: dict[str, Exception] = {}
        bench = Bench.build(config, endpoints, broken=None if connect else broken)
        if connect:
            await bench.connect()
        yield BenchSession(config, csms, bench, sim, broken, pki)
    finally:
        await release_bench(bench, sim, csms.stop, scratch)


async def release_bench(bench: Bench | None, sim: SimBench | None, stop_server: Callable[[], Awaitable[None]],
                        scratch: tempfile.TemporaryDirectory[str] | None, stop_timeout_s: float = 5.0) -> None:
    """The end of a bench session: gear in its safe state first, then the simulator, then the server the charger
    dialled (benchctl's Central System or the proxy), then the scratch PKI."""
    if bench is not None:
        await bench.safe_state()
        await bench.close()
    if sim is not None:
        await sim.stop()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(stop_server(), stop_timeout_s)
    if scratch is not None:
        scratch.cleanup()
