"""The simulated station's own certificate and signature checks, over the real wire, against material this test
makes itself with `cryptography` (not benchctl's test PKI, which the station must not trust blindly either):
firmware signing certificates and signatures (SignedUpdateFirmware), CertificateSigned chains and the
CertificateHashData it reports, each compared with what a correct charger does."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from test_certificates_security import listed, sign_request
from test_security_profiles_security import Secured, secured_session

from benchctl.transfer.server import FileServer
from hil_sim.charger.firmware_image import build_image
from hil_sim.settings import SimSettings

from support.station import Session, _settings

IMAGE = build_image("benchctl", "hil_sim", "1.0.2")
NOW = dt.datetime.now(dt.timezone.utc)
LONG_AGO = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
Key = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


# --------------------------------------------------------------------------- test material, made here
@dataclass
class Made:
    cert: x509.Certificate
    key: Key

    @property
    def pem(self) -> str:
        return self.cert.public_bytes(Encoding.PEM).decode()


def new_key(kind: str = "ec") -> Key:
    return rsa.generate_private_key(65537, 2048) if kind == "rsa" else ec.generate_private_key(ec.SECP384R1())


def make(name: str, issuer: Made | None = None, *, ca: bool = True, key_kind: str = "ec", public_key: Any = None,
         start: dt.datetime | None = None, days: float = 30, key_cert_sign: bool = True, path_length: int | None = None,
         usage: x509.ObjectIdentifier | None = None) -> Made:
    """A certificate: a CA (self-signed without `issuer`) or a leaf for `usage`; its key, unless `public_key`."""
    key = new_key(key_kind)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    start = start or NOW - dt.timedelta(minutes=5)
    builder = (x509.CertificateBuilder().subject_name(subject)
               .issuer_name(issuer.cert.subject if issuer else subject)
               .public_key(public_key or key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(start + dt.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False,
                                            key_cert_sign=ca and key_cert_sign, crl_sign=ca, encipher_only=False,
                                            decipher_only=False), critical=True))
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    return Made(builder.sign(issuer.key if issuer else key, hashes.SHA256()), key)


def sign(signer: Made, data: bytes) -> str:
    if isinstance(signer.key, rsa.RSAPrivateKey):
        raw = signer.key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    else:
        raw = signer.key.sign(data, ec.ECDSA(hashes.SHA256()))
    return base64.b64encode(raw).decode()


def code_signer(root: Made, **kw: Any) -> Made:
    return make("firmware signing", root, ca=False, usage=ExtendedKeyUsageOID.CODE_SIGNING, **kw)


# --------------------------------------------------------------------------- SignedUpdateFirmware
ROOTS = {"ec": make("manufacturer root (EC)"), "rsa": make("manufacturer root (RSA)", key_kind="rsa")}


@pytest.fixture(params=sorted(ROOTS))
def root(request: pytest.FixtureRequest) -> Made:
    return ROOTS[request.param]


@pytest.fixture
def station_settings(root: Made, tmp_path: Path) -> SimSettings:
    path = tmp_path / "manufacturer_root.pem"
    path.write_text(root.pem)
    return _settings(manufacturer_root=str(path))


@pytest.fixture
async def files(tmp_path: Path) -> AsyncIterator[FileServer]:
    server = FileServer(tmp_path / "files")
    await server.start()
    server.area.publish("firmware/image.fwi", IMAGE)
    server.area.publish("firmware/tampered.fwi", IMAGE[:-1] + bytes([IMAGE[-1] ^ 1]))
    try:
        yield server
    finally:
        await server.stop()


def request(files: FileServer, certificate: str, signature: str, name: str = "image.fwi") -> dict[str, Any]:
    return {"requestId": 9, "firmware": {"location": files.url("http", f"firmware/{name}"),
                                         "retrieveDateTime": "2020-01-01T00:00:00Z",
                                         "signingCertificate": certificate, "signature": signature}}


async def outcome(session: Session, mark: int) -> str:
    """Where the signature check ended: SignatureVerified or InvalidSignature."""
    found = await session.next("SignedFirmwareStatusNotification",
                               lambda p: p["status"] in ("SignatureVerified", "InvalidSignature"), after=mark)
    return str(found.payload["status"])


def good_signer(root: Made) -> tuple[str, Made]:
    signer = code_signer(root, key_kind="rsa" if isinstance(root.key, rsa.RSAPrivateKey) else "ec")
    return signer.pem, signer


async def test_a_correctly_signed_image_is_verified(session: Session, files: FileServer, root: Made) -> None:
    certificate, signer = good_signer(root)
    mark = session.mark()
    answer = await session.call("SignedUpdateFirmware", request(files, certificate, sign(signer, IMAGE)))
    assert answer["status"] == "Accepted"
    assert await outcome(session, mark) == "SignatureVerified"
    await session.next("SignedFirmwareStatusNotification", lambda p: p["status"] == "Installed", after=mark)


async def test_a_signer_under_an_intermediate_ca_is_verified_with_its_chain(session: Session, files: FileServer,
                                                                             root: Made) -> None:
    intermediate = make("firmware CA", root)
    signer = code_signer(intermediate)
    mark = session.mark()
    answer = await session.call("SignedUpdateFirmware", request(files, signer.pem + intermediate.pem,
                                                                sign(signer, IMAGE)))
    assert answer["status"] == "Accepted"
    assert await outcome(session, mark) == "SignatureVerified"


@pytest.mark.parametrize("what", ["another key", "tampered image", "not base64", "empty"])
async def test_a_bad_signature_is_caught_after_the_download(session: Session, files: FileServer, root: Made,
                                                            what: str) -> None:
    certificate, signer = good_signer(root)
    other_key = new_key("rsa" if isinstance(signer.key, rsa.RSAPrivateKey) else "ec")
    bad = {"another key": sign(Made(signer.cert, other_key), IMAGE), "not base64": "%%%", "empty": ""}
    signature = bad[what] if what in bad else sign(signer, IMAGE)
    name = "tampered.fwi" if what == "tampered image" else "image.fwi"
    mark = session.mark()
    assert (await session.call("SignedUpdateFirmware", request(files, certificate, signature, name)))["status"] == \
        "Accepted"
    assert await outcome(session, mark) == "InvalidSignature"
    event = await session.next("SecurityEventNotification", after=mark)
    assert event.payload["type"] == "InvalidFirmwareSignature"


def _untrusted(root: Made, what: str) -> tuple[str, Made]:
    """A signing certificate (PEM, with any CA certificates after it) the station must not trust."""
    if what == "expired":
        signer = code_signer(root, start=LONG_AGO, days=1)
    elif what == "not yet valid":
        signer = code_signer(root, start=NOW + dt.timedelta(days=2))
    elif what == "another root":
        signer = code_signer(make("someone else's root"))
    elif what == "not for code signing":
        signer = make("a TLS server", root, ca=False, usage=ExtendedKeyUsageOID.SERVER_AUTH)
    elif what == "issued by a leaf":
        leaf = make("not a CA", root, ca=False)
        return code_signer(leaf).pem + leaf.pem, code_signer(leaf)
    elif what == "issuer without keyCertSign":
        weak = make("a CA that may not sign certificates", root, key_cert_sign=False)
        signer = code_signer(weak)
        return signer.pem + weak.pem, signer
    elif what == "the root's key, another name":
        signer = make("firmware signing", Made(make("impostor").cert, root.key), ca=False,
                      usage=ExtendedKeyUsageOID.CODE_SIGNING)  # signed by the right key, names another issuer
    else:  # "expired CA": a chain through an intermediate that has expired
        old = make("expired firmware CA", root, start=LONG_AGO, days=1)
        signer = code_signer(old)
        return signer.pem + old.pem, signer
    return signer.pem, signer


@pytest.mark.parametrize("what", ["expired", "not yet valid", "another root", "not for code signing",
                                  "issued by a leaf", "issuer without keyCertSign", "the root's key, another name",
                                  "expired CA"])
async def test_an_untrusted_signing_certificate_is_refused_before_downloading(session: Session, files: FileServer,
                                                                               root: Made, what: str) -> None:
    certificate, signer = _untrusted(root, what)
    mark = session.mark()
    answer = await session.call("SignedUpdateFirmware", request(files, certificate, sign(signer, IMAGE)))
    assert answer["status"] == "InvalidCertificate"
    event = await session.next("SecurityEventNotification", after=mark)
    assert event.payload["type"] == "InvalidFirmwareSigningCertificate"
    await asyncio.sleep(0.3)
    assert files.log.since() == []


# --------------------------------------------------------------------------- CertificateSigned
@pytest.fixture
async def secured(tmp_path: Path) -> AsyncIterator[Secured]:
    async for session in secured_session(tmp_path):
        yield session


CPO_ROOT = make("CPO root of this test", path_length=1)


async def signed_for_the_station(secured: Secured, issuer: Made, **kw: Any) -> Made:
    """A client certificate for the key of the station's next CSR, signed by `issuer`."""
    csr = await sign_request(secured)
    return make("T-1", issuer, ca=False, public_key=csr.public_key(), usage=ExtendedKeyUsageOID.CLIENT_AUTH, **kw)


