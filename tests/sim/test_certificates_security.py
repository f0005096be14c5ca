"""The simulated station's certificate management (security whitepaper) over the real wire: its root certificate
store with the CertificateHashData the tool computes itself, and the client certificate it asks for and checks."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import AsyncIterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from test_security_profiles_security import Secured, secured_session

from benchctl.security.pki import fingerprint_ids, issue, make_ca, sign_csr
from hil_sim.charger.certificates import CHAIN_MAX_SIZE, STORE_MAX_LENGTH


@pytest.fixture
async def secured(tmp_path: Path) -> AsyncIterator[Secured]:
    async for session in secured_session(tmp_path):
        yield session


async def listed(session: Secured, kind: str) -> list[dict]:
    response = await session.call("GetInstalledCertificateIds", {"certificateType": kind})
    return response.get("certificateHashData") or []


async def test_the_roots_from_production_are_listed_with_the_tools_hash_data(secured: Secured) -> None:
    assert secured.pki is not None
    assert await listed(secured, "CentralSystemRootCertificate") == [fingerprint_ids(secured.pki.csms_root.cert_pem)]
    assert await listed(secured, "ManufacturerRootCertificate") == [
        fingerprint_ids(secured.pki.manufacturer_root.cert_pem)]


async def test_install_list_and_delete_a_root(secured: Secured) -> None:
    new_root = make_ca("a new manufacturer root")
    answer = await secured.call("InstallCertificate", {"certificateType": "ManufacturerRootCertificate",
                                                       "certificate": new_root.cert_pem})
    assert answer == {"status": "Accepted"}
    assert fingerprint_ids(new_root.cert_pem) in await listed(secured, "ManufacturerRootCertificate")
    assert fingerprint_ids(new_root.cert_pem) not in await listed(secured, "CentralSystemRootCertificate")
    # installing it again keeps one copy
    await secured.call("InstallCertificate", {"certificateType": "ManufacturerRootCertificate",
                                              "certificate": new_root.cert_pem})
    assert len(await listed(secured, "ManufacturerRootCertificate")) == 2
    # deleted by hash data of another algorithm than the one it lists with
    by_sha384 = fingerprint_ids(new_root.cert_pem, algorithm="SHA384")
    assert (await secured.call("DeleteCertificate", {"certificateHashData": by_sha384}))["status"] == "Accepted"
    assert fingerprint_ids(new_root.cert_pem) not in await listed(secured, "ManufacturerRootCertificate")
    assert (await secured.call("DeleteCertificate", {"certificateHashData": by_sha384}))["status"] == "NotFound"


async def test_an_invalid_central_system_root_is_refused_and_reported(secured: Secured) -> None:
    expired = make_ca("expired", valid_days=1, not_before=dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc))
    leaf = issue(make_ca("some CA"), "not a CA", usage="server")
    for pem in (expired.cert_pem, leaf.cert_pem, "-----BEGIN CERTIFICATE-----\nbm9uc2Vuc2U=\n-----END CERTIFICATE-----\n"):
        mark = secured.mark()
        answer = await secured.call("InstallCertificate", {"certificateType": "CentralSystemRootCertificate",
                                                           "certificate": pem})
        assert answer == {"status": "Rejected"}
        event = await secured.next("SecurityEventNotification", after=mark)
        assert event.payload["type"] == "InvalidCentralSystemCertificate"
        assert event.frame.index > max(f.index for f in secured.csms.capture.read()
                                       if f.frame.action == "InstallCertificate")  # after the .conf
    assert len(await listed(secured, "CentralSystemRootCertificate")) == 1


async def test_the_store_has_a_limit(secured: Secured) -> None:
    for n in range(STORE_MAX_LENGTH - 2):  # two roots came from production
        await secured.call("InstallCertificate", {"certificateType": "ManufacturerRootCertificate",
                                                  "certificate": make_ca(f"root {n}").cert_pem})
    answer = await secured.call("InstallCertificate", {"certificateType": "ManufacturerRootCertificate",
                                                       "certificate": make_ca("one too many").cert_pem})
    assert answer == {"status": "Rejected"}


async def sign_request(session: Secured, cpo: str = "Lab CPO") -> x509.CertificateSigningRequest:
    assert await session.change("CpoName", cpo) == "Accepted"
    mark = session.mark()
    answer = await session.call("ExtendedTriggerMessage", {"requestedMessage": "SignChargePointCertificate"})
    assert answer == {"status": "Accepted"}
    request = await session.next("SignCertificate", after=mark)
    return x509.load_pem_x509_csr(request.payload["csr"].encode())


async def test_a_csr_names_the_station_and_its_cpo_and_a_valid_certificate_is_taken(secured: Secured) -> None:
    assert secured.pki is not None
    csr = await sign_request(secured)
    assert csr.is_signature_valid
    assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "T-1"  # its serial number
    assert csr.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Lab CPO"
    signed = sign_csr(secured.pki.csms_root, csr.public_bytes(Encoding.PEM).decode())
    answer = await secured.call("CertificateSigned", {"certificateChain": signed.cert_pem})
    assert answer == {"status": "Accepted"}
    # now profile 3 is possible: it reconnects over TLS with that certificate
    since = len(secured.attempts())
    assert await secured.change("SecurityProfile", "3") == "Accepted"
    attempt = await secured.next_connection(since)
    assert (attempt["security_profile"], attempt["accepted"]) == (3, True)
    assert attempt["client_certificate"]["serial_number"] == format(signed.cert.serial_number, "x")
    await secured.online()
    # a renewal on profile 3 is taken into use at once: a reconnection with the new certificate
    csr = await sign_request(secured)
    renewed = sign_csr(secured.pki.csms_root, csr.public_bytes(Encoding.PEM).decode())
    since = len(secured.attempts())
    assert (await secured.call("CertificateSigned", {"certificateChain": renewed.cert_pem}))["status"] == "Accepted"
    again = await secured.next_connection(since)
    assert again["client_certificate"]["serial_number"] == format(renewed.cert.serial_number, "x")


@pytest.mark.parametrize("what", ["another CA", "another key", "too long", "no request pending"])
async def test_a_bad_certificate_is_rejected_and_reported(secured: Secured, what: str) -> None:
    assert secured.pki is not None
    pem_of = Encoding.PEM
    if what == "no request pending":
        chain = issue(secured.pki.csms_root, "T-1", usage="client").cert_pem
    else:
        csr = (await sign_request(secured)).public_bytes(pem_of).decode()
        if what == "another CA":
            chain = sign_csr(make_ca("not the CPO"), csr).cert_pem
        elif what == "another key":
            chain = issue(secured.pki.csms_root, "T-1", usage="client").cert_pem
        else:
            chain = sign_csr(secured.pki.csms_root, csr).cert_pem + secured.pki.csms_root.cert_pem * 10
            assert CHAIN_MAX_SIZE < len(chain) <= 10000  # longer than the station takes, within the schema
    mark = secured.mark()
    assert (await secured.call("CertificateSigned", {"certificateChain": chain}))["status"] == "Rejected"
    event = await secured.next("SecurityEventNotification", after=mark)
    assert event.payload["type"] == "InvalidChargePointCertificate"
    assert await secured.change("SecurityProfile", "3") == "Rejected"  # still no client certificate


async def test_extended_trigger_message_sends_the_other_messages_too(secured: Secured) -> None:
    mark = secured.mark()
    assert (await secured.call("ExtendedTriggerMessage", {"requestedMessage": "Heartbeat"}))["status"] == "Accepted"
    await secured.next("Heartbeat", after=mark)
    answer = await secured.call("ExtendedTriggerMessage", {"requestedMessage": "StatusNotification", "connectorId": 7})
    assert answer["status"] == "Rejected"
    await asyncio.sleep(0.2)
