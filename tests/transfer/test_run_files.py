"""What a run's cases get from the file server: the protocol choice, the published images and their signatures,
and the values the scenarios use (each URL really leading to what its name says)."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from benchctl.bench.config import BenchConfig
from benchctl.run.files import firmware_images
from benchctl.security.pki import LabPki, firmware_signature_valid, issued_by
from benchctl.transfer.run_files import NOT_FIRMWARE, FileSetupError, FirmwareImages, RunFiles, choose_protocol
from hil_sim.charger.firmware_image import ImageRejected, check_image


@pytest.mark.parametrize(("pics", "key", "chosen"), [
    (("ftp", "http"), "FTP,HTTP", "ftp"),
    (("http", "ftp"), "FTP,HTTP", "http"),  # the PICS order decides
    (("https", "ftp"), "HTTPS,FTP", "ftp"),  # the server has no TLS: the first one it speaks
    (("ftp", "http"), "HTTP", "http"),  # the station does not report FTP
    (("ftp",), None, "ftp"),  # no key read: the PICS alone
    ((), "HTTP,FTP", "http"),  # no PICS protocols: the station's order
])
def test_the_protocol_is_the_first_declared_one_both_sides_speak(pics: tuple[str, ...], key: str | None,
                                                                  chosen: str) -> None:
    assert choose_protocol(pics, key) == chosen


def test_no_common_protocol_says_what_each_side_has() -> None:
    with pytest.raises(FileSetupError, match="HTTPS"):
        choose_protocol(("https",), "HTTPS,FTPS")


def test_the_simulator_gets_the_next_version_and_a_corrupted_copy(sim_config: BenchConfig) -> None:
    from hil_sim.bench import SimBench

    assert sim_config.simulator is not None
    images = firmware_images(sim_config, SimBench(sim_config.simulator, "ws://127.0.0.1:1/ocpp", "CP"))
    assert images.version == "1.0.1" and check_image(images.valid, "benchctl", "hil_sim") == "1.0.1"
    with pytest.raises(ImageRejected, match="corrupted"):
        check_image(images.unsupported, "benchctl", "hil_sim")


def test_a_bench_names_the_vendors_images(sim_config: BenchConfig, tmp_path: Path) -> None:
    (tmp_path / "dummy.bin").write_bytes(b"vendor image")
    sim_config.file = str(tmp_path / "bench.yaml")
    sim_config.values["firmware_image"] = "dummy.bin"
    assert firmware_images(sim_config, None) == FirmwareImages(b"vendor image", NOT_FIRMWARE)
    sim_config.values["firmware_image"] = ""
    with pytest.raises(FileSetupError, match="firmware_image"):
        firmware_images(sim_config, None)


async def test_each_value_leads_where_its_name_says(tmp_path: Path) -> None:
    pki = LabPki.create(tmp_path / "pki")
    images = FirmwareImages(b"good image" * 100, b"not firmware", "9.9")
    files = await RunFiles.start(tmp_path / "files", "127.0.0.1", "http", images, pki, "cp-9.9.fwi")
    v = files.values
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def get(url: str) -> bytes | int:
        try:
            with opener.open(url, timeout=5) as response:
                return bytes(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code

    try:
        assert v["file_transfer_protocol"] == "http" and v["firmware_url"].startswith("http://127.0.0.1:")
        assert await asyncio.to_thread(get, v["firmware_url"]) == images.valid
        assert await asyncio.to_thread(get, v["firmware_url_corrupt"]) == images.unsupported
        assert await asyncio.to_thread(get, v["firmware_url_missing"]) == 404
        assert await asyncio.to_thread(get, v["firmware_url_refused"]) == 403
        assert v["diagnostics_url"].endswith("/upload/diagnostics/") and v["log_url"].endswith("/upload/log/")
        assert v["diagnostics_url_refused"].endswith("/refused/upload/diagnostics/")
        assert (v["firmware_name"], v["firmware_version_new"], v["log_path"]) == ("cp-9.9.fwi", "9.9", "/upload/log/")
        cert = v["firmware_signing_certificate"]
        assert firmware_signature_valid(cert, images.valid, v["firmware_signature"])
        assert not firmware_signature_valid(cert, images.valid, v["firmware_signature_invalid"])
        manufacturer_root = pki.manufacturer_root.cert_pem
        assert issued_by(cert, manufacturer_root)
        assert not issued_by(v["firmware_signing_certificate_untrusted"], manufacturer_root)
        # the server logs a request once its answer is out, so a quick 404 may be logged before the 200 the client
        # already has: which requests, not in which order
        assert sorted(r.name for r in files.log.since()) == sorted(["cp-9.9.fwi", "cp-9.9-unsupported.fwi",
                                                                    "download_fail.fwi", "cp-9.9.fwi"])
    finally:
        await files.stop()
