"""The test PKI: chains verify, a wrong issuer or an expired certificate does not, signatures catch tampering,
and the TLS contexts complete a real handshake on loopback (and refuse a server the client does not trust)."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import ssl
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from benchctl.security.pki import (
    LabPki,
    client_context,
    fingerprint_ids,
    firmware_signature_valid,
    issue,
    issued_by,
    make_ca,
    make_csr,
    new_key,
    server_context,
    sign_csr,
    sign_firmware,
)


def test_a_leaf_is_issued_by_its_ca_and_not_by_another() -> None:
    root, other = make_ca("root"), make_ca("other")
    leaf = issue(root, "127.0.0.1", hosts=("127.0.0.1",))
    assert issued_by(leaf.cert_pem, root.cert_pem)
    assert not issued_by(leaf.cert_pem, other.cert_pem)
    assert not issued_by("not a certificate", root.cert_pem)


def test_an_expired_certificate_is_not_valid() -> None:
    root = make_ca("root")
    old = issue(root, "cp", usage="client", not_before=dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc),
                valid_days=1)
    assert not issued_by(old.cert_pem, root.cert_pem)


def test_a_csr_becomes_a_client_certificate_for_its_key() -> None:
    root = make_ca("CSMS root", "CPO")
    key = new_key()
    signed = sign_csr(root, make_csr(key, "CP-0001", "CPO"))
    assert issued_by(signed.cert_pem, root.cert_pem)
    assert signed.cert.public_key().public_numbers() == key.public_key().public_numbers()
    assert signed.cert.subject.rfc4514_string() == "O=CPO,CN=CP-0001"


def test_a_firmware_signature_catches_a_changed_image_and_a_wrong_signer() -> None:
    root = make_ca("manufacturer")
    signer, stranger = issue(root, "signing", usage="code"), issue(root, "other", usage="code")
    image = b"\x7fELF firmware 1.2.3"
    signature = sign_firmware(signer, image)
    assert firmware_signature_valid(signer.cert_pem, image, signature)
    assert not firmware_signature_valid(signer.cert_pem, image + b"!", signature)
    assert not firmware_signature_valid(stranger.cert_pem, image, signature)
    assert not firmware_signature_valid(signer.cert_pem, image, "not base64!")


def test_hash_data_names_the_issuer_and_serial() -> None:
    root = make_ca("root")
    leaf = issue(root, "leaf")
    ids = fingerprint_ids(leaf.cert_pem, root.cert_pem)
    assert ids["serialNumber"] == format(leaf.cert.serial_number, "x")
    assert len(ids["issuerNameHash"]) == len(ids["issuerKeyHash"]) == 64
    assert ids != fingerprint_ids(root.cert_pem)


def test_hash_data_hashes_the_issuer_key_bits_as_ocsp_does() -> None:
    # RFC 6960's CertID (OCPP 2.x words it the same): the subjectPublicKey BIT STRING's contents, which for an
    # EC key is the encoded point, not the whole SubjectPublicKeyInfo with its algorithm identifier
    root = make_ca("root")
    leaf = issue(root, "leaf")
    point = root.cert.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    ids = fingerprint_ids(leaf.cert_pem, root.cert_pem, algorithm="SHA384")
    assert ids["issuerKeyHash"] == hashlib.sha384(point).hexdigest()
    assert ids["issuerNameHash"] == hashlib.sha384(root.cert.subject.public_bytes()).hexdigest()


async def _handshake(server: ssl.SSLContext, client: ssl.SSLContext) -> bytes:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(await reader.read(5))
        await writer.drain()
        writer.close()

    listener = await asyncio.start_server(echo, "127.0.0.1", 0, ssl=server)
    port = listener.sockets[0].getsockname()[1]
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client, server_hostname="127.0.0.1")
        writer.write(b"hello")
        data = await reader.read(5)
        writer.close()
        return data
    finally:
        listener.close()


async def test_tls_on_loopback_with_and_without_a_trusted_server(tmp_path: Path) -> None:
    pki = LabPki.create(tmp_path / "pki")
    server = server_context(pki.path("csms_server"), pki.path("csms_server", key=True))
    assert await _handshake(server, client_context(pki.path("csms_root"))) == b"hello"
    stranger = make_ca("stranger")
    stranger.write(tmp_path, "stranger")
    with pytest.raises(ssl.SSLCertVerificationError):
        await _handshake(server, client_context(tmp_path / "stranger.pem"))


async def test_a_server_that_requires_a_client_certificate_gets_one(tmp_path: Path) -> None:
    pki = LabPki.create(tmp_path / "pki")
    client = issue(pki.csms_root, "CP-0001", usage="client")
    cert, key = client.write(tmp_path, "cp")
    server = server_context(pki.path("csms_server"), pki.path("csms_server", key=True),
                            client_ca=pki.path("csms_root"))
    assert await _handshake(server, client_context(pki.path("csms_root"), cert, key)) == b"hello"
    try:  # TLS 1.3 reports the missing certificate after the handshake: the server closes without answering
        answer = await _handshake(server, client_context(pki.path("csms_root")))
    except (ssl.SSLError, ConnectionError):
        answer = b""
    assert answer == b""

