"""The simulated station's firmware image format, and the check its installer makes before installing one.

An image is a header line, a JSON manifest and the body:

    HILSIM-FIRMWARE/1\\n
    {"vendor": ..., "model": ..., "firmwareVersion": ..., "sha256": <of the body>}\\n
    <body>

The installer refuses an image that is not in this format, is for another vendor or model, or whose body does
not match its digest (a corrupted download). The version a BootNotification reports after an update is the one
in the manifest.
"""

from __future__ import annotations

import hashlib
import json

MAGIC = b"HILSIM-FIRMWARE/1\n"


class ImageRejected(ValueError):
    """Why the installer refused an image."""


def build_image(vendor: str, model: str, version: str, body: bytes | None = None) -> bytes:
    body = body if body is not None else _filler(version)
    manifest = {"vendor": vendor, "model": model, "firmwareVersion": version,
                "sha256": hashlib.sha256(body).hexdigest()}
    return MAGIC + json.dumps(manifest, sort_keys=True).encode() + b"\n" + body


def corrupted(image: bytes) -> bytes:
    """The same image with its body damaged, as a bad download or a bad build leaves it."""
    head, _, body = image[len(MAGIC):].partition(b"\n")
    damaged = bytes(b ^ 0x5A for b in body[:64]) + body[64:]
    return MAGIC + head + b"\n" + damaged


def check_image(image: bytes, vendor: str, model: str) -> str:
    """The firmware version in a valid image for this station; ImageRejected otherwise."""
    if not image.startswith(MAGIC):
        raise ImageRejected("not a firmware image for this station (no image header)")
    head, newline, body = image[len(MAGIC):].partition(b"\n")
    try:
        manifest = json.loads(head)
    except ValueError as exc:
        raise ImageRejected(f"unreadable manifest: {exc}") from exc
    if not newline or not isinstance(manifest, dict):
        raise ImageRejected("unreadable manifest")
    if (manifest.get("vendor"), manifest.get("model")) != (vendor, model):
        raise ImageRejected(f"image for {manifest.get('vendor')} {manifest.get('model')}, not {vendor} {model}")
    if hashlib.sha256(body).hexdigest() != manifest.get("sha256"):
        raise ImageRejected("image body does not match its digest (corrupted)")
    version = manifest.get("firmwareVersion")
    if not isinstance(version, str) or not version or len(version) > 50:
        raise ImageRejected("no usable firmwareVersion in the manifest")
    return version


def next_version(version: str) -> str:
    """1.0.0 -> 1.0.1 (a version with no number at its end gets ".1")."""
    head, _, last = version.rpartition(".")
    if last.isdigit():
        return f"{head}.{int(last) + 1}" if head else str(int(last) + 1)
    return f"{version}.1"


def _filler(version: str) -> bytes:
    """A few kilobytes of body, different per version, so two images never look alike."""
    seed = hashlib.sha256(version.encode()).digest()
    return b"".join(hashlib.sha256(seed + bytes([i])).digest() for i in range(128))
