"""File transfers of the simulated station: Firmware Management (UpdateFirmware, GetDiagnostics; OCPP 1.6
sections 5.8, 5.16, 6.x) and the security extension's signed firmware update and log upload (SignedUpdateFirmware,
GetLog; OCPP 1.6 security whitepaper).

Downloads and uploads are real: urllib (HTTP) and ftplib (FTP) in a worker thread, as a charger's transfer task
runs beside its OCPP stack. An installed image survives in "flash": the station reboots into it, reports the new
firmwareVersion in its BootNotification and only then says Installed, so the result is sent by the new firmware.
"""

from __future__ import annotations

import asyncio
import ftplib
import http.client
import io
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from ocpp.exceptions import NotImplementedError as NotImplementedCallError
from ocpp.routing import on
from ocpp.v16 import call, call_result

from .firmware_image import ImageRejected, check_image
from .trust import CODE_SIGNING, chain_problem, load_chain, load_pem, signature_valid

if TYPE_CHECKING:
    from .station import SimStation

log = logging.getLogger("hil_sim.firmware")

SUPPORTED_PROTOCOLS = ("FTP", "HTTP")  # the SupportedFileTransferProtocols key, in the station's preference
TRANSFER_TIMEOUT_S = 10.0
DEFAULT_RETRIES = 2  # when the request leaves it to the station
DEFAULT_RETRY_INTERVAL_S = 5
INSTALL_POLL_S = 0.5  # how often a downloaded image waiting for the end of a transaction looks again
# after these the station is no longer busy with an update: a triggered FirmwareStatusNotification says Idle
FIRMWARE_DONE = ("DownloadFailed", "Installed", "InstallationFailed", "InvalidSignature")


class TransferFailed(Exception):
    def __init__(self, reason: str, kind: str = "failed") -> None:
        super().__init__(reason)
        self.kind = kind  # failed, denied (the server refused us) or unsupported (protocol / URL)


# ------------------------------------------------------------------------- transfer clients (worker thread)
def _opener() -> urllib.request.OpenerDirector:
    # a charger does not use the proxies of the machine the bench runs on
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _split(url: str) -> tuple[str, Any]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme.upper() not in SUPPORTED_PROTOCOLS or not parts.hostname:
        raise TransferFailed(f"unsupported location {url!r} (supported: {', '.join(SUPPORTED_PROTOCOLS)})",
                             "unsupported")
    return scheme, parts


def _ftp(parts: Any) -> ftplib.FTP:
    ftp = ftplib.FTP(timeout=TRANSFER_TIMEOUT_S)
    ftp.connect(parts.hostname, parts.port or 21)
    ftp.login(unquote(parts.username or "anonymous"), unquote(parts.password or "anonymous@"))
    return ftp


def _ftp_failure(exc: BaseException) -> TransferFailed:
    code = str(exc)[:3]
    return TransferFailed(f"FTP: {exc or type(exc).__name__}", "denied" if code in ("530", "532") else "failed")


def fetch(url: str) -> bytes:
    """Download `url` whole; TransferFailed when it is not there, refused, or cut off."""
    scheme, parts = _split(url)
    if scheme == "http":
        try:
            with _opener().open(url, timeout=TRANSFER_TIMEOUT_S) as response:
                return bytes(response.read())  # raises IncompleteRead when the body is cut short
        except urllib.error.HTTPError as exc:
            raise TransferFailed(f"HTTP {exc.code}", "denied" if exc.code in (401, 403) else "failed") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise TransferFailed(f"HTTP: {exc!r}") from exc
    try:
        ftp = _ftp(parts)
        try:
            data = bytearray()
            ftp.retrbinary(f"RETR {unquote(parts.path)}", data.extend)
            return bytes(data)
        finally:
            ftp.close()
    except (ftplib.Error, OSError, EOFError) as exc:
        raise _ftp_failure(exc) from exc


def upload(location: str, name: str, data: bytes) -> None:
    """Upload `data` as `name` into the directory `location` names."""
    scheme, parts = _split(location)
    path = unquote(parts.path).rstrip("/") + "/" + name
    if scheme == "http":
        target = f"{parts.scheme}://{parts.netloc}{path}"
        request = urllib.request.Request(target, data=data, method="PUT",
                                         headers={"Content-Type": "application/octet-stream"})
        try:
            with _opener().open(request, timeout=TRANSFER_TIMEOUT_S) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            raise TransferFailed(f"HTTP {exc.code}", "denied" if exc.code in (401, 403) else "failed") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise TransferFailed(f"HTTP: {exc!r}") from exc
        return
    try:
        ftp = _ftp(parts)
        try:
            ftp.storbinary(f"STOR {path}", io.BytesIO(data))
            ftp.quit()
        finally:
            ftp.close()
    except (ftplib.Error, OSError, EOFError) as exc:
        raise _ftp_failure(exc) from exc


