"""Certificate management of the security extension (OCPP 1.6 security whitepaper): the station's certificate
store and the requests that work on it.

  InstallCertificate / DeleteCertificate / GetInstalledCertificateIds  the root certificates it trusts
      (CentralSystemRootCertificate: the Central System's TLS server; ManufacturerRootCertificate: firmware signers)
  ExtendedTriggerMessage(SignChargePointCertificate) -> SignCertificate  a new key pair and a CSR
  CertificateSigned  the Central System's CA signed it: checked against the installed Central System roots and
      installed as the ChargePointCertificate (the TLS client certificate of security profile 3)

The store is flash: it survives power loss. The roots a station leaves production with are preinstalled from
the settings (a run gives the simulator its test PKI's roots). Private keys never leave the station; the TLS
stack reads its client certificate from files in a directory of its own.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from ocpp.routing import on
from ocpp.v16 import call, call_result

from . import trust
from .config_keys import Key
from .remote_trigger import FIRMWARE_BUSY, current_status, send_triggered
from .trust import (
    CLIENT_AUTH,
    HASHES,
    StationKey,
    chain_problem,
    is_ca,
    load_chain,
    load_pem,
    make_csr,
    new_key,
    valid_now,
)

if TYPE_CHECKING:
    from .station import SimStation

log = logging.getLogger("hil_sim.certificates")

ROOT_TYPES = ("CentralSystemRootCertificate", "ManufacturerRootCertificate")
STORE_MAX_LENGTH = 10  # CertificateStoreMaxLength: root certificates the store holds
CHAIN_MAX_SIZE = 5000  # CertificateSignedMaxChainSize: bytes of a CertificateSigned chain (a leaf and two CAs)
TRIGGERABLE = ("BootNotification", "LogStatusNotification", "FirmwareStatusNotification", "Heartbeat",
               "MeterValues", "SignChargePointCertificate", "StatusNotification")


def _spki(public_key: Any) -> bytes:
    """A public key as its SubjectPublicKeyInfo: two keys are the same key when these are equal, whatever the
    algorithm."""
    return bytes(public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))

@dataclass
class Installed:
    type: str
    pem: str


class CertificateStore:
    def __init__(self, station: "SimStation") -> None:
        self.station = station
        self.roots: list[Installed] = []
        self.client_chain: str | None = None  # the ChargePointCertificate (and its chain), PEM
        self._client_key: StationKey | None = None
        self._pending_key: StationKey | None = None  # of the last CSR, until its certificate comes
        self._files = tempfile.TemporaryDirectory(prefix="hil_sim-tls-")  # the TLS stack's view of the store
        settings = station.settings
        for kind, path in (("CentralSystemRootCertificate", settings.csms_root),
                           ("ManufacturerRootCertificate", settings.manufacturer_root)):
            if path:
                self.roots.append(Installed(kind, Path(path).read_text()))
        station.keys.update({k.name: k for k in [
            Key("CpoName", ""),  # the organization its CSRs name (the whitepaper: set by the CPO)
            Key("CertificateSignedMaxChainSize", str(CHAIN_MAX_SIZE), readonly=True),
            Key("CertificateStoreMaxLength", str(STORE_MAX_LENGTH), readonly=True),
            Key("AdditionalRootCertificateCheck", "false", readonly=True),
        ]})

    @property
    def faults(self) -> Any:
        return self.station.faults

    # ------------------------------------------------------------------ the store
    def of_type(self, kind: str) -> list[str]:
        return [r.pem for r in self.roots if r.type == kind]

    def roots_of(self, kind: str) -> list[x509.Certificate]:
        return [load_pem(pem) for pem in self.of_type(kind)]

    def hash_data(self, pem: str, algorithm: str = "SHA256") -> dict[str, str]:
        """The CertificateHashData of an installed root (its own issuer)."""
        data = trust.hash_data(load_pem(pem), algorithm=algorithm)
        if self.faults.active("certificate_name_hash_of_text"):  # the bug: the issuer's text, not its DER
            digest = hashes.Hash(HASHES[algorithm]())
            digest.update(load_pem(pem).issuer.rfc4514_string().encode())
            data["issuerNameHash"] = digest.finalize().hex()
        return data

    def install(self, kind: str, pem: str) -> str:
        """InstallCertificate: a root certificate, valid now (unless the fault), kept once."""
        try:
            cert = load_pem(pem)
        except ValueError:
            return "Rejected"
        checked = not self.faults.active("expired_root_certificate_installed")
        # a root: a CA that signed itself
        if not is_ca(cert) or not trust.signed_by(cert, cert) or (checked and not valid_now(cert)):
            return "Rejected"
        if self.faults.active("install_certificate_type_ignored"):
            kind = "CentralSystemRootCertificate"  # the bug: every root goes into the Central System's store
        if any(r.type == kind and load_pem(r.pem) == cert for r in self.roots):
            return "Accepted"  # already there
        if len(self.roots) >= STORE_MAX_LENGTH:
            return "Rejected"
        self.roots.append(Installed(kind, pem))
        return "Accepted"

    def delete(self, wanted: dict[str, str]) -> str:
        algorithm = str(wanted.get("hash_algorithm", "SHA256"))
        for root in self.roots:
            # the hash data it would report itself, compared field by field (hexadecimal in either case)
            mine = self.hash_data(root.pem, algorithm) if algorithm in HASHES else {}
            if mine and all(str(mine[k]).lower() == str(wanted.get(w, "")).lower()
                            for k, w in (("issuerNameHash", "issuer_name_hash"), ("issuerKeyHash", "issuer_key_hash"),
                                         ("serialNumber", "serial_number"))):
                if not self.faults.active("delete_certificate_ignored"):  # the bug: says yes, keeps it
                    self.roots.remove(root)
                return "Accepted"
        return "NotFound"

    def trusted_csms_roots(self) -> str:
        """PEM text of every installed CentralSystemRootCertificate: what the TLS client verifies the server by."""
        return "".join(self.of_type("CentralSystemRootCertificate"))

    def client_files(self) -> tuple[Path, Path] | None:
        """The ChargePointCertificate chain and its key as files for the TLS stack; None without one."""
        if self.client_chain is None or self._client_key is None:
            return None
        directory = Path(self._files.name)
        cert, key = directory / "cp.pem", directory / "cp.key"
        cert.write_text(self.client_chain)
        key.write_bytes(self._client_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
        key.chmod(0o600)
        return cert, key

    # ------------------------------------------------------------------ the client certificate
    def common_name(self) -> str:
        """The commonName of its CSR: the station's serial number."""
        if self.faults.active("csr_common_name_is_model"):
            return self.station.settings.model  # the bug: the subject is built from the wrong field
        return self.station.settings.serial_number or self.station.charge_point_id

    async def request_signing(self) -> None:
        """A new key pair and a CSR for it, sent with SignCertificate (after the ExtendedTriggerMessage.conf)."""
        self._pending_key = new_key()
        csr = make_csr(self._pending_key, self.common_name(), self.station.keys["CpoName"].value or None)
        response = await self.station.call(call.SignCertificate(csr=csr))
        if response is None or response.status != "Accepted":
            self._pending_key = None
            log.info("SignCertificate not accepted: %s", None if response is None else response.status)

    def chain_problem(self, chain: str) -> str | None:
        """Why a CertificateSigned chain is not a valid ChargePointCertificate for the pending key, else None."""
        if len(chain.encode()) > CHAIN_MAX_SIZE:
            return f"the chain is longer than CertificateSignedMaxChainSize ({CHAIN_MAX_SIZE} bytes)"
        try:
            certs = load_chain(chain)
        except ValueError:
            return "not a PEM certificate chain"
        if not certs:
            return "no certificate in the chain"
        if self._pending_key is None:
            return "no certificate signing request is pending"
        if _spki(certs[0].public_key()) != _spki(self._pending_key.public_key()):
            return "the certificate is not for the key of the last certificate signing request"
        if self.faults.active("certificate_chain_not_verified"):
            return None  # the bug: the chain is never checked against the trusted roots
        problem = chain_problem(certs, self.roots_of("CentralSystemRootCertificate"), CLIENT_AUTH)
        return None if problem is None else f"{problem} (installed CentralSystemRootCertificates)"

    def certificate_signed(self, chain: str) -> str:
        problem = self.chain_problem(chain)
        if problem is not None:
            self.station.spawn_after_answer(self.station.security_event("InvalidChargePointCertificate", problem))
            return "Rejected"
        self.client_chain, self._client_key, self._pending_key = chain, self._pending_key, None
        if not self.faults.active("certificate_signed_without_reconnect"):
            # a station on profile 3 takes the new certificate into use: it reconnects with it
            self.station.link_security.reconnect_if(lambda profile: profile == 3)
        return "Accepted"


