"""The run's file server on the wire: real HTTP and FTP clients (urllib, ftplib, raw sockets) against it, every
failure mode carried out as the protocol would, and every transfer recorded - a cut one never as complete."""

from __future__ import annotations

import asyncio
import ftplib
import hashlib
import http.client
import io
import json
import socket
import struct
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import AsyncIterator, Callable

import pytest

from benchctl.transfer.records import TransferRecord
from benchctl.transfer.server import FileServer

IMAGE = bytes(range(256)) * 40  # 10 KB, more than one FTP block would need to be cut visibly
PROTOCOLS = ("http", "ftp")


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[FileServer]:
    files = FileServer(tmp_path / "files")
    await files.start()
    files.area.publish("firmware/image.fwi", IMAGE)
    try:
        yield files
    finally:
        await files.stop()


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _ftp(server: FileServer) -> ftplib.FTP:
    ftp = ftplib.FTP(timeout=5)
    ftp.connect("127.0.0.1", server.port("ftp"))
    ftp.login()
    return ftp


def download(server: FileServer, protocol: str, path: str, mode: str | None = None) -> bytes:
    if protocol == "http":
        with _opener().open(server.url("http", path, mode), timeout=5) as response:
            return bytes(response.read())
    ftp = _ftp(server)
    try:
        data = bytearray()
        ftp.retrbinary(f"RETR /{mode + '/' if mode else ''}{path}", data.extend)
        return bytes(data)
    finally:
        ftp.close()


def upload(server: FileServer, protocol: str, path: str, data: bytes, mode: str | None = None,
           method: str = "PUT") -> None:
    if protocol == "http":
        request = urllib.request.Request(server.url("http", path, mode), data=data, method=method)
        with _opener().open(request, timeout=5) as response:
            response.read()
        return
    ftp = _ftp(server)
    try:
        ftp.storbinary(f"STOR /{mode + '/' if mode else ''}{path}", io.BytesIO(data))
    finally:
        ftp.close()


async def records(server: FileServer, count: int = 1, timeout: float = 3.0) -> list[TransferRecord]:
    """The log once it has `count` records (a record is written when the server is done with the transfer)."""
    deadline = time.monotonic() + timeout
    while len(server.log) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    return server.log.since()


# --------------------------------------------------------------------------- the happy paths
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_download_is_served_whole_and_recorded(server: FileServer, protocol: str) -> None:
    data = await asyncio.to_thread(download, server, protocol, "firmware/image.fwi")
    assert data == IMAGE
    (record,) = await records(server)
    assert (record.direction, record.protocol, record.path, record.name) == ("served", protocol,
                                                                            "/firmware/image.fwi", "image.fwi")
    assert record.complete and record.size == len(IMAGE) and record.mode is None and record.error is None
    assert record.sha256 == hashlib.sha256(IMAGE).hexdigest()