# ------------------------------------------------------------------------- the station's transfer tasks
def _when(stamp: str | None) -> datetime | None:
    if not stamp:
        return None
    try:
        at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def _seconds_until(at: datetime | None) -> float:
    return 0.0 if at is None else max(0.0, (at - datetime.now(timezone.utc)).total_seconds())


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


@dataclass
class Signed:
    """What a SignedUpdateFirmware adds to an update: the signature to check and the request it reports for."""

    request_id: int
    certificate: str
    signature: str
    install_at: datetime | None = None


@dataclass
class InstalledImage:
    """Left in flash by the installer for the firmware it reboots into."""

    version: str
    signed: Signed | None


class Transfers:
    """The transfer tasks (one firmware update, one diagnostics upload, one log upload at a time)."""

    def __init__(self, station: "SimStation") -> None:
        self.station = station
        self.installed: InstalledImage | None = None  # flash: reported by the firmware booted from it
        self._update: asyncio.Task[None] | None = None
        self._diagnostics: asyncio.Task[None] | None = None
        self._log: asyncio.Task[None] | None = None

    @property
    def faults(self) -> Any:
        return self.station.faults

    def manufacturer_roots(self) -> list[str]:
        """The roots a firmware signing certificate may chain to: the ManufacturerRootCertificates in the station's
        certificate store (installed at production, or later with InstallCertificate)."""
        store = getattr(self.station, "certificates", None)
        if store is not None:
            return list(store.of_type("ManufacturerRootCertificate"))
        root = self.station.settings.manufacturer_root  # a build without the certificate store
        return [Path(root).read_text()] if root else []

    def signing_certificate_problem(self, certificate: str) -> str | None:
        """Why the firmware signing certificate (and any CA certificates after it) is not trusted, else None."""
        try:
            chain = load_chain(certificate)
            roots = [load_pem(root) for root in self.manufacturer_roots()]
        except ValueError:
            return "not a PEM certificate"
        if not roots:
            return "no ManufacturerRootCertificate is installed"
        return chain_problem(chain, roots, CODE_SIGNING)

    def supported(self) -> None:
        if not self.station.settings.supports("FirmwareManagement"):
            raise NotImplementedCallError(description="the FirmwareManagement profile is not supported")

    def _spawn(self, old: asyncio.Task[None] | None, job: Any) -> asyncio.Task[None]:
        if old is not None and not old.done():
            old.cancel()
        return self.station.spawn_after_answer(job)  # a status never overtakes the .conf of its request

    def _alive(self, rt: Any) -> bool:
        """A task belongs to the boot that started it: a reboot or a power loss ends it, as RAM is lost."""
        return rt is not None and self.station.rt is rt

    # --------------------------------------------------------------- firmware
    def update_firmware(self, location: str, retrieve_date: str, retries: int | None,
                        retry_interval: int | None) -> None:
        self.supported()
        self._update = self._spawn(self._update, self._update_job(location, _when(retrieve_date), retries,
                                                                  retry_interval, None))

    def signed_update(self, request_id: int, firmware: dict[str, Any], retries: int | None,
                      retry_interval: int | None) -> str:
        self.supported()
        certificate = firmware.get("signing_certificate", "")
        problem = self.signing_certificate_problem(certificate)
        if problem is not None:
            self.station.spawn(self.station.security_event(
                "InvalidFirmwareSigningCertificate", f"the signing certificate: {problem}"))
            return "InvalidCertificate"
        busy = self._update is not None and not self._update.done()
        signed = Signed(request_id, certificate, firmware.get("signature", ""),
                        _when(firmware.get("install_date_time")))
        self._update = self._spawn(self._update, self._update_job(
            firmware["location"], _when(firmware.get("retrieve_date_time")), retries, retry_interval, signed))
        return "AcceptedCanceled" if busy else "Accepted"

    async def _firmware_status(self, status: str, signed: Signed | None) -> None:
        self.station.firmware_status = "Idle" if status in FIRMWARE_DONE else status
        if signed is None:
            await self.station.call(call.FirmwareStatusNotification(status=status))
        else:
            await self.station.call(call.SignedFirmwareStatusNotification(status=status, request_id=signed.request_id))

    async def _update_job(self, location: str, retrieve_at: datetime | None, retries: int | None,
                          retry_interval: int | None, signed: Signed | None) -> None:
        rt = self.station.rt
        if signed is not None and _seconds_until(retrieve_at) > 0:
            await self._firmware_status("DownloadScheduled", signed)
        await asyncio.sleep(_seconds_until(retrieve_at))
        if not self._alive(rt):
            return
        await self._firmware_status("Downloading", signed)
        image = await self._attempts(lambda: fetch(location), retries, retry_interval)
        if not self._alive(rt):
            return
        if isinstance(image, TransferFailed):
            log.info("firmware download from %s failed: %s", location, image)
            if not self.faults.active("download_errors_ignored"):
                await self._firmware_status("DownloadFailed", signed)
                return
            image = b""  # the bug: the failure is not noticed, an empty image goes on to the installer
        await self._firmware_status("Downloaded", signed)
        if signed is not None and not self.faults.active("firmware_signature_not_checked"):
            if not signature_valid(load_chain(signed.certificate)[0], image, signed.signature):
                await self._firmware_status("InvalidSignature", signed)
                await self.station.security_event("InvalidFirmwareSignature", f"image from {location}")
                return
            await self._firmware_status("SignatureVerified", signed)
        await self._install(rt, image, signed)

    async def _attempts(self, transfer: Any, retries: int | None, retry_interval: int | None) -> Any:
        """Run `transfer` in the worker thread, 1 + retries times; its result, or the last TransferFailed."""
        retries = DEFAULT_RETRIES if retries is None else max(0, retries)
        interval = DEFAULT_RETRY_INTERVAL_S if retry_interval is None else max(0, retry_interval)
        failure: TransferFailed | None = None
        for attempt in range(retries + 1):
            if attempt:
                await asyncio.sleep(interval)
            try:
                return await asyncio.to_thread(transfer)
            except TransferFailed as exc:
                failure = exc
                if exc.kind == "unsupported":
                    break  # trying again cannot help
        return failure

    async def _install(self, rt: Any, image: bytes, signed: Signed | None) -> None:
        # OCPP 1.6 (5.16): a station that cannot install while charging waits until its transactions have ended
        while self._alive(rt) and self._charging():
            await asyncio.sleep(INSTALL_POLL_S)
        if signed is not None and _seconds_until(signed.install_at) > 0:
            await self._firmware_status("InstallScheduled", signed)
            await asyncio.sleep(_seconds_until(signed.install_at))
        if not self._alive(rt):
            return
        await self._firmware_status("Installing", signed)
        settings = self.station.settings
        try:
            version = check_image(image, settings.vendor, settings.model)
        except ImageRejected as exc:
            if not self.faults.active("installs_unverified_image"):
                log.info("firmware installation refused: %s", exc)
                await self._firmware_status("InstallationFailed", signed)
                return
            version = self.station.firmware_version  # the bug: written anyway; the old version string stays
        # written to flash; the station reboots into it and the new firmware reports the result
        self.installed = InstalledImage(version, signed)
        self.station.firmware_version = version
        if signed is not None:
            await self._firmware_status("InstallRebooting", signed)
        self.station.firmware_status = "Installing"
        self.station.spawn(self.station.reboot())

    def _charging(self) -> bool:
        rt = self.station.rt
        return rt is not None and any(c.transaction is not None for c in rt.connectors)

    def booted(self) -> None:
        """Called once the station is registered (after every boot or reconnect): the firmware booted from a
        new image reports how the installation went."""
        installed, self.installed = self.installed, None
        if installed is not None and self.faults.active("install_result_lost_on_reboot"):
            self.station.firmware_status = "Idle"
            return  # the bug: the result was only kept in RAM, so the reboot forgot it
        if installed is not None:
            self.station.spawn(self._report_installed(installed))

    async def _report_installed(self, installed: InstalledImage) -> None:
        if installed.signed is not None:
            await self.station.security_event("FirmwareUpdated", f"firmware {installed.version} installed")
        await self._firmware_status("Installed", installed.signed)

    # --------------------------------------------------------------- diagnostics and logs
    def _diagnostics_text(self) -> bytes:
        s = self.station
        lines = [f"charge point {s.charge_point_id}: {s.settings.vendor} {s.settings.model} firmware "
                 f"{s.firmware_version}, boots {s.boots}",
                 *(f"config {k.name}={k.value}" for k in s.keys.values()),
                 *(f"security {line}" for line in s.security_log)]
        return ("\n".join(lines) + "\n").encode()

    def get_diagnostics(self, location: str, retries: int | None, retry_interval: int | None) -> str:
        self.supported()
        name = f"diagnostics-{self.station.charge_point_id}-{_stamp()}.log"
        self._diagnostics = self._spawn(self._diagnostics, self._upload_job(
            location, name, self._diagnostics_text(), retries, retry_interval, None))
        return name

    def get_log(self, log: dict[str, Any], log_type: str, request_id: int, retries: int | None,
                retry_interval: int | None) -> tuple[str, str | None]:
        if log_type == "SecurityLog" and self.faults.active("security_log_not_supported"):
            return "Rejected", None  # the bug: only the diagnostics log was ever implemented
        busy = self._log is not None and not self._log.done()
        kind = "securitylog" if log_type == "SecurityLog" else "diagnostics"
        name = f"{kind}-{self.station.charge_point_id}-{_stamp()}.log"
        data = self._diagnostics_text() if log_type != "SecurityLog" else self._security_log(log)
        self._log = self._spawn(self._log, self._upload_job(log["remote_location"], name, data, retries,
                                                            retry_interval, request_id))
        return ("AcceptedCanceled" if busy else "Accepted"), name

    def _security_log(self, log: dict[str, Any]) -> bytes:
        """The security log, limited to log.oldestTimestamp .. log.latestTimestamp when the request gives them."""
        oldest, latest = _when(log.get("oldest_timestamp")), _when(log.get("latest_timestamp"))
        lines = []
        for line in self.station.security_log:
            at = _when(line.split(" ", 1)[0])  # each line starts with the event's timestamp
            if at is None or ((oldest is None or at >= oldest) and (latest is None or at <= latest)):
                lines.append(line)
        return ("\n".join(lines) + "\n").encode()

    async def _upload_status(self, status: str, request_id: int | None) -> None:
        if request_id is None:
            self.station.diagnostics_status = "Uploading" if status == "Uploading" else "Idle"
            await self.station.call(call.DiagnosticsStatusNotification(status=status))
        else:
            await self.station.call(call.LogStatusNotification(status=status, request_id=request_id))

    async def _upload_job(self, location: str, name: str, data: bytes, retries: int | None,
                          retry_interval: int | None, request_id: int | None) -> None:
        """A diagnostics upload (request_id None: DiagnosticsStatusNotification) or a GetLog upload."""
        rt = self.station.rt
        await self._upload_status("Uploading", request_id)
        if self.faults.active("upload_not_performed"):
            result: Any = None  # the bug: the transfer step is a no-op, success is reported regardless
        else:
            result = await self._attempts(lambda: upload(location, name, data), retries, retry_interval)
        if not self._alive(rt):
            return
        if isinstance(result, TransferFailed) and not self.faults.active("upload_errors_ignored"):
            log.info("upload of %s to %s failed: %s", name, location, result)
            if request_id is None:
                await self._upload_status("UploadFailed", None)
            else:
                status = {"denied": "PermissionDenied", "unsupported": "BadMessage"}.get(result.kind, "UploadFailure")
                await self._upload_status(status, request_id)
            return
        await self._upload_status("Uploaded", request_id)


