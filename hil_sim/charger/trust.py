"""The station's own certificate checks: what its firmware does with the certificates and signatures it is sent.

Written against the `cryptography` library alone, apart from benchctl's test PKI: the tool side makes and signs
the material, the station checks it, and a defect on either side shows up as a disagreement in the tests.

  chain_problem       a chain (leaf first) against the installed roots: every signature, every validity period,
                      every issuer a CA allowed to sign certificates (basicConstraints, keyUsage, path length)
  signature_valid     a firmware signature (base64) over the image: ECDSA or RSA PKCS#1 v1.5, with SHA-256
  hash_data           CertificateHashData as the whitepaper has it (the fields of an OCSP CertID, RFC 6960)
  new_key, make_csr   the station's key pair and its SignCertificate request
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

StationKey = ec.EllipticCurvePrivateKey
HASHES: dict[str, type[hashes.HashAlgorithm]] = {"SHA256": hashes.SHA256, "SHA384": hashes.SHA384,
                                                 "SHA512": hashes.SHA512}
PEM_END = "-----END CERTIFICATE-----"


# ------------------------------------------------------------------------- reading
def load_pem(pem: str) -> x509.Certificate:
    """One PEM certificate; ValueError for anything else."""
    return x509.load_pem_x509_certificate(pem.encode())


def load_chain(text: str) -> list[x509.Certificate]:
    """The certificates of a PEM chain in the order given (leaf first); ValueError when one does not parse."""
    blocks = [block.strip() + "\n" + PEM_END + "\n" for block in text.split(PEM_END) if "BEGIN CERTIFICATE" in block]
    return [load_pem(block) for block in blocks]


def valid_now(cert: x509.Certificate) -> bool:
    now = dt.datetime.now(dt.timezone.utc)
    return cert.not_valid_before_utc <= now <= cert.not_valid_after_utc


def _extension(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.ExtensionType | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def is_ca(cert: x509.Certificate) -> bool:
    """A certificate that may sign others: basicConstraints CA, and keyCertSign when it has a keyUsage."""
    constraints = _extension(cert, x509.BasicConstraints)
    if not isinstance(constraints, x509.BasicConstraints) or not constraints.ca:
        return False
    usage = _extension(cert, x509.KeyUsage)
    return usage is None or (isinstance(usage, x509.KeyUsage) and usage.key_cert_sign)


def _leaf_allows(cert: x509.Certificate, purpose: x509.ObjectIdentifier) -> bool:
    """digitalSignature in its keyUsage and `purpose` in its extendedKeyUsage, where it restricts them."""
    usage = _extension(cert, x509.KeyUsage)
    if isinstance(usage, x509.KeyUsage) and not usage.digital_signature:
        return False
    extended = _extension(cert, x509.ExtendedKeyUsage)
    return not isinstance(extended, x509.ExtendedKeyUsage) or purpose in extended


# ------------------------------------------------------------------------- signatures
def _verify(public_key: object, signature: bytes, data: bytes, algorithm: hashes.HashAlgorithm) -> bool:
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, data, ec.ECDSA(algorithm))
        elif isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, data, padding.PKCS1v15(), algorithm)
        else:
            return False
    except (InvalidSignature, UnsupportedAlgorithm, ValueError):
        return False
    return True


def signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """`issuer` made `cert`: the names match and the issuer's key verifies the certificate's signature."""
    algorithm = cert.signature_hash_algorithm
    if cert.issuer != issuer.subject or algorithm is None:
        return False
    return _verify(issuer.public_key(), cert.signature, cert.tbs_certificate_bytes, algorithm)


def signature_valid(signer: x509.Certificate, image: bytes, signature_b64: str) -> bool:
    """SignedUpdateFirmware's signature (base64) over the image, by the key of the signing certificate (SHA-256)."""
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError):
        return False
    return bool(signature) and _verify(signer.public_key(), signature, image, hashes.SHA256())


