"""wss:// upstream: verified against the lab's CA, refused with the wrong one, client certificate for profile 3."""

from __future__ import annotations

from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from benchctl.csms.capture import Capture
from benchctl.proxy import OcppProxy, UpstreamTls
from benchctl.security.pki import LabPki, issue, server_context

from recording_upstream import RecordingUpstream


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> LabPki:
    return LabPki.create(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def other_pki(tmp_path_factory: pytest.TempPathFactory) -> LabPki:
    return LabPki.create(tmp_path_factory.mktemp("other-pki"))


async def through(capture: Capture, upstream: RecordingUpstream, tls: UpstreamTls | None) -> int | str:
    """Dial the proxy as CP-1: the subprotocol when it connected, else the refusing HTTP status."""
    proxy = OcppProxy(capture, upstream.url, upstream_tls=tls)
    await proxy.start()
    try:
        async with connect(f"{proxy.url}/CP-1", subprotocols=["ocpp1.6"]) as charger:
            await charger.send('[2,"1","Heartbeat",{}]')
            assert (await (await upstream.side("CP-1")).wait_for(1)) == ['[2,"1","Heartbeat",{}]']
            return str(charger.subprotocol)
    except InvalidStatus as exc:
        return exc.response.status_code
    finally:
        await proxy.stop()


async def tls_upstream(pki: LabPki, client_ca: Path | None = None) -> RecordingUpstream:
    upstream = RecordingUpstream(ssl_context=server_context(pki.path("csms_server"), pki.path("csms_server", True),
                                                            client_ca=client_ca))
    await upstream.start()
    assert upstream.url.startswith("wss://")
    return upstream


async def test_wss_upstream_verified_with_the_lab_ca(capture: Capture, pki: LabPki) -> None:
    upstream = await tls_upstream(pki)
    try:
        assert await through(capture, upstream, UpstreamTls(cafile=pki.path("csms_root"))) == "ocpp1.6"
    finally:
        await upstream.stop()


async def test_wss_upstream_with_a_certificate_from_another_ca_is_refused(capture: Capture, pki: LabPki,
                                                                          other_pki: LabPki) -> None:
    upstream = await tls_upstream(pki)
    try:
        assert await through(capture, upstream, UpstreamTls(cafile=other_pki.path("csms_root"))) == 502
        # verification is on by default: the system store does not know the lab's CA either
        assert await through(capture, upstream, None) == 502
        # unless the operator explicitly asks not to verify
        assert await through(capture, upstream, UpstreamTls(insecure=True)) == "ocpp1.6"
        assert "CP-1" in upstream.sides
    finally:
        await upstream.stop()


async def test_client_certificate_for_security_profile_3(capture: Capture, pki: LabPki, tmp_path: Path) -> None:
    cert, key = issue(pki.csms_root, "CP-1", "benchctl lab CPO", usage="client").write(tmp_path, "cp")
    upstream = await tls_upstream(pki, client_ca=pki.path("csms_root"))
    try:
        assert await through(capture, upstream, UpstreamTls(cafile=pki.path("csms_root"))) == 502
        assert await through(capture, upstream, UpstreamTls(cafile=pki.path("csms_root"), certfile=cert,
                                                            keyfile=key)) == "ocpp1.6"
        client = upstream.sides["CP-1"].ws.transport.get_extra_info("peercert")
        assert ("commonName", "CP-1") in [pair for rdn in client["subject"] for pair in rdn]
    finally:
        await upstream.stop()


def test_tls_options_on_a_plain_upstream_are_an_error(capture: Capture) -> None:
    with pytest.raises(ValueError, match="ws:// but TLS options"):
        OcppProxy(capture, "ws://127.0.0.1:9000/ocpp", upstream_tls=UpstreamTls(insecure=True))
