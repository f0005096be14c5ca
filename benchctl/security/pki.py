"""A test PKI for the security cases: the certificates a lab would otherwise order from its CPO and vendor.

The OCPP 1.6 security whitepaper has two hierarchies: the Central System's (its root signs the CSMS server
certificate and, through SignCertificate / CertificateSigned, the Charge Point's client certificate) and the
Manufacturer's (its root signs the firmware signing certificate). A run makes its own of both, so nothing
secret or expiring lives in the repository; keys are EC P-256 (quick to make, an allowed TLS 1.2 suite).
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# the issuer keys a certificate's authority key identifier is made from (DSA is deprecated by cryptography)
SIGNING_PUBLIC_KEYS = (ec.EllipticCurvePublicKey, rsa.RSAPublicKey, ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)

PrivateKey = ec.EllipticCurvePrivateKey


def new_key() -> PrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    parts = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(parts)


@dataclass
class Issued:
    """A certificate with its private key (None for a certificate received without one)."""

    cert: x509.Certificate
    key: PrivateKey | None = None

    @property
    def cert_pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def key_pem(self) -> str:
        assert self.key is not None
        return self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()).decode()

    def write(self, directory: Path, name: str) -> tuple[Path, Path | None]:
        """`name.pem` (and `name.key` when there is a key) in `directory`; returns both paths."""
        directory.mkdir(parents=True, exist_ok=True)
        cert_path = directory / f"{name}.pem"
        cert_path.write_text(self.cert_pem)
        if self.key is None:
            return cert_path, None
        key_path = directory / f"{name}.key"
        key_path.write_text(self.key_pem)
        key_path.chmod(0o600)
        return cert_path, key_path


def _build(subject: x509.Name, public_key: ec.EllipticCurvePublicKey, issuer: Issued | None,
           signing_key: PrivateKey, *, ca: bool, valid_days: float, not_before: dt.datetime | None = None,
           usages: list[x509.ObjectIdentifier] | None = None,
           hosts: tuple[str, ...] = ()) -> x509.Certificate:
    start = not_before or dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    builder = (x509.CertificateBuilder()
               .subject_name(subject)
               .issuer_name(issuer.cert.subject if issuer else subject)
               .public_key(public_key)
               .serial_number(x509.random_serial_number())
               .not_valid_before(start)
               .not_valid_after(start + dt.timedelta(days=valid_days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=ca, crl_sign=ca,
                                            content_commitment=False, key_encipherment=False,
                                            data_encipherment=False, key_agreement=not ca,
                                            encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))
    # a key that cannot sign (X25519, X448) cannot be an issuer's: such a certificate gets no identifier
    if issuer is not None and isinstance(issuer_key := issuer.cert.public_key(), SIGNING_PUBLIC_KEYS):
        builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key), critical=False)
    if usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    if hosts:
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(signing_key, hashes.SHA256())


def make_ca(common_name: str, organization: str | None = None, *, parent: Issued | None = None,
            valid_days: float = 30, not_before: dt.datetime | None = None) -> Issued:
    """A root CA, or an intermediate one when `parent` is given; `not_before` in the past with a short validity
    makes an expired one."""
    key = new_key()
    signer = parent.key if parent else key
    assert signer is not None
    return Issued(_build(_name(common_name, organization), key.public_key(), parent, signer, ca=True,
                         valid_days=valid_days, not_before=not_before), key)


def issue(ca: Issued, common_name: str, organization: str | None = None, *, hosts: tuple[str, ...] = (),
          usage: str = "server", valid_days: float = 30, not_before: dt.datetime | None = None) -> Issued:
    """A leaf certificate signed by `ca`: usage "server" (TLS server, SAN = hosts), "client" (TLS client) or
    "code" (firmware signing). `not_before` in the past with a short validity makes an expired one."""
    assert ca.key is not None
    key = new_key()
    usages = {"server": [ExtendedKeyUsageOID.SERVER_AUTH], "client": [ExtendedKeyUsageOID.CLIENT_AUTH],
              "code": [ExtendedKeyUsageOID.CODE_SIGNING]}[usage]
    return Issued(_build(_name(common_name, organization), key.public_key(), ca, ca.key, ca=False,
                         valid_days=valid_days, not_before=not_before, usages=usages, hosts=hosts), key)


def make_csr(key: PrivateKey, common_name: str, organization: str | None = None) -> str:
    """The PEM certificate signing request a Charge Point sends in SignCertificate."""
    csr = x509.CertificateSigningRequestBuilder().subject_name(_name(common_name, organization)).sign(
        key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def sign_csr(ca: Issued, csr_pem: str, valid_days: float = 30) -> Issued:
    """What the CSMS does with a SignCertificate CSR: a client certificate for the key in it (no key here)."""
    assert ca.key is not None
    csr = x509.load_pem_x509_csr(csr_pem.encode())
    if not csr.is_signature_valid:
        raise ValueError("the CSR's signature does not match its public key")
    public_key = csr.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        raise ValueError(f"unsupported key type in the CSR: {type(public_key).__name__}")
    return Issued(_build(csr.subject, public_key, ca, ca.key, ca=False, valid_days=valid_days,
                         usages=[ExtendedKeyUsageOID.CLIENT_AUTH]))


def load_cert(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def issued_by(cert_pem: str, issuer_pem: str) -> bool:
    """True when `issuer_pem` signed `cert_pem` (names and signature) and `cert_pem` is valid now."""
    try:
        cert, issuer = load_cert(cert_pem), load_cert(issuer_pem)
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    now = dt.datetime.now(dt.timezone.utc)
    return cert.not_valid_before_utc <= now <= cert.not_valid_after_utc


HASH_ALGORITHMS: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "SHA256": hashes.SHA256, "SHA384": hashes.SHA384, "SHA512": hashes.SHA512}


def fingerprint_ids(cert_pem: str, issuer_pem: str | None = None, algorithm: str = "SHA256") -> dict[str, str]:
    """The CertificateHashData of OCPP 1.6 security; `algorithm` is the hashAlgorithm: SHA256, SHA384 or SHA512.

    Its fields are those of an OCSP CertID (RFC 6960, as OCPP 2.x spells out): the hash of the DER issuer name,
    the hash of the issuer's subjectPublicKey bits (not the whole SubjectPublicKeyInfo) and the serial number
    in hexadecimal. OpenSSL's OCSP code computes them, as a charger's TLS library does."""
    cert = load_cert(cert_pem)
    issuer_cert = load_cert(issuer_pem) if issuer_pem else cert
    cert_id = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer_cert, HASH_ALGORITHMS[algorithm]()).build()
    return {"hashAlgorithm": algorithm, "issuerNameHash": cert_id.issuer_name_hash.hex(),
            "issuerKeyHash": cert_id.issuer_key_hash.hex(), "serialNumber": format(cert.serial_number, "x")}


def sign_firmware(signer: Issued, data: bytes) -> str:
    """The base64 signature of a firmware image (ECDSA with SHA256) that SignedUpdateFirmware carries."""
    assert signer.key is not None
    return base64.b64encode(signer.key.sign(data, ec.ECDSA(hashes.SHA256()))).decode()


def firmware_signature_valid(signing_cert_pem: str, data: bytes, signature_b64: str) -> bool:
    try:
        public_key = load_cert(signing_cert_pem).public_key()
        assert isinstance(public_key, ec.EllipticCurvePublicKey)
        public_key.verify(base64.b64decode(signature_b64, validate=True), data, ec.ECDSA(hashes.SHA256()))
    except (ValueError, AssertionError, InvalidSignature):
        return False
    return True


def server_context(cert: Path, key: Path, client_ca: Path | None = None) -> ssl.SSLContext:
    """TLS 1.2+ server side; with `client_ca`, a client certificate it issued is required (profile 3)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    if client_ca is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(client_ca)
    return context