async def install_cpo_root(secured: Secured) -> None:
    answer = await secured.call("InstallCertificate", {"certificateType": "CentralSystemRootCertificate",
                                                       "certificate": CPO_ROOT.pem})
    assert answer == {"status": "Accepted"}


async def test_a_chain_through_an_intermediate_to_an_installed_root_is_taken(secured: Secured) -> None:
    await install_cpo_root(secured)
    intermediate = make("CPO sub-CA", CPO_ROOT)
    leaf = await signed_for_the_station(secured, intermediate)
    answer = await secured.call("CertificateSigned", {"certificateChain": leaf.pem + intermediate.pem})
    assert answer == {"status": "Accepted"}


@pytest.mark.parametrize("what", ["expired", "intermediate not a CA", "intermediate without keyCertSign",
                                  "path too long", "root not installed", "not for a TLS client"])
async def test_a_chain_the_station_must_not_trust_is_rejected(secured: Secured, what: str) -> None:
    await install_cpo_root(secured)
    if what == "expired":
        chain = (await signed_for_the_station(secured, CPO_ROOT, start=LONG_AGO, days=1)).pem
    elif what == "root not installed":
        chain = (await signed_for_the_station(secured, make("a root the station never got"))).pem
    elif what == "not for a TLS client":
        csr = await sign_request(secured)
        chain = make("T-1", CPO_ROOT, ca=False, public_key=csr.public_key(),
                     usage=ExtendedKeyUsageOID.SERVER_AUTH).pem
    else:
        if what == "path too long":  # the root allows one CA below it, not two
            middle = make("CPO sub-CA", CPO_ROOT)
            intermediates = [make("CPO sub-sub-CA", middle), middle]
        else:
            intermediates = [make("CPO sub-CA", CPO_ROOT, ca=what != "intermediate not a CA",
                                  key_cert_sign=what != "intermediate without keyCertSign")]
        leaf = await signed_for_the_station(secured, intermediates[0])
        chain = leaf.pem + "".join(i.pem for i in intermediates)
    mark = secured.mark()
    assert (await secured.call("CertificateSigned", {"certificateChain": chain}))["status"] == "Rejected"
    event = await secured.next("SecurityEventNotification", after=mark)
    assert event.payload["type"] == "InvalidChargePointCertificate"


