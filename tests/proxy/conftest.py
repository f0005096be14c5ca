"""Fixtures of the proxy tests: a recording upstream, a capture in the test's directory, the proxy between."""

from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator

import pytest

from benchctl.csms.capture import Capture
from benchctl.proxy import OcppProxy

from recording_upstream import RecordingUpstream


@pytest.fixture
async def upstream() -> AsyncIterator[RecordingUpstream]:
    server = RecordingUpstream()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def capture(tmp_path: Path) -> Capture:
    c = Capture(tmp_path / "capture.jsonl")
    yield c
    c.close()


@pytest.fixture
async def proxy(capture: Capture, upstream: RecordingUpstream) -> AsyncIterator[OcppProxy]:
    p = OcppProxy(capture, upstream.url, open_timeout=3)
    await p.start()
    yield p
    await p.stop()
