"""`benchctl check`: probe every role of a bench (connect + self-test) and whether the charger dials in."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from benchctl.bench import registry
from benchctl.csms.handshake import shown
from benchctl.run.idle import wait_connected
from benchctl.run.session import BenchSession


@dataclass
class RoleCheck:
    role: str
    driver: str
    address: str
    ok: bool
    detail: str
    duration_s: float
    readings: dict[str, Any] = field(default_factory=dict)
    kind: str = ""  # the driver's declared kind (ev_emulator, rfid, ...); empty for the charger's rows


def flatten(readings: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in readings.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


async def check_bench(session: BenchSession, timeout_s: float = 10.0) -> list[RoleCheck]:
    checks = [RoleCheck(role, driver_label(session.config.roles[role].driver), "-", False, str(exc), 0.0,
                        kind=registry.spec(session.config.roles[role].driver).kind)
              for role, exc in session.broken.items()]
    for role, driver in session.bench.drivers.items():
        spec = driver_label(session.config.roles[role].driver)
        kind = registry.spec(session.config.roles[role].driver).kind
        t0 = time.monotonic()
        try:
            await asyncio.wait_for(driver.connect(), timeout_s)
            readings = flatten(await asyncio.wait_for(driver.self_test(), timeout_s))
            detail = ", ".join(f"{k}={v}" for k, v in readings.items())
            checks.append(RoleCheck(role, spec, driver.address, True, detail, time.monotonic() - t0, readings, kind))
        except Exception as exc:  # a check reports every failure as a row and goes on to the next role
            message = str(exc) or type(exc).__name__
            checks.append(RoleCheck(role, spec, driver.address, False, message, time.monotonic() - t0, kind=kind))
    t0 = time.monotonic()
    cp = session.config.charge_point_id
    connected = await wait_connected(session.link, timeout_s)
    checks += refused_handshakes(session)
    checks.append(RoleCheck("charger", "ocpp", f"{session.csms.url}/{cp}", connected,
                            "connected" if connected else f"{cp} did not connect within {timeout_s:.0f} s",
                            time.monotonic() - t0))
    return checks


def driver_label(name: str) -> str:
    """The driver's name, with the distribution of a plug-in (whose gear it is, when a row fails)."""
    spec = registry.spec(name)
    return f"{name} ({spec.distribution})" if spec.plugin else name


def refused_handshakes(session: BenchSession) -> list[RoleCheck]:
    """A row for every connection the Central System refused during the check: a charger dialling a path or id
    it will never serve (HTTP 404 / 400), or presenting the wrong credentials (401 / 403)."""
    refused = [r for r in session.csms.refused] + [r for r in session.link.security.connections if not r["accepted"]]
    return [RoleCheck(f"connection #{r['connection']}", "ocpp", r["peer"], False,
                      f"HTTP {r['status']} for {shown(r['path'])}: {r['reason']}", 0.0)
            for r in sorted(refused, key=lambda r: r["connection"])]