# --------------------------------------------------------------------------- CertificateHashData
def ocsp_ids(cert: x509.Certificate, algorithm: hashes.HashAlgorithm) -> dict[str, str]:
    """CertificateHashData of a root by OpenSSL's OCSP CertID code (RFC 6960), not by the station's."""
    cert_id = ocsp.OCSPRequestBuilder().add_certificate(cert, cert, algorithm).build()
    return {"hashAlgorithm": algorithm.name.upper(), "issuerNameHash": cert_id.issuer_name_hash.hex(),
            "issuerKeyHash": cert_id.issuer_key_hash.hex(), "serialNumber": format(cert_id.serial_number, "x")}


async def test_the_hash_data_it_reports_is_that_of_an_ocsp_cert_id(secured: Secured) -> None:
    for root in ROOTS.values():
        answer = await secured.call("InstallCertificate", {"certificateType": "ManufacturerRootCertificate",
                                                           "certificate": root.pem})
        assert answer == {"status": "Accepted"}
    reported = await listed(secured, "ManufacturerRootCertificate")
    for root in ROOTS.values():
        assert ocsp_ids(root.cert, hashes.SHA256()) in reported
    # and it deletes by the same computation with another algorithm
    by_sha512 = ocsp_ids(ROOTS["rsa"].cert, hashes.SHA512())
    assert (await secured.call("DeleteCertificate", {"certificateHashData": by_sha512}))["status"] == "Accepted"
    assert ocsp_ids(ROOTS["rsa"].cert, hashes.SHA256()) not in await listed(secured, "ManufacturerRootCertificate")
