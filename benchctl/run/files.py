"""The file server as a run starts it: the firmware images of the bench (or of the simulator), the protocol the
PICS and the station agree on, for the first case that moves files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from benchctl.bench.config import BenchConfig
from benchctl.config.pics import load_pics
from benchctl.csms.config_key import ConfigKey
from benchctl.security.pki import LabPki
from benchctl.transfer.run_files import NOT_FIRMWARE, FileSetupError, FirmwareImages, RunFiles, choose_protocol

if TYPE_CHECKING:
    from hil_sim.bench import SimBench


def firmware_images(config: BenchConfig, sim: "SimBench | None") -> FirmwareImages:
    """The bench's images (values firmware_image / unsupported_firmware_image), else the simulator's: the next
    version of its firmware, and that image corrupted."""
    values, base = config.values, Path(config.file).parent
    if values.get("firmware_image"):
        valid = (base / values["firmware_image"]).read_bytes()
        other = values.get("unsupported_firmware_image")
        return FirmwareImages(valid, (base / other).read_bytes() if other else NOT_FIRMWARE)
    if sim is not None:
        from hil_sim.charger.firmware_image import build_image, corrupted, next_version

        station = sim.settings.station
        version = next_version(station.firmware_version)
        image = build_image(station.vendor, station.model, version)
        return FirmwareImages(image, corrupted(image), version)
    raise FileSetupError("no firmware image for this bench: set values.firmware_image to the vendor's dummy "
                         "firmware (the test case document's prerequisite)")


async def start_run_files(run_dir: Path, config: BenchConfig, sim: "SimBench | None",
                          baseline: dict[str, ConfigKey] | None, pki: LabPki) -> RunFiles:
    """The file server for the first case that needs it; FileSetupError names what is missing."""
    key = (baseline or {}).get("SupportedFileTransferProtocols")
    pics = load_pics(config.pics).file_transfer_protocols if config.pics else ()
    protocol = choose_protocol(pics, key.value if key is not None else None)
    images = firmware_images(config, sim)
    name = f"{sim.settings.station.model}-{images.version}.fwi" if sim is not None and images.version else \
        "firmware.fwi"
    return await RunFiles.start(run_dir / "files", config.values["file_server_host"], protocol, images, pki, name)

