"""The Central System's security profiles over the real wire: HTTP Basic authentication on ws://, TLS with the run's
test PKI on wss://, client certificates for profile 3; every attempt recorded, wrong credentials refused."""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
from pathlib import Path
from typing import Any

import pytest
import websockets

from benchctl.csms.capture import Capture
from benchctl.csms.security import CsmsSecurity, authorization_key_problem
from benchctl.csms.server import CentralSystem
from benchctl.security.pki import LabPki, client_context, issue, make_ca

KEY = b"hil_sim lab key 0001".hex().upper()  # 20 bytes
OTHER_KEY = b"OCA_OCTT_admin_test!".hex().upper()


def basic(cp_id: str, password: bytes) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(cp_id.encode() + b":" + password).decode()}


@pytest.fixture
def pki(tmp_path: Path) -> LabPki:
    return LabPki.create(tmp_path / "pki")


async def started(pki: LabPki, profile: int = 1) -> CentralSystem:
    csms = CentralSystem(Capture(None), {}, security=CsmsSecurity(profile, KEY, pki, tls_port=0))
    await csms.start()
    return csms


async def attempt(url: str, **options: Any) -> int:
    """Open and close one connection; the HTTP status the Central System answered (101: upgraded)."""
    try:
        async with websockets.connect(url, subprotocols=["ocpp1.6"], open_timeout=5, **options):  # type: ignore[list-item]
            return 101
    except websockets.InvalidStatus as exc:
        return exc.response.status_code


async def test_profile_1_takes_the_right_password_and_refuses_a_wrong_or_missing_one(pki: LabPki) -> None:
    csms = await started(pki, profile=1)
    try:
        url = f"{csms.url}/CP-1"
        assert await attempt(url, additional_headers=basic("CP-1", bytes.fromhex(KEY))) == 101
        assert await attempt(url, additional_headers=basic("CP-1", KEY.encode())) == 401  # the hex text, not bytes
        assert await attempt(url) == 401
        assert await attempt(url, additional_headers=basic("CP-2", bytes.fromhex(KEY))) == 401  # not the URL's id
        attempts = csms.link("CP-1").security.connections
        assert [(a["accepted"], a["status"]) for a in attempts] == [(True, 101), (False, 401), (False, 401),
                                                                     (False, 401)]
        first = attempts[0]["authorization"]
        assert (first["username"], first["password_hex"], first["password_length"], first["password_hex_length"]) \
            == ("CP-1", KEY, 20, 40)
        assert attempts[1]["reason"].startswith("wrong password")
        assert "authorization" not in attempts[2] and attempts[2]["security_profile"] == 0
        assert attempts[3]["authorization"]["username_matches_url"] is False
    finally:
        await csms.stop()


async def test_a_refusal_asks_for_basic_authentication(pki: LabPki) -> None:
    csms = await started(pki, profile=1)
    try:
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(f"{csms.url}/CP-1", subprotocols=["ocpp1.6"])  # type: ignore[list-item]
        assert refused.value.response.headers["WWW-Authenticate"].startswith("Basic")
    finally:
        await csms.stop()


async def test_profile_2_over_tls_records_the_handshake_and_the_credentials(pki: LabPki) -> None:
    csms = await started(pki, profile=2)
    try:
        assert csms.tls_url is not None and csms.tls_url.startswith("wss://127.0.0.1:")
        trusted = client_context(pki.path("csms_root"))
        assert await attempt(f"{csms.tls_url}/CP-1", ssl=trusted,
                             additional_headers=basic("CP-1", bytes.fromhex(KEY))) == 101
        assert await attempt(f"{csms.tls_url}/CP-1", ssl=trusted) == 401  # TLS alone is not enough on profile 2
        # a plain ws:// connection with the right password is below what the station is on
        assert await attempt(f"{csms.url}/CP-1", additional_headers=basic("CP-1", bytes.fromhex(KEY))) == 403
        ok = csms.link("CP-1").security.connections[0]
        assert ok["transport"] == "wss" and ok["security_profile"] == 2
        assert ok["tls"]["version"] in ("TLSv1.2", "TLSv1.3")
        assert "ECDHE-ECDSA-AES128-GCM-SHA256" in ok["tls"]["shared_ciphers"]
        assert "client_certificate" not in ok
    finally:
        await csms.stop()


async def test_a_station_that_does_not_trust_the_server_gets_no_connection(pki: LabPki, tmp_path: Path) -> None:
    csms = await started(pki, profile=2)
    try:
        stranger = make_ca("a root the Central System's certificate does not chain to")
        stranger.write(tmp_path, "stranger")
        with pytest.raises(ssl.SSLCertVerificationError):
            await websockets.connect(f"{csms.tls_url}/CP-1", subprotocols=["ocpp1.6"],  # type: ignore[list-item]
                                     ssl=client_context(tmp_path / "stranger.pem"))
        assert csms.link("CP-1").security.connections == []
    finally:
        await csms.stop()