@pytest.mark.parametrize(("protocol", "method"), [("http", "PUT"), ("http", "POST"), ("ftp", "STOR")])
async def test_an_upload_is_stored_in_the_run_directory_and_recorded(server: FileServer, tmp_path: Path,
                                                                     protocol: str, method: str) -> None:
    log = b"2024-04-01T10:00:00Z StartupOfTheDevice\n" * 100
    await asyncio.to_thread(upload, server, protocol, "upload/log/security.log", log, None, method)
    (record,) = await records(server)
    assert (record.direction, record.path, record.complete) == ("received", "/upload/log/security.log", True)
    assert record.size == len(log) and record.sha256 == hashlib.sha256(log).hexdigest()
    assert (tmp_path / "files" / "upload" / "log" / "security.log").read_bytes() == log
    lines = (tmp_path / "files" / "transfers.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [record.as_record()]


# --------------------------------------------------------------------------- downloads that fail
def _fails(call: Callable[[], object]) -> BaseException:
    with pytest.raises((urllib.error.URLError, http.client.HTTPException, ftplib.Error, OSError, EOFError)) as info:
        call()
    return info.value


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_missing_image_is_not_found(server: FileServer, protocol: str) -> None:
    error = await asyncio.to_thread(_fails, lambda: download(server, protocol, "firmware/download_fail.fwi"))
    assert (isinstance(error, urllib.error.HTTPError) and error.code == 404) or str(error).startswith("550")
    (record,) = await records(server)
    assert not record.complete and record.size == 0 and "not found" in (record.error or "")


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_refused_download_gets_403_or_550(server: FileServer, protocol: str) -> None:
    error = await asyncio.to_thread(_fails, lambda: download(server, protocol, "firmware/image.fwi", "refused"))
    assert (isinstance(error, urllib.error.HTTPError) and error.code == 403) or str(error).startswith("550")
    (record,) = await records(server)
    assert (record.mode, record.complete, record.size) == ("refused", False, 0)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_closed_connection_gives_no_answer_at_all(server: FileServer, protocol: str) -> None:
    error = await asyncio.to_thread(_fails, lambda: download(server, protocol, "firmware/image.fwi", "closed"))
    assert not isinstance(error, urllib.error.HTTPError)  # no status line came
    assert not isinstance(error, ftplib.Error)  # no reply code came
    (record,) = await records(server)
    assert (record.mode, record.complete, record.error) == ("closed", False, "connection closed")


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_an_interrupted_download_delivers_half_and_the_client_can_tell(server: FileServer,
                                                                            protocol: str) -> None:
    got = bytearray()

    def partial() -> None:
        if protocol == "http":
            with _opener().open(server.url("http", "firmware/image.fwi", "interrupted"), timeout=5) as response:
                assert response.headers["Content-Length"] == str(len(IMAGE))  # the whole size is announced
                try:
                    got.extend(response.read())
                except http.client.IncompleteRead as exc:
                    got.extend(exc.partial)
                    raise
        else:
            ftp = _ftp(server)
            try:
                ftp.retrbinary("RETR /interrupted/firmware/image.fwi", got.extend)
            finally:
                ftp.close()

    error = await asyncio.to_thread(_fails, partial)
    assert isinstance(error, http.client.IncompleteRead) or str(error).startswith("426")
    assert bytes(got) == IMAGE[:len(IMAGE) // 2]
    (record,) = await records(server)
    assert (record.mode, record.complete, record.size) == ("interrupted", False, len(IMAGE) // 2)
    assert record.sha256 == hashlib.sha256(IMAGE[:len(IMAGE) // 2]).hexdigest()


# --------------------------------------------------------------------------- uploads that fail
@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(("mode", "path"), [(None, "upload/diagnostics/missing/d.log"),
                                            ("refused", "upload/diagnostics/d.log"),
                                            ("closed", "upload/diagnostics/d.log")])
async def test_an_upload_that_is_turned_away_stores_nothing(server: FileServer, tmp_path: Path, protocol: str,
                                                            mode: str | None, path: str) -> None:
    await asyncio.to_thread(_fails, lambda: upload(server, protocol, path, b"diagnostics\n" * 50, mode))
    (record,) = await records(server)
    assert (record.direction, record.mode, record.complete, record.size) == ("received", mode, False, 0)
    assert list((tmp_path / "files" / "upload" / "diagnostics").iterdir()) == []


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_an_interrupted_upload_is_cut_and_recorded_incomplete(server: FileServer, tmp_path: Path,
                                                                   protocol: str) -> None:
    data = b"diagnostics line\n" * 200
    await asyncio.to_thread(_fails, lambda: upload(server, protocol, "upload/diagnostics/d.log", data, "interrupted"))
    (record,) = await records(server)
    assert (record.mode, record.complete) == ("interrupted", False)
    assert 0 < record.size < len(data)
    assert (tmp_path / "files" / "upload" / "diagnostics" / "d.log").read_bytes() == data[:record.size]


# --------------------------------------------------------------------------- a client that dies mid-upload
def _reset(sock: socket.socket) -> None:
    """Close with RST, as the kernel does for a process killed with unread data: no orderly end of the stream."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _die_mid_http_upload(server: FileServer, data: bytes) -> None:
    sock = socket.create_connection(("127.0.0.1", server.port("http")), timeout=5)
    sock.sendall(f"PUT /upload/diagnostics/d.log HTTP/1.1\r\nHost: x\r\nContent-Length: {len(data)}\r\n\r\n".encode())
    sock.sendall(data[:len(data) // 2])
    time.sleep(0.2)
    _reset(sock)


def _die_mid_ftp_upload(server: FileServer, data: bytes) -> None:
    control = socket.create_connection(("127.0.0.1", server.port("ftp")), timeout=5)
    reader = control.makefile("rb")

    def command(line: str) -> str:
        control.sendall(line.encode() + b"\r\n")
        return reader.readline().decode()

    assert reader.readline().startswith(b"220")
    assert command("USER anonymous").startswith("331")
    assert command("PASS x@").startswith("230")
    assert command("TYPE I").startswith("200")
    reply = command("PASV")
    numbers = [int(n) for n in reply[reply.index("(") + 1:reply.index(")")].split(",")]
    data_sock = socket.create_connection(("127.0.0.1", numbers[4] * 256 + numbers[5]), timeout=5)
    assert command("STOR /upload/diagnostics/d.log").startswith(("125", "150"))
    data_sock.sendall(data[:len(data) // 2])
    time.sleep(0.2)
    _reset(data_sock)
    _reset(control)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_client_that_dies_mid_upload_leaves_no_complete_record(server: FileServer, protocol: str) -> None:
    data = b"x" * 20000
    await asyncio.to_thread(_die_mid_http_upload if protocol == "http" else _die_mid_ftp_upload, server, data)
    (record,) = await records(server)
    assert (record.direction, record.complete) == ("received", False)
    assert record.size <= len(data) // 2 and record.error


# --------------------------------------------------------------------------- where it listens, what it serves
@pytest.mark.parametrize("host", ["0.0.0.0", "::", "localhost"])
def test_it_never_listens_on_every_interface_nor_on_a_name(tmp_path: Path, host: str) -> None:
    with pytest.raises(ValueError):
        FileServer(tmp_path / "files", host)


async def test_it_listens_on_loopback_by_default(server: FileServer) -> None:
    assert server.host == "127.0.0.1"
    assert server.url("ftp", "upload/log/", "refused") == f"ftp://127.0.0.1:{server.port('ftp')}/refused/upload/log/"
    for protocol in PROTOCOLS:
        with socket.create_connection(("127.0.0.1", server.port(protocol)), timeout=2):
            pass


async def test_a_path_cannot_leave_the_served_directory(server: FileServer, tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("not for the charger")
    sock = socket.create_connection(("127.0.0.1", server.port("http")), timeout=5)
    sock.sendall(b"GET /../secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    answer = b""
    while chunk := await asyncio.to_thread(sock.recv, 4096):
        answer += chunk
    sock.close()
    assert answer.startswith(b"HTTP/1.1 404") and b"not for the charger" not in answer
    with pytest.raises(ftplib.error_perm):
        await asyncio.to_thread(download, server, "ftp", "../secret.txt")
