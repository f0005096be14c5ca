"""The file server as a run uses it: started for the first case that moves files, with the firmware images
published and the values the scenarios refer to.

Values (all URLs in the protocol the station speaks, see choose_protocol):
  firmware_url                 a valid firmware image for the station
  firmware_url_corrupt         an image the station must refuse to install (the document's "NOT supported file")
  firmware_url_missing         an image that is not there (not found)
  firmware_url_<mode>          the valid image, with a failure mode: refused, closed, interrupted (area.py)
  diagnostics_url, log_url     upload locations (directories) for GetDiagnostics and GetLog
  diagnostics_url_<mode>, log_url_<mode>   the same with a failure mode, or missing (no such directory)
  firmware_signature           the signature of the valid image by the run's firmware signer (SignedUpdateFirmware)
  firmware_signature_invalid   a well-formed signature by the same signer over other data
  firmware_signing_certificate            the signer's certificate (chains to the manufacturer root)
  firmware_signing_certificate_untrusted  a code-signing certificate of a root the station does not know
  firmware_version_new         the version in the valid image ("" when unknown: a vendor's image)
  firmware_name                the valid image's file name (as a served record names it)
  diagnostics_path, log_path   the path of the upload locations on the server (as a received record's path starts)
  file_transfer_protocol       the protocol chosen (http or ftp)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from benchctl.security.pki import LabPki, issue, make_ca, sign_firmware

from .area import BEHAVIOURS, UPLOAD_AREAS
from .records import TransferLog
from .server import PROTOCOLS, FileServer

NOT_FIRMWARE = b"This file is not a firmware image for any charging station.\n" * 64


class FileSetupError(Exception):
    """The run cannot offer what a file case needs (no common protocol, no firmware image)."""


@dataclass(frozen=True)
class FirmwareImages:
    valid: bytes
    unsupported: bytes  # downloads fine, must fail the station's installation check
    version: str | None = None  # the version inside `valid`, when known


def choose_protocol(pics_protocols: Sequence[str], station_key: str | None) -> str:
    """The first protocol, in the order the PICS lists them (else the station's key), that the station reports in
    SupportedFileTransferProtocols (when it has the key) and this file server speaks."""
    reported = [p.strip().lower() for p in station_key.split(",") if p.strip()] if station_key else None
    order = [p.lower() for p in pics_protocols] or reported or []
    for protocol in order:
        if protocol in PROTOCOLS and (reported is None or protocol in reported):
            return protocol
    raise FileSetupError(f"no file transfer protocol in common: the PICS declares {list(pics_protocols) or 'none'}, "
                         f"the station reports SupportedFileTransferProtocols={station_key!r}, the bench's file "
                         f"server speaks {', '.join(PROTOCOLS)}")


def file_values(server: FileServer, protocol: str, images: FirmwareImages, pki: LabPki,
                image_name: str = "firmware.fwi") -> dict[str, Any]:
    stem = image_name.rsplit(".", 1)[0]
    valid, corrupt = f"firmware/{image_name}", f"firmware/{stem}-unsupported.fwi"
    server.area.publish(valid, images.valid)
    server.area.publish(corrupt, images.unsupported)
    values: dict[str, Any] = {
        "file_transfer_protocol": protocol,
        "firmware_url": server.url(protocol, valid),
        "firmware_url_corrupt": server.url(protocol, corrupt),
        "firmware_url_missing": server.url(protocol, "firmware/download_fail.fwi"),
        **{f"firmware_url_{mode}": server.url(protocol, valid, mode) for mode in BEHAVIOURS},
        "firmware_signature": sign_firmware(pki.firmware_signer, images.valid),
        "firmware_signature_invalid": sign_firmware(pki.firmware_signer, b"not this image: " + images.valid),
        "firmware_signing_certificate": pki.firmware_signer.cert_pem,
        "firmware_signing_certificate_untrusted": issue(make_ca("unknown manufacturer root"), "unknown firmware "
                                                        "signer", usage="code").cert_pem,
        "firmware_version_new": images.version or "",
        "firmware_name": image_name,
    }
    for area in UPLOAD_AREAS:
        values[f"{area}_url"] = server.url(protocol, f"upload/{area}/")
        values[f"{area}_path"] = f"/upload/{area}/"
        values[f"{area}_url_missing"] = server.url(protocol, f"upload/{area}/missing/")
        values.update({f"{area}_url_{mode}": server.url(protocol, f"upload/{area}/", mode) for mode in BEHAVIOURS})
    return values


class RunFiles:
    """A started file server and the values the cases see; `log` holds every transfer."""

    def __init__(self, server: FileServer, values: dict[str, Any]) -> None:
        self.server = server
        self.values = values

    @property
    def log(self) -> TransferLog:
        return self.server.log

    @classmethod
    async def start(cls, root: Path, host: str, protocol: str, images: FirmwareImages, pki: LabPki,
                    image_name: str = "firmware.fwi") -> "RunFiles":
        server = FileServer(root, host)
        await server.start()
        try:
            return cls(server, file_values(server, protocol, images, pki, image_name))
        except BaseException:
            await server.stop()
            raise

    async def stop(self) -> None:
        await self.server.stop()
