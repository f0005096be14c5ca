"""The Central System's side of the OCPP 1.6 security profiles (security whitepaper, "Security Profiles"):
which WebSocket connections it accepts, and what it saw of each one.

  profile 0  ws://   no credentials (OCPP 1.6 without the security extension)
  profile 1  ws://   HTTP Basic authentication: username = charge point id, password = the AuthorizationKey
  profile 2  wss://  TLS with the run's test PKI server certificate, plus HTTP Basic authentication
  profile 3  wss://  TLS with a client certificate the CSMS root issued (checked in the TLS handshake)

Every HTTP upgrade request is recorded, accepted or not, so a scenario's `connection` step can judge what the
charger presented (the Authorization header, the TLS version and ciphers, its client certificate), as the
OCTT validates the handshake in TC_085-087.

What the Central System accepts follows what it knows of the station: the lowest profile is the bench's starting
one and rises when the station connects with a higher one (a CSMS does not let an upgraded station be talked
back down: that is how a downgrade attack would look). A password the tool changed with ChangeConfiguration is
accepted next to the old one until the station used it once, as a CSMS rolling over a key does.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import ssl
import warnings
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import NameOID

from benchctl.security.pki import LabPki, fingerprint_ids, make_ca

PROFILES = (0, 1, 2, 3)


def key_bytes(hex_key: str) -> bytes | None:
    """An AuthorizationKey as ChangeConfiguration carries it (hex) -> the password bytes; None if not hex."""
    try:
        return binascii.unhexlify(hex_key.strip())
    except (binascii.Error, ValueError):
        return None


def authorization_key_problem(hex_key: str) -> str | None:
    """Why a configured AuthorizationKey is unusable, else None. The whitepaper: a password of at least 16 bytes,
    at most 20, written as hexadecimal digits."""
    raw = key_bytes(hex_key)
    if raw is None:
        return "must be an even number of hexadecimal digits (the key's bytes, as ChangeConfiguration sends it)"
    if not 16 <= len(raw) <= 20:
        return f"must be 16 to 20 bytes (32 to 40 hexadecimal digits), not {len(raw)} bytes"
    return None


@dataclass
class CsmsSecurity:
    """How the Central System is set up: the bench's `dut.csms` security fields and the run's test PKI."""

    profile: int = 0  # the bench's starting profile: the station is commissioned with it
    authorization_key: str = ""  # hex; the password the bench knows for the station (profiles 1 and 2)
    pki: LabPki | None = None
    tls_port: int | None = None  # the wss:// listener's port (0: any free one); None: no TLS listener
    # hex passwords of particular charge point ids (dut.csms.authorization_keys); any other id has the one above
    authorization_keys: dict[str, str] = field(default_factory=dict)
    _store: dict[str, Any] = field(default_factory=dict, repr=False)  # the tool's certificate store, made once

    def server_context(self) -> ssl.SSLContext:
        """TLS 1.2+ with the PKI's server certificate; a client certificate is optional (profile 2 has none) but
        must chain to the CSMS root when one is sent (profile 3)."""
        assert self.pki is not None, "a TLS listener needs the run's PKI"
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.pki.path("csms_server"), self.pki.path("csms_server", key=True))
        context.verify_mode = ssl.CERT_OPTIONAL
        context.load_verify_locations(self.pki.path("csms_root"))
        return context

    def key_for(self, charge_point_id: str) -> str:
        """The password (hex, upper case) the station with this id is commissioned with; empty: none."""
        return self.authorization_keys.get(charge_point_id, self.authorization_key).upper()

    def scenario_values(self, charge_point_id: str | None = None) -> dict[str, Any]:
        """The `${...}` values the security cases use: the configured credentials and the tool's certificate store
        (the PEM and the CertificateHashData of each certificate it installs)."""
        key = self.authorization_key if charge_point_id is None else self.key_for(charge_point_id)
        values: dict[str, Any] = {"authorization_key": key.upper()}
        if self.pki is None:
            return values
        if not self._store:
            # "<An invalid/expired certificate>" (TC_078): a root CA whose validity ended long ago
            expired = make_ca("benchctl expired root", "benchctl lab CPO", valid_days=1,
                              not_before=dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc))
            # TC_075_1's "new manufacturer root certificate": the manufacturer's next root, not yet on the station
            new_manufacturer = make_ca("benchctl manufacturer root 2", "benchctl lab manufacturer")
            for name, pem in (("csms_root", self.pki.csms_root.cert_pem),
                              ("manufacturer_root", self.pki.manufacturer_root.cert_pem),
                              ("store_manufacturer_root", new_manufacturer.cert_pem),
                              ("expired_root", expired.cert_pem)):
                self._store[f"{name}_certificate"] = pem
                self._store[f"{name}_hash"] = fingerprint_ids(pem)
                self._store[f"{name}_serial"] = self._store[f"{name}_hash"]["serialNumber"]
        return values | self._store


def _basic(header: str | None, url_id: str) -> dict[str, Any] | None:
    """The Authorization header as the tool judges it (TC_085 step 1, TC_086 step 5)."""
    if header is None:
        return None
    scheme, _, credentials = header.strip().partition(" ")
    record: dict[str, Any] = {"scheme": scheme, "header": header}
    if scheme.lower() != "basic":
        return record
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True)
    except (binascii.Error, ValueError):
        record["error"] = "the credentials are not base64"
        return record
    user, colon, password = decoded.partition(b":")
    if not colon:
        record["error"] = "no ':' between username and password"
        return record
    record.update(username=user.decode("utf-8", "replace"), password_hex=password.hex().upper(),
                  password_length=len(password), password_hex_length=len(password.hex()),
                  username_matches_url=user.decode("utf-8", "replace") == url_id)
    return record


def _key_strong_enough(key: Any) -> bool:
    """TC_087 step 4: RSA or DSA keys of at least 2048 bits, elliptic curve keys of at least 224 bits."""
    if isinstance(key, rsa.RSAPublicKey) or _is_dsa(key):
        return key.key_size >= 2048
    if isinstance(key, ec.EllipticCurvePublicKey):
        return key.curve.key_size >= 224
    return False


def _is_dsa(key: Any) -> bool:
    # the document still names DSA; cryptography deprecates it and warns on every use of its class, so the check
    # is quiet about it (a station's DSA certificate is judged, not refused for the library's reasons)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return isinstance(key, dsa.DSAPublicKey)


def _client_certificate(der: bytes) -> dict[str, Any]:
    cert = x509.load_der_x509_certificate(der)

    def first(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
        found = name.get_attributes_for_oid(oid)
        return str(found[0].value) if found else None

    key = cert.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        key_type, bits = "EC", key.curve.key_size
    elif isinstance(key, (rsa.RSAPublicKey, dsa.DSAPublicKey)):
        key_type, bits = ("RSA" if isinstance(key, rsa.RSAPublicKey) else "DSA"), key.key_size
    else:
        key_type, bits = type(key).__name__, None
    return {"format": "X.509", "serial_number": format(cert.serial_number, "x"),
            "subject": cert.subject.rfc4514_string(), "subject_cn": first(cert.subject, NameOID.COMMON_NAME),
            "subject_o": first(cert.subject, NameOID.ORGANIZATION_NAME),
            "issuer_cn": first(cert.issuer, NameOID.COMMON_NAME), "key_type": key_type, "key_bits": bits,
            "key_strong_enough": _key_strong_enough(key)}


def describe_connection(path: str, url_id: str, authorization: str | None,
                        ssl_object: ssl.SSLObject | None) -> dict[str, Any]:
    """What the charger presented in one HTTP upgrade request (before the Central System decides)."""
    record: dict[str, Any] = {"path": path, "charge_point_id": url_id,
                              "transport": "wss" if ssl_object is not None else "ws"}
    basic = _basic(authorization, url_id)
    if basic is not None:
        record["authorization"] = basic
    if ssl_object is not None:
        cipher = ssl_object.cipher()
        record["tls"] = {"version": ssl_object.version(), "cipher": cipher[0] if cipher else None,
                         "shared_ciphers": [c[0] for c in ssl_object.shared_ciphers() or []]}
        der = ssl_object.getpeercert(binary_form=True)
        if der:  # only there when it chained to the CSMS root: the handshake refuses any other
            record["client_certificate"] = _client_certificate(der)
    if ssl_object is None:
        record["security_profile"] = 1 if basic is not None else 0
    else:
        record["security_profile"] = 3 if "client_certificate" in record else 2
    return record


@dataclass
class StationSecurity:
    """What the Central System knows of one station's security settings, and every connection attempt."""

    config: CsmsSecurity
    charge_point_id: str = ""
    minimum_profile: int = 0
    keys: list[str] = field(default_factory=list)  # accepted passwords (hex, upper case), the newest first
    connections: list[dict[str, Any]] = field(default_factory=list)
    touched: set[str] = field(default_factory=set)  # security requests the tool sent since the last restore

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Back to what the bench commissioned (after the station itself was reset to it locally)."""
        self.minimum_profile = self.config.profile
        self.keys = [self.commissioned_key] if self.commissioned_key else []

    @property
    def commissioned_key(self) -> str:
        """The station's password as the bench commissioned it (hex, upper case; empty: none)."""
        return self.config.key_for(self.charge_point_id)

    @property
    def current_profile(self) -> int | None:
        """The profile of the last connection the Central System accepted."""
        accepted = [c for c in self.connections if c["accepted"]]
        return accepted[-1]["security_profile"] if accepted else None

    def judge(self, record: dict[str, Any]) -> tuple[HTTPStatus | None, str]:
        """Accept (None) or refuse (an HTTP status and why) the connection `record` describes."""
        profile = record["security_profile"]
        if profile < self.minimum_profile:
            if record["transport"] == "ws" and self.minimum_profile >= 2:
                return HTTPStatus.FORBIDDEN, f"security profile {self.minimum_profile} needs TLS (wss://)"
            if profile == 0:
                return HTTPStatus.UNAUTHORIZED, "no Authorization header (HTTP Basic authentication required)"
            return HTTPStatus.FORBIDDEN, f"security profile {profile} is below the station's {self.minimum_profile}"
        if profile in (1, 2):
            basic = record.get("authorization")
            if basic is None:
                return HTTPStatus.UNAUTHORIZED, "no Authorization header (HTTP Basic authentication required)"
            if not basic.get("username_matches_url"):
                return HTTPStatus.UNAUTHORIZED, "the Basic authentication username is not the charge point id"
            if basic.get("password_hex") not in self.keys:
                return HTTPStatus.UNAUTHORIZED, "wrong password (not the station's AuthorizationKey)"
        return None, "accepted"

    def accepted(self, record: dict[str, Any]) -> None:
        self.minimum_profile = max(self.minimum_profile, record["security_profile"])
        used = (record.get("authorization") or {}).get("password_hex")
        if self.keys and used == self.keys[0]:
            self.keys = self.keys[:1]  # the station uses the new key: the old one is no longer accepted

    def observe(self, action: str, payload: dict[str, Any], response: dict[str, Any]) -> None:
        """A tool request the charger answered: a new password the station accepted becomes the one to use."""
        if action in ("ChangeConfiguration", "InstallCertificate", "DeleteCertificate", "CertificateSigned",
                      "ExtendedTriggerMessage"):
            self.touched.add(action if action != "ChangeConfiguration" else str(payload.get("key")))
        if action != "ChangeConfiguration" or response.get("status") not in ("Accepted", "RebootRequired"):
            return
        if payload.get("key") == "AuthorizationKey":
            new = str(payload.get("value", "")).upper()
            self.keys = [new] + [k for k in self.keys if k != new][:1]
