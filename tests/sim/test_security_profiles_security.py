"""The simulated station's connection security over the real wire with real TLS: SecurityProfile only goes up over
OCPP and only with its prerequisites, an accepted change reconnects with the new profile (and falls back when that
does not work), AuthorizationKey is write-only and becomes the Basic password, the server certificate is checked
against the installed roots, and the local reset brings the commissioned settings back."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import AsyncIterator

import pytest

from benchctl.csms.capture import Capture
from benchctl.csms.security import CsmsSecurity
from benchctl.csms.server import CentralSystem
from benchctl.security.pki import LabPki, make_ca
from hil_sim.bench import SimBench
from hil_sim.settings import SimSettings, StationSettings

from support.station import Session

KEY = b"hil_sim lab key 0001".hex().upper()
NEW_KEY = b"OCA_OCTT_admin_test".hex().upper()


@dataclasses.dataclass
class Secured(Session):
    pki: LabPki | None = None

    def attempts(self) -> list[dict]:
        return self.link.security.connections

    async def next_connection(self, since: int, timeout: float = 8.0) -> dict:
        found = await self.link.wait_until(lambda: (since,) if len(self.attempts()) > since else None, timeout)
        assert found, f"no connection attempt after #{since}"
        return self.attempts()[since]

    async def online(self, timeout: float = 8.0) -> None:
        assert await self.link.wait_until(lambda: self.link.connected.is_set() and self.attempts()[-1].get("attached"),
                                          timeout)

    async def change(self, key: str, value: str) -> str:
        return str((await self.call("ChangeConfiguration", {"key": key, "value": value}))["status"])


async def secured_session(tmp_path: Path, faults: list[str] | None = None,
                          csms_root: Path | None = None) -> AsyncIterator[Secured]:
    pki = LabPki.create(tmp_path / "pki")
    csms = CentralSystem(Capture(None), {}, response_timeout=5,
                         security=CsmsSecurity(0, KEY, pki, tls_port=0))
    await csms.start()
    station = StationSettings(boot_delay_s=0.05, authorization_key=KEY,
                              csms_root=str(csms_root or pki.path("csms_root")),
                              manufacturer_root=str(pki.path("manufacturer_root")))
    sim = SimBench(SimSettings(station, faults or []), csms.url, "T-1", csms_tls_url=csms.tls_url)
    await sim.start()
    session = Secured(sim, csms.link("T-1"), csms, pki)
    try:
        await session.next("BootNotification")
        await session.link.wait_until(lambda: session.link.statuses.get(1) == "Available", 10)
        yield session
    finally:
        await sim.stop()
        await csms.stop()


@pytest.fixture
async def secured(tmp_path: Path) -> AsyncIterator[Secured]:
    async for session in secured_session(tmp_path):
        yield session


async def test_authorization_key_is_write_only_and_checked(secured: Secured) -> None:
    config = await secured.call("GetConfiguration", {"key": ["AuthorizationKey", "SecurityProfile"]})
    keys = {k["key"]: k for k in config["configurationKey"]}
    assert keys["AuthorizationKey"] == {"key": "AuthorizationKey", "readonly": False}  # never its value
    assert keys["SecurityProfile"]["value"] == "0"
    everything = await secured.call("GetConfiguration", {})
    assert KEY not in str(everything) and KEY.lower() not in str(everything)
    assert await secured.change("AuthorizationKey", "00" * 15) == "Rejected"  # 15 bytes: too short
    assert await secured.change("AuthorizationKey", "zz" * 16) == "Rejected"  # not hexadecimal
    readonly = {k["key"]: k for k in everything["configurationKey"]}
    assert readonly["AdditionalRootCertificateCheck"] == {"key": "AdditionalRootCertificateCheck", "readonly": True,
                                                          "value": "false"}
    assert readonly["CertificateStoreMaxLength"]["readonly"] and readonly["CertificateSignedMaxChainSize"]["readonly"]


async def test_upgrades_reconnect_with_the_new_profile_and_a_downgrade_is_refused(secured: Secured) -> None:
    since = len(secured.attempts())
    assert await secured.change("SecurityProfile", "1") == "Accepted"
    ws_basic = await secured.next_connection(since)
    assert (ws_basic["security_profile"], ws_basic["accepted"]) == (1, True)
    assert ws_basic["authorization"]["password_hex"] == KEY and ws_basic["authorization"]["username"] == "T-1"
    await secured.online()

    since = len(secured.attempts())
    assert await secured.change("SecurityProfile", "2") == "Accepted"
    tls = await secured.next_connection(since)
    assert (tls["transport"], tls["security_profile"], tls["accepted"]) == ("wss", 2, True)
    await secured.online()
    assert await secured.change("SecurityProfile", "1") == "Rejected"
    assert await secured.change("SecurityProfile", "0") == "Rejected"
    assert await secured.change("SecurityProfile", "3") == "Rejected"  # no client certificate yet
    assert await secured.change("SecurityProfile", "four") == "Rejected"
    assert len(secured.attempts()) == since + 1  # none of these made it reconnect
    assert not [i for i in secured.link.inbox[1:] if i.action == "BootNotification"]  # reconnected, not rebooted


async def test_a_tls_profile_needs_a_central_system_root(tmp_path: Path) -> None:
    async for session in secured_session(tmp_path):
        found = await session.call("GetInstalledCertificateIds", {"certificateType": "CentralSystemRootCertificate"})
        await session.call("DeleteCertificate", {"certificateHashData": found["certificateHashData"][0]})
        assert await session.change("SecurityProfile", "2") == "Rejected"
        assert await session.change("SecurityProfile", "1") == "Accepted"


async def test_a_new_key_is_the_password_of_the_reconnection(secured: Secured) -> None:
    assert await secured.change("SecurityProfile", "1") == "Accepted"
    await secured.next_connection(0 + 1)
    await secured.online()
    since = len(secured.attempts())
    assert await secured.change("AuthorizationKey", NEW_KEY) == "Accepted"
    again = await secured.next_connection(since)
    assert again["authorization"]["password_hex"] == NEW_KEY and again["accepted"]
    assert again["authorization"]["password_length"] == 19


async def test_a_profile_it_cannot_connect_with_falls_back_to_the_last_one_that_worked(secured: Secured) -> None:
    assert await secured.change("SecurityProfile", "1") == "Accepted"
    await secured.next_connection(1)
    await secured.online()
    # the Central System no longer knows the station's key: every Basic attempt is refused
    secured.link.security.keys = [NEW_KEY]
    since = len(secured.attempts())
    assert await secured.change("SecurityProfile", "2") == "Accepted"
    refused = [await secured.next_connection(since + n) for n in range(3)]
    assert [(a["security_profile"], a["status"]) for a in refused] == [(2, 401)] * 3
    back = await secured.next_connection(since + 3)
    assert back["security_profile"] == 1 and back["status"] == 401  # the old profile again (still the old key)
    station = secured.sim.station
    assert station.keys["SecurityProfile"].value == "1" and station.link_security.committed == 1


async def test_a_server_certificate_of_an_unknown_root_is_reported_and_not_connected(tmp_path: Path) -> None:
    stranger = make_ca("a root the station was given instead")
    stranger.write(tmp_path, "stranger")
    async for session in secured_session(tmp_path, csms_root=tmp_path / "stranger.pem"):
        # profile 2 with only the wrong root installed: the TLS handshake fails on the station's side
        assert await session.change("SecurityProfile", "2") == "Accepted"
        assert await session.link.wait_until(lambda: not session.link.connected.is_set(), 5)
        await asyncio.sleep(2.5)  # the attempts fail, then it falls back to profile 0
        assert not [a for a in session.attempts() if a["transport"] == "wss"]  # none got as far as the upgrade
        event = await session.next("SecurityEventNotification", after=0, timeout=10)  # queued, sent once back
        assert event.payload["type"] == "InvalidCentralSystemCertificate"
        assert "certificate" in event.payload.get("techInfo", "")
        assert session.sim.station.keys["SecurityProfile"].value == "0"
        assert any("InvalidCentralSystemCertificate" in line for line in session.sim.station.security_log)


async def test_the_local_reset_brings_back_the_commissioned_profile_and_key(secured: Secured) -> None:
    assert await secured.change("SecurityProfile", "1") == "Accepted"
    await secured.next_connection(1)
    await secured.online()
    assert await secured.change("AuthorizationKey", NEW_KEY) == "Accepted"
    await secured.next_connection(2)
    await secured.online()
    since = len(secured.attempts())
    secured.link.security.reset()  # what the runner does when it presses the station's reset
    secured.world.set("security_reset", True)
    secured.world.set("security_reset", False)
    back = await secured.next_connection(since)
    assert (back["security_profile"], back["accepted"]) == (0, True) and "authorization" not in back
    keys = secured.sim.station.keys
    assert keys["SecurityProfile"].value == "0" and keys["AuthorizationKey"].value == KEY


async def test_the_password_bug_sends_the_hex_text(tmp_path: Path) -> None:
    async for session in secured_session(tmp_path, faults=["authorization_key_sent_as_hex"]):
        assert await session.change("SecurityProfile", "1") == "Accepted"
        attempt = await session.next_connection(1)
        assert attempt["status"] == 401 and attempt["authorization"]["password_hex"] == KEY.encode().hex().upper()