class FirmwareHandlers:
    """The requests of this module, routed by the `ocpp` library (a base of SimChargePoint)."""

    station: "SimStation"

    @on("UpdateFirmware")
    def on_update_firmware(self, location: str, retrieve_date: str, retries: int | None = None,
                           retry_interval: int | None = None, **_: Any) -> call_result.UpdateFirmware:
        self.station.transfers.update_firmware(location, retrieve_date, retries, retry_interval)
        return call_result.UpdateFirmware()

    @on("SignedUpdateFirmware")
    def on_signed_update_firmware(self, request_id: int, firmware: dict[str, Any], retries: int | None = None,
                                  retry_interval: int | None = None, **_: Any) -> call_result.SignedUpdateFirmware:
        status = self.station.transfers.signed_update(request_id, firmware, retries, retry_interval)
        return call_result.SignedUpdateFirmware(status=status)

    @on("GetDiagnostics")
    def on_get_diagnostics(self, location: str, retries: int | None = None, retry_interval: int | None = None,
                           **_: Any) -> call_result.GetDiagnostics:
        return call_result.GetDiagnostics(
            file_name=self.station.transfers.get_diagnostics(location, retries, retry_interval))

    @on("GetLog")
    def on_get_log(self, log: dict[str, Any], log_type: str, request_id: int, retries: int | None = None,
                   retry_interval: int | None = None, **_: Any) -> call_result.GetLog:
        status, name = self.station.transfers.get_log(log, log_type, request_id, retries, retry_interval)
        return call_result.GetLog(status=status, filename=name)