class CertificateHandlers:
    """The certificate requests of the security whitepaper, as a mixin of SimChargePoint."""

    station: "SimStation"

    @on("InstallCertificate")
    def on_install_certificate(self, certificate_type: str, certificate: str,
                               **_: Any) -> call_result.InstallCertificate:
        store = self.station.certificates
        status = store.install(certificate_type, certificate)
        if status == "Rejected" and certificate_type == "CentralSystemRootCertificate":
            # the .conf that refuses it goes out first
            self.station.spawn_after_answer(self.station.security_event(
                "InvalidCentralSystemCertificate", "InstallCertificate: not a valid root certificate"))
        return call_result.InstallCertificate(status=status)

    @on("DeleteCertificate")
    def on_delete_certificate(self, certificate_hash_data: dict[str, str], **_: Any) -> call_result.DeleteCertificate:
        return call_result.DeleteCertificate(status=self.station.certificates.delete(certificate_hash_data))

    @on("GetInstalledCertificateIds")
    def on_get_installed_certificate_ids(self, certificate_type: str,
                                         **_: Any) -> call_result.GetInstalledCertificateIds:
        store = self.station.certificates
        found = [store.hash_data(pem) for pem in store.of_type(certificate_type)]
        if not found:
            return call_result.GetInstalledCertificateIds(status="NotFound")
        return call_result.GetInstalledCertificateIds(status="Accepted", certificate_hash_data=found)

    @on("CertificateSigned")
    def on_certificate_signed(self, certificate_chain: str, **_: Any) -> call_result.CertificateSigned:
        return call_result.CertificateSigned(status=self.station.certificates.certificate_signed(certificate_chain))

    @on("ExtendedTriggerMessage")
    def on_extended_trigger_message(self, requested_message: str, connector_id: int | None = None,
                                    **_: Any) -> call_result.ExtendedTriggerMessage:
        station = self.station
        if station.rt is None or (connector_id is not None and not station.valid_connector(connector_id, True)):
            return call_result.ExtendedTriggerMessage(status="Rejected")
        if requested_message not in TRIGGERABLE:
            return call_result.ExtendedTriggerMessage(status="NotImplemented")
        if requested_message == "SignChargePointCertificate":
            station.spawn_after_answer(station.certificates.request_signing())
        elif requested_message == "FirmwareStatusNotification":  # the security extension's signed variant
            station.spawn_after_answer(station.call(call.SignedFirmwareStatusNotification(
                status=current_status(station.firmware_status, FIRMWARE_BUSY))))
        elif requested_message == "LogStatusNotification":
            station.spawn_after_answer(station.call(call.LogStatusNotification(status="Idle")))
        else:
            station.spawn_after_answer(send_triggered(station, requested_message, connector_id))
        return call_result.ExtendedTriggerMessage(status="Accepted")