async def test_profile_3_needs_no_password_but_a_client_certificate_of_the_csms_root(pki: LabPki,
                                                                                      tmp_path: Path) -> None:
    csms = await started(pki, profile=1)
    try:
        mine = issue(pki.csms_root, "CP-1", "benchctl lab CPO", usage="client")
        cert, key = mine.write(tmp_path, "cp")
        status = await attempt(f"{csms.tls_url}/CP-1", ssl=client_context(pki.path("csms_root"), cert, key))
        assert status == 101
        record = csms.link("CP-1").security.connections[0]
        assert record["security_profile"] == 3
        assert record["client_certificate"]["subject_cn"] == "CP-1"
        assert record["client_certificate"]["serial_number"] == format(mine.cert.serial_number, "x")
        assert record["client_certificate"]["key_type"] == "EC" and record["client_certificate"]["key_strong_enough"]
        # a certificate of another CA does not get through the handshake
        foreign = issue(make_ca("another CA"), "CP-1", usage="client")
        cert, key = foreign.write(tmp_path, "foreign")
        with pytest.raises((ssl.SSLError, ConnectionError, websockets.InvalidMessage, websockets.ConnectionClosed)):
            async with websockets.connect(f"{csms.tls_url}/CP-1", subprotocols=["ocpp1.6"],  # type: ignore[list-item]
                                          ssl=client_context(pki.path("csms_root"), cert, key)) as ws:
                await ws.recv()  # TLS 1.3 reports the refused certificate after the handshake
        assert len(csms.link("CP-1").security.connections) == 1
    finally:
        await csms.stop()


async def test_after_an_upgrade_the_lower_profile_is_refused(pki: LabPki) -> None:
    csms = await started(pki, profile=1)
    try:
        password = basic("CP-1", bytes.fromhex(KEY))
        trusted = client_context(pki.path("csms_root"))
        assert await attempt(f"{csms.url}/CP-1", additional_headers=password) == 101
        assert await attempt(f"{csms.tls_url}/CP-1", ssl=trusted, additional_headers=password) == 101
        assert await attempt(f"{csms.url}/CP-1", additional_headers=password) == 403  # a downgrade attack
        security = csms.link("CP-1").security
        assert security.current_profile == 2 and security.minimum_profile == 2
        security.reset()  # the station was reset to its commissioned settings on site
        assert await attempt(f"{csms.url}/CP-1", additional_headers=password) == 101
    finally:
        await csms.stop()


async def test_a_new_key_the_station_accepted_is_taken_and_the_old_one_dropped_once_used(pki: LabPki) -> None:
    csms = await started(pki, profile=1)
    try:
        security = csms.link("CP-1").security
        security.observe("ChangeConfiguration", {"key": "AuthorizationKey", "value": OTHER_KEY.lower()},
                         {"status": "Accepted"})
        url = f"{csms.url}/CP-1"
        assert await attempt(url, additional_headers=basic("CP-1", bytes.fromhex(KEY))) == 101  # during the change
        assert await attempt(url, additional_headers=basic("CP-1", bytes.fromhex(OTHER_KEY))) == 101
        assert await attempt(url, additional_headers=basic("CP-1", bytes.fromhex(KEY))) == 401  # no longer
        security.observe("ChangeConfiguration", {"key": "AuthorizationKey", "value": KEY}, {"status": "Rejected"})
        assert security.keys == [OTHER_KEY]
    finally:
        await csms.stop()


@pytest.mark.parametrize(("key", "problem"), [
    (KEY, None), (KEY.lower(), None),
    ("00" * 15, "must be 16 to 20 bytes"), ("00" * 21, "must be 16 to 20 bytes"), ("XYZ", "hexadecimal")])
def test_authorization_key_format(key: str, problem: str | None) -> None:
    found = authorization_key_problem(key)
    assert (found is None) if problem is None else (found is not None and problem in found)


async def test_a_new_key_counts_from_the_moment_its_answer_is_read(pki: LabPki) -> None:
    """A station that takes a new AuthorizationKey may dial again with it the instant its ChangeConfiguration.conf
    is out: the Central System knows the key as soon as it reads that answer, before the tool's call returns."""
    csms = await started(pki, profile=1)
    try:
        link = csms.link("CP-1")
        url = f"{csms.url}/CP-1"
        known_right_after: list[list[str]] = []

        def on_frame(captured: Any) -> None:
            if captured.frame.action == "ChangeConfiguration" and captured.frame.message_type == 3:
                # the next turn of the loop: the earliest a redial could be judged
                asyncio.get_running_loop().call_soon(lambda: known_right_after.append(list(link.security.keys)))
        csms.capture.listeners.append(on_frame)
        async with websockets.connect(url, subprotocols=["ocpp1.6"],  # type: ignore[list-item]
                                      additional_headers=basic("CP-1", bytes.fromhex(KEY))) as ws:
            while link.session is None:
                await asyncio.sleep(0.01)
            change = asyncio.ensure_future(link.call("ChangeConfiguration",
                                                     {"key": "AuthorizationKey", "value": OTHER_KEY}))
            request = json.loads(await ws.recv())
            await ws.send(json.dumps([3, request[1], {"status": "Accepted"}]))
            # the station dials again with the new key at once, as the old connection goes
            assert await attempt(url, additional_headers=basic("CP-1", bytes.fromhex(OTHER_KEY))) == 101
            assert (await change)[0] == {"status": "Accepted"}
        assert known_right_after and OTHER_KEY in known_right_after[0]
    finally:
        await csms.stop()


@pytest.mark.filterwarnings("error::cryptography.utils.CryptographyDeprecationWarning")
def test_a_dsa_key_is_judged_by_its_size_without_the_librarys_deprecation_warning() -> None:
    """TC_087 step 4 names DSA keys: 2048 bits pass, 1024 do not, and judging one warns of nothing."""
    import warnings

    from cryptography.hazmat.primitives.asymmetric import dsa

    from benchctl.csms.security import _key_strong_enough

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # making the keys may warn; judging them must not
        strong, weak = dsa.generate_private_key(2048).public_key(), dsa.generate_private_key(1024).public_key()
    assert _key_strong_enough(strong) and not _key_strong_enough(weak)
