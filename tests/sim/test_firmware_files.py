"""The simulated station's file transfers (hil_sim/charger/firmware.py) against the run's real file server:
firmware updates plain and signed, diagnostics and security log uploads, over HTTP and FTP, and their failures."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, AsyncIterator

import pytest

from benchctl.csms.link import ToolRequestError
from benchctl.security.pki import LabPki, sign_firmware
from benchctl.transfer.server import FileServer
from hil_sim.charger.firmware_image import build_image, corrupted
from hil_sim.settings import PROFILES, SimSettings

from support.station import Session, _settings

IMAGE = build_image("benchctl", "hil_sim", "1.0.1")
NOW = "2020-01-01T00:00:00Z"  # a retrieveDate in the past: download at once
PROTOCOLS = ("http", "ftp")


@pytest.fixture
def pki(tmp_path: Path) -> LabPki:
    return LabPki.create(tmp_path / "pki")


@pytest.fixture
def station_settings(pki: LabPki) -> SimSettings:
    return _settings(manufacturer_root=str(pki.path("manufacturer_root")))


@pytest.fixture
async def files(tmp_path: Path) -> AsyncIterator[FileServer]:
    server = FileServer(tmp_path / "files")
    await server.start()
    server.area.publish("firmware/good.fwi", IMAGE)
    server.area.publish("firmware/bad.fwi", corrupted(IMAGE))
    try:
        yield server
    finally:
        await server.stop()


def statuses(session: Session, action: str, mark: int) -> list[str]:
    return [i.payload["status"] for i in session.link.inbox[mark:] if i.action == action]


async def until_status(session: Session, action: str, status: str, mark: int, timeout: float = 10) -> Any:
    return await session.next(action, lambda p: p["status"] == status, after=mark, timeout=timeout)


# --------------------------------------------------------------------------- UpdateFirmware
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_an_update_downloads_installs_and_reboots_into_the_new_version(session: Session, files: FileServer,
                                                                             protocol: str) -> None:
    mark = session.mark()
    assert await session.call("UpdateFirmware", {"location": files.url(protocol, "firmware/good.fwi"),
                                                 "retrieveDate": NOW}) == {}
    await until_status(session, "FirmwareStatusNotification", "Installed", mark)
    assert statuses(session, "FirmwareStatusNotification", mark) == ["Downloading", "Downloaded", "Installing",
                                                                      "Installed"]
    boot = await session.next("BootNotification", after=mark)
    assert boot.payload["firmwareVersion"] == "1.0.1"
    actions = [i.action for i in session.link.inbox[mark:]]
    assert actions.index("BootNotification") < len(actions) - 1 - actions[::-1].index("FirmwareStatusNotification")
    assert session.sim.station.firmware_status == "Idle"  # nothing going on: a triggered report says Idle
    (served,) = files.log.since()
    assert (served.protocol, served.name, served.complete) == (protocol, "good.fwi", True)


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(("path", "mode"), [("firmware/download_fail.fwi", None), ("firmware/good.fwi", "refused"),
                                            ("firmware/good.fwi", "closed"), ("firmware/good.fwi", "interrupted")])
async def test_a_download_that_fails_is_reported_and_nothing_is_installed(session: Session, files: FileServer,
                                                                          protocol: str, path: str,
                                                                          mode: str | None) -> None:
    mark = session.mark()
    await session.call("UpdateFirmware", {"location": files.url(protocol, path, mode), "retrieveDate": NOW,
                                          "retries": 0})
    await until_status(session, "FirmwareStatusNotification", "DownloadFailed", mark)
    await asyncio.sleep(0.5)
    assert statuses(session, "FirmwareStatusNotification", mark) == ["Downloading", "DownloadFailed"]
    assert not [i for i in session.link.inbox[mark:] if i.action == "BootNotification"]
    assert session.sim.station.firmware_version == "1.0.0"


async def test_a_failed_download_is_retried_after_the_interval(session: Session, files: FileServer) -> None:
    mark = session.mark()
    started = time.monotonic()
    await session.call("UpdateFirmware", {"location": files.url("http", "firmware/good.fwi", "interrupted"),
                                          "retrieveDate": NOW, "retries": 1, "retryInterval": 1})
    await until_status(session, "FirmwareStatusNotification", "DownloadFailed", mark)
    assert time.monotonic() - started >= 1.0
    assert [(r.mode, r.complete) for r in files.log.since()] == [("interrupted", False)] * 2


async def test_a_location_in_a_protocol_it_does_not_speak_fails_at_once(session: Session) -> None:
    mark = session.mark()
    await session.call("UpdateFirmware", {"location": "https://127.0.0.1:1/x.fwi", "retrieveDate": NOW})
    await until_status(session, "FirmwareStatusNotification", "DownloadFailed", mark, timeout=3)


async def test_the_download_waits_for_the_retrieve_date(session: Session, files: FileServer) -> None:
    mark = session.mark()
    later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 2))
    await session.call("UpdateFirmware", {"location": files.url("ftp", "firmware/good.fwi"), "retrieveDate": later})
    await asyncio.sleep(0.8)
    assert statuses(session, "FirmwareStatusNotification", mark) == []
    await until_status(session, "FirmwareStatusNotification", "Downloading", mark, timeout=4)


async def test_an_image_that_fails_the_check_is_not_installed(session: Session, files: FileServer) -> None:
    mark = session.mark()
    await session.call("UpdateFirmware", {"location": files.url("http", "firmware/bad.fwi"), "retrieveDate": NOW})
    await until_status(session, "FirmwareStatusNotification", "InstallationFailed", mark)
    await asyncio.sleep(0.5)
    assert statuses(session, "FirmwareStatusNotification", mark) == ["Downloading", "Downloaded", "Installing",
                                                                      "InstallationFailed"]
    assert not [i for i in session.link.inbox[mark:] if i.action == "BootNotification"]
    assert session.sim.station.firmware_version == "1.0.0"


async def test_the_installation_waits_until_the_transaction_has_ended(session: Session, files: FileServer) -> None:
    transaction_id = await session.charging()
    mark = session.mark()
    await session.call("UpdateFirmware", {"location": files.url("ftp", "firmware/good.fwi"), "retrieveDate": NOW})
    await until_status(session, "FirmwareStatusNotification", "Downloaded", mark)
    await asyncio.sleep(1.2)
    assert "Installing" not in statuses(session, "FirmwareStatusNotification", mark)
    assert session.sim.station.firmware_status == "Downloaded"
    await session.call("RemoteStopTransaction", {"transactionId": transaction_id})
    stop = await session.next("StopTransaction", after=mark)
    installing = await until_status(session, "FirmwareStatusNotification", "Installing", mark)
    assert stop.frame.index < installing.frame.index
    await until_status(session, "FirmwareStatusNotification", "Installed", mark)


async def test_supported_file_transfer_protocols_is_reported(session: Session) -> None:
    response = await session.call("GetConfiguration", {"key": ["SupportedFileTransferProtocols"]})
    assert response["configurationKey"] == [{"key": "SupportedFileTransferProtocols", "readonly": True,
                                             "value": "FTP,HTTP"}]


@pytest.mark.parametrize("station_settings",
                         [_settings(profiles=[p for p in PROFILES if p != "FirmwareManagement"])])
@pytest.mark.parametrize(("action", "payload"), [
    ("UpdateFirmware", {"location": "ftp://127.0.0.1/x.fwi", "retrieveDate": NOW}),
    ("GetDiagnostics", {"location": "ftp://127.0.0.1/"}),
])
async def test_without_the_profile_the_requests_are_not_implemented(session: Session, action: str,
                                                                    payload: dict[str, Any]) -> None:
    with pytest.raises(ToolRequestError, match="NotImplemented"):
        await session.call(action, payload)
    response = await session.call("GetConfiguration", {"key": ["SupportedFileTransferProtocols"]})
    assert response.get("unknownKey") == ["SupportedFileTransferProtocols"]


# --------------------------------------------------------------------------- GetDiagnostics / GetLog
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_diagnostics_are_uploaded_under_the_announced_name(session: Session, files: FileServer,
                                                                 tmp_path: Path, protocol: str) -> None:
    mark = session.mark()
    response = await session.call("GetDiagnostics", {"location": files.url(protocol, "upload/diagnostics/")})
    name = response["fileName"]
    await until_status(session, "DiagnosticsStatusNotification", "Uploaded", mark)
    assert statuses(session, "DiagnosticsStatusNotification", mark) == ["Uploading", "Uploaded"]
    (record,) = files.log.since()
    assert (record.path, record.complete) == (f"/upload/diagnostics/{name}", True)
    text = (tmp_path / "files" / "upload" / "diagnostics" / name).read_text()
    assert "T-1" in text and "config HeartbeatInterval=" in text
    assert session.sim.station.diagnostics_status == "Idle"


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(("path", "mode"), [("upload/diagnostics/missing/", None), ("upload/diagnostics/", "refused"),
                                            ("upload/diagnostics/", "closed"),
                                            ("upload/diagnostics/", "interrupted")])
async def test_a_diagnostics_upload_that_fails_is_reported(session: Session, files: FileServer, protocol: str,
                                                           path: str, mode: str | None) -> None:
    mark = session.mark()
    await session.call("GetDiagnostics", {"location": files.url(protocol, path, mode), "retries": 0})
    await until_status(session, "DiagnosticsStatusNotification", "UploadFailed", mark)
    assert statuses(session, "DiagnosticsStatusNotification", mark) == ["Uploading", "UploadFailed"]
    assert not any(r.complete for r in files.log.since())


async def test_the_security_log_is_uploaded_with_the_request_id(session: Session, files: FileServer,
                                                                tmp_path: Path) -> None:
    session.sim.station.security_log.append("2024-04-01T10:00:00.000Z StartupOfTheDevice")
    mark = session.mark()
    response = await session.call("GetLog", {"log": {"remoteLocation": files.url("ftp", "upload/log/")},
                                             "logType": "SecurityLog", "requestId": 42})
    assert response["status"] == "Accepted"
    await until_status(session, "LogStatusNotification", "Uploaded", mark)
    notes = [i.payload for i in session.link.inbox[mark:] if i.action == "LogStatusNotification"]
    assert notes == [{"status": "Uploading", "requestId": 42}, {"status": "Uploaded", "requestId": 42}]
    uploaded = (tmp_path / "files" / "upload" / "log" / response["filename"]).read_text()
    assert uploaded == "2024-04-01T10:00:00.000Z StartupOfTheDevice\n"


async def test_the_security_log_upload_keeps_to_the_requested_period(session: Session, files: FileServer,
                                                                     tmp_path: Path) -> None:
    session.sim.station.security_log[:] = ["2024-04-01T09:00:00.000Z ResetOrReboot",
                                           "2024-04-01T10:00:00.000Z StartupOfTheDevice",
                                           "2024-04-01T11:00:00.000Z SettingSystemTime"]
    mark = session.mark()
    response = await session.call("GetLog", {"log": {"remoteLocation": files.url("http", "upload/log/"),
                                                     "oldestTimestamp": "2024-04-01T09:30:00Z",
                                                     "latestTimestamp": "2024-04-01T10:30:00Z"},
                                             "logType": "SecurityLog", "requestId": 1})
    await until_status(session, "LogStatusNotification", "Uploaded", mark)
    uploaded = (tmp_path / "files" / "upload" / "log" / response["filename"]).read_text()
    assert uploaded == "2024-04-01T10:00:00.000Z StartupOfTheDevice\n"


async def test_a_refused_log_upload_is_permission_denied(session: Session, files: FileServer) -> None:
    mark = session.mark()
    await session.call("GetLog", {"log": {"remoteLocation": files.url("http", "upload/log/", "refused")},
                                  "logType": "SecurityLog", "requestId": 7, "retries": 0})
    await until_status(session, "LogStatusNotification", "PermissionDenied", mark)


# --------------------------------------------------------------------------- SignedUpdateFirmware
def signed(files: FileServer, pki: LabPki, signature: str | None = None, certificate: str | None = None,
           request_id: int = 5) -> dict[str, Any]:
    return {"requestId": request_id, "firmware": {
        "location": files.url("ftp", "firmware/good.fwi"), "retrieveDateTime": NOW,
        "signingCertificate": certificate or pki.firmware_signer.cert_pem,
        "signature": signature or sign_firmware(pki.firmware_signer, IMAGE)}}


async def test_a_signed_update_is_verified_installed_and_logged(session: Session, files: FileServer,
                                                                pki: LabPki) -> None:
    mark = session.mark()
    assert (await session.call("SignedUpdateFirmware", signed(files, pki)))["status"] == "Accepted"
    await until_status(session, "SignedFirmwareStatusNotification", "Installed", mark)
    notes = [i.payload for i in session.link.inbox[mark:] if i.action == "SignedFirmwareStatusNotification"]
    assert [n["status"] for n in notes] == ["Downloading", "Downloaded", "SignatureVerified", "Installing",
                                            "InstallRebooting", "Installed"]
    assert {n["requestId"] for n in notes} == {5}
    event = await session.next("SecurityEventNotification", after=mark)
    assert event.payload["type"] == "FirmwareUpdated"
    assert (await session.next("BootNotification", after=mark)).payload["firmwareVersion"] == "1.0.1"
    assert "FirmwareUpdated" in session.sim.station.security_log[-1]


async def test_a_wrong_signature_is_refused_and_reported(session: Session, files: FileServer, pki: LabPki) -> None:
    mark = session.mark()
    wrong = sign_firmware(pki.firmware_signer, b"another image")
    assert (await session.call("SignedUpdateFirmware", signed(files, pki, signature=wrong)))["status"] == "Accepted"
    await until_status(session, "SignedFirmwareStatusNotification", "InvalidSignature", mark)
    event = await session.next("SecurityEventNotification", after=mark)
    assert event.payload["type"] == "InvalidFirmwareSignature"
    await asyncio.sleep(0.5)
    assert statuses(session, "SignedFirmwareStatusNotification", mark) == ["Downloading", "Downloaded",
                                                                            "InvalidSignature"]
    assert not [i for i in session.link.inbox[mark:] if i.action == "BootNotification"]


async def test_a_certificate_from_another_root_is_refused_before_downloading(session: Session, files: FileServer,
                                                                             pki: LabPki) -> None:
    from benchctl.security.pki import issue, make_ca

    stranger = issue(make_ca("someone else's root"), "signer", usage="code")
    mark = session.mark()
    request = signed(files, pki, signature=sign_firmware(stranger, IMAGE), certificate=stranger.cert_pem)
    assert (await session.call("SignedUpdateFirmware", request))["status"] == "InvalidCertificate"
    event = await session.next("SecurityEventNotification", after=mark)
    assert event.payload["type"] == "InvalidFirmwareSigningCertificate"
    await asyncio.sleep(0.3)
    assert files.log.since() == [] and statuses(session, "SignedFirmwareStatusNotification", mark) == []


@pytest.mark.parametrize("station_settings", [_settings()])  # no manufacturer root installed
async def test_without_a_manufacturer_root_no_signed_update_is_accepted(session: Session, files: FileServer,
                                                                        pki: LabPki) -> None:
    assert (await session.call("SignedUpdateFirmware", signed(files, pki)))["status"] == "InvalidCertificate"


@pytest.mark.parametrize("station_settings", [_settings()])
async def test_a_manufacturer_root_installed_later_is_trusted(session: Session, files: FileServer,
                                                              pki: LabPki) -> None:
    installed = await session.call("InstallCertificate", {"certificateType": "ManufacturerRootCertificate",
                                                          "certificate": pki.manufacturer_root.cert_pem})
    assert installed["status"] == "Accepted"
    mark = session.mark()
    assert (await session.call("SignedUpdateFirmware", signed(files, pki)))["status"] == "Accepted"
    await until_status(session, "SignedFirmwareStatusNotification", "SignatureVerified", mark)