# ------------------------------------------------------------------------- chains
def chain_problem(chain: list[x509.Certificate], roots: list[x509.Certificate],
                  purpose: x509.ObjectIdentifier | None = None) -> str | None:
    """Why `chain` (leaf first, intermediates after it) does not lead to one of `roots`, else None.

    `purpose`: the extendedKeyUsage the leaf must allow (code signing, TLS client), when it lists any."""
    if not chain:
        return "no certificate"
    leaf = chain[0]
    if purpose is not None and not _leaf_allows(leaf, purpose):
        return "the certificate is not for this use (keyUsage / extendedKeyUsage)"
    for position, cert in enumerate(chain):
        if not valid_now(cert):
            return f"certificate {position + 1} of the chain is not valid now (expired or not yet valid)"
    for position, (child, parent) in enumerate(zip(chain, chain[1:])):
        if not signed_by(child, parent):
            return f"certificate {position + 1} of the chain is not signed by the next one"
        if not is_ca(parent) or not _path_length_allows(parent, position):
            return f"certificate {position + 2} of the chain is not a CA allowed to sign it"
    top = chain[-1]
    for root in roots:
        if root == top:  # the chain ends with the installed root itself
            return "the certificate is a root, not one issued by it" if len(chain) == 1 else _root_ok(
                root, len(chain) - 2)
        if signed_by(top, root):
            return _root_ok(root, len(chain) - 1)
    return "the chain does not lead to an installed root certificate"


def _path_length_allows(ca: x509.Certificate, below: int) -> bool:
    """`below`: how many CA certificates lie between `ca` and the leaf."""
    constraints = _extension(ca, x509.BasicConstraints)
    limit = constraints.path_length if isinstance(constraints, x509.BasicConstraints) else None
    return limit is None or below <= limit


def _root_ok(root: x509.Certificate, below: int) -> str | None:
    if not valid_now(root):
        return "the installed root certificate is not valid now"
    if not is_ca(root) or not _path_length_allows(root, below):
        return "the installed root certificate is not a CA allowed to sign this chain"
    return None


# ------------------------------------------------------------------------- CertificateHashData
def _subject_public_key_bits(cert: x509.Certificate) -> bytes:
    """The contents of the subjectPublicKey BIT STRING (no tag, length or unused-bits count), as OCSP hashes it."""
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    body, _ = _der_value(spki, 0, 0x30)
    _, after_algorithm = _der_value(body, 0, 0x30)
    bits, _ = _der_value(body, after_algorithm, 0x03)
    return bits[1:]  # the first octet counts the unused bits of the last one (0 for a key)


def _der_value(data: bytes, at: int, tag: int) -> tuple[bytes, int]:
    """The value of the DER element of `tag` at `at`, and where the next element starts."""
    if data[at] != tag:
        raise ValueError(f"DER tag {data[at]:#x} where {tag:#x} was expected")
    length, at = data[at + 1], at + 2
    if length & 0x80:  # long form: the low bits count the length octets that follow
        count = length & 0x7F
        length, at = int.from_bytes(data[at:at + count], "big"), at + count
    return data[at:at + length], at + length


def hash_data(cert: x509.Certificate, issuer: x509.Certificate | None = None,
              algorithm: str = "SHA256") -> dict[str, str]:
    """CertificateHashData: hashes of the DER issuer name and of the issuer's public key bits, and the serial
    number in hexadecimal without leading zeroes. A root is its own issuer."""
    issuer = issuer or cert
    name_digest = hashes.Hash(HASHES[algorithm]())
    name_digest.update(cert.issuer.public_bytes())
    key_digest = hashes.Hash(HASHES[algorithm]())
    key_digest.update(_subject_public_key_bits(issuer))
    return {"hashAlgorithm": algorithm, "issuerNameHash": name_digest.finalize().hex(),
            "issuerKeyHash": key_digest.finalize().hex(), "serialNumber": format(cert.serial_number, "x")}


# ------------------------------------------------------------------------- the station's own key
def new_key() -> StationKey:
    return ec.generate_private_key(ec.SECP256R1())


def make_csr(key: StationKey, common_name: str, organization: str | None = None) -> str:
    """The PEM certificate signing request of SignCertificate: commonName, and the CPO as organization."""
    parts = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(parts)).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode()


CODE_SIGNING = ExtendedKeyUsageOID.CODE_SIGNING
CLIENT_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH
