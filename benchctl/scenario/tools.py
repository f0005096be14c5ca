"""What the tool computes between messages, for the `tool:` step: the test case document's bracketed tool
activities, e.g. "[Certificate Authority Server signs the certificate.]" (TC_074, TC_077), or "the
certificateHashData ... using the hashAlgorithm provided at step 2" (TC_076).

Each tool gets the Central System's security setup (its test PKI) and the step's `with:` arguments, and returns
the value the step saves.
"""

from __future__ import annotations

from typing import Any, Callable

from benchctl.csms.security import CsmsSecurity
from benchctl.security.pki import HASH_ALGORITHMS, fingerprint_ids, load_cert, make_ca, sign_csr

Tool = Callable[..., Any]
TOOLS: dict[str, Tool] = {}


def tool(name: str) -> Callable[[Tool], Tool]:
    def register(func: Tool) -> Tool:
        TOOLS[name] = func
        return func
    return register


@tool("sign_certificate")
def sign_certificate(security: CsmsSecurity, csr: str, issuer: str = "csms_root") -> str:
    """The PEM certificate the Certificate Authority makes for a CSR: issued by the CSMS root (`csms_root`, the
    valid one) or by a CA the station does not know (`unknown_ca`: "an invalid certificate")."""
    if not isinstance(csr, str) or "CERTIFICATE REQUEST" not in csr:
        raise ValueError(f"sign_certificate: no CSR to sign (got {str(csr)[:40]!r})")
    if issuer == "csms_root":
        if security.pki is None:
            raise ValueError("sign_certificate: the Central System has no PKI")
        ca = security.pki.csms_root
    elif issuer == "unknown_ca":
        ca = make_ca("an unknown CA", "not the CPO")
    else:
        raise ValueError(f"sign_certificate: issuer must be csms_root or unknown_ca, not {issuer!r}")
    return sign_csr(ca, csr).cert_pem


@tool("certificate_hash_data")
def certificate_hash_data(security: CsmsSecurity, certificate: str, algorithm: str | None = None) -> dict[str, str]:
    """The tool's own CertificateHashData of a certificate (SHA256 unless the charger named another)."""
    algorithm = algorithm or "SHA256"
    if algorithm not in HASH_ALGORITHMS:
        raise ValueError(f"certificate_hash_data: unknown hashAlgorithm {algorithm!r}")
    return fingerprint_ids(certificate, algorithm=algorithm)


@tool("certificate_serial_number")
def certificate_serial_number(security: CsmsSecurity, certificate: str) -> str:
    """The serial number of a PEM certificate, in hexadecimal as CertificateHashData writes it."""
    return format(load_cert(certificate).serial_number, "x")