def client_context(ca: Path, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    """TLS 1.2+ client side trusting `ca` only; with cert/key it presents a client certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_verify_locations(ca)
    if cert is not None:
        context.load_cert_chain(cert, key)
    return context


@dataclass
class LabPki:
    """Both hierarchies of a run, written as PEM files under `directory` (kept with the run for the report)."""

    directory: Path
    csms_root: Issued
    csms_server: Issued
    manufacturer_root: Issued
    firmware_signer: Issued

    @classmethod
    def create(cls, directory: Path, hosts: tuple[str, ...] = ("127.0.0.1", "::1", "localhost"),
               cpo_name: str = "benchctl lab CPO") -> "LabPki":
        csms_root = make_ca("benchctl CSMS root", cpo_name)
        manufacturer_root = make_ca("benchctl manufacturer root", "benchctl lab manufacturer")
        pki = cls(directory, csms_root, issue(csms_root, hosts[0], cpo_name, hosts=hosts),
                  manufacturer_root, issue(manufacturer_root, "benchctl firmware signing", usage="code"))
        for name in ("csms_root", "csms_server", "manufacturer_root", "firmware_signer"):
            getattr(pki, name).write(directory, name)
        return pki

    def path(self, name: str, key: bool = False) -> Path:
        """The file of one of the four (`csms_server`, ...); `key=True` for its private key."""
        return self.directory / f"{name}.{'key' if key else 'pem'}"
