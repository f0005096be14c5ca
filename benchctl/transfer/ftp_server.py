"""FTP side of the file server (pyftpdlib, anonymous login, its own IO loop in a thread): RETR serves a file,
STOR receives an upload. The failure modes of area.py are carried out on the wire:

  refused      RETR/STOR answered 550 (permission denied)
  closed       the control connection is dropped when RETR/STOR comes, without a reply
  interrupted  the data connection is cut halfway with a 426 reply (a download gets half the file; an upload
               is dropped after half of its first block, FTP announcing no size)
  not found    the usual 550 for a file or directory that is not there
"""

from __future__ import annotations

import errno
import logging
import sys
import threading
import warnings
from typing import Any

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.filesystems import AbstractedFS
from pyftpdlib.handlers import DTPHandler, FTPHandler
from pyftpdlib.ioloop import IOLoop
from pyftpdlib.servers import FTPServer

from .area import FileArea, Resolved
from .records import RECEIVED, SERVED

log = logging.getLogger("benchctl.transfer.ftp")
if not logging.getLogger("pyftpdlib").handlers:
    # otherwise pyftpdlib's first loop configures logging to stderr by itself
    logging.getLogger("pyftpdlib").addHandler(logging.NullHandler())


class _CutFile:
    """A file that gives (or takes) only `limit` bytes, then fails as a broken connection would."""

    def __init__(self, file: Any, limit: int | None) -> None:
        self.file = file
        self.limit = limit  # None for an upload: half of the first block written
        self.moved = 0
        self.name = file.name

    @property
    def closed(self) -> bool:
        return bool(self.file.closed)

    def close(self) -> None:
        self.file.close()

    def _cut(self) -> OSError:
        return OSError(errno.ECONNABORTED, "transfer cut by the bench's file server")

    def read(self, size: int = -1) -> bytes:
        assert self.limit is not None
        if self.moved >= self.limit:
            raise self._cut()
        room = self.limit - self.moved
        data = self.file.read(room if size < 0 else min(size, room))
        self.moved += len(data)
        return data

    def write(self, data: bytes) -> int:
        if self.limit is None:
            self.limit = len(data) // 2
        keep = data[:max(0, self.limit - self.moved)]
        self.file.write(keep)
        self.moved += len(keep)
        if len(keep) < len(data):
            raise self._cut()
        return len(data)


class _FS(AbstractedFS):
    def open(self, filename: str, mode: str) -> Any:
        file = super().open(filename, mode)
        channel = self.cmd_channel
        if channel is not None and getattr(channel, "cut_next", False):
            channel.cut_next = False
            limit = None if "w" in mode or "a" in mode else max(0, self.getsize(filename) // 2)
            return _CutFile(file, limit)
        return file


# how a broken data connection shows in recv (pyftpdlib's own set is private; the meaning is the socket API's)
_DISCONNECTED = {errno.ECONNRESET, errno.ECONNABORTED, errno.ENOTCONN, errno.ESHUTDOWN, errno.EPIPE, errno.EBADF,
                 errno.ETIMEDOUT}


class _ResetByPeer(OSError):
    """Raised from recv so that DTPHandler.handle_read takes its error path (handle_error), not its end path."""


class _DTP(DTPHandler):
    """In stream mode only an orderly close of the data connection ends an uploaded file. pyftpdlib takes a reset
    for that end too, so a client that died halfway would leave a "complete" upload: here it is an aborted one."""

    def recv(self, buffer_size: int) -> bytes:
        if not self.receive:
            return bytes(super().recv(buffer_size))
        try:
            data = self.socket.recv(buffer_size)
        except BlockingIOError:
            # nothing to read after all: pyftpdlib's recv reads again and, still nothing, signals "try later"
            # the way its handle_read expects
            return bytes(super().recv(buffer_size))
        except OSError as err:
            if err.errno not in _DISCONNECTED:
                raise
            raise _ResetByPeer(err.errno, err.strerror) from err
        if not data:
            self.handle_close()  # the orderly end of the upload
        return bytes(data)

    def handle_error(self) -> None:
        if not isinstance(sys.exc_info()[1], _ResetByPeer):
            super().handle_error()
            return
        self.close()  # transfer_finished is still False: on_incomplete_file_received follows
        self.cmd_channel.respond("426 Connection reset by peer; transfer aborted.", logfun=log.debug)


class _Handler(FTPHandler):
    area: FileArea  # set on the subclass made per server
    cut_next = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.transfer: tuple[str, str, Resolved] | None = None  # (direction, requested path, target)
        self.transmitted = 0

    def pre_process_command(self, line: str, cmd: str, arg: str) -> None:
        if cmd in ("RETR", "STOR") and self.authenticated and arg:
            direction = SERVED if cmd == "RETR" else RECEIVED
            requested = self.fs.ftpnorm(arg)
            target = self.area.resolve(requested)
            self.transfer = (direction, requested, target)
            if target.mode == "closed":
                self.area.record(direction, "ftp", requested, b"", False, target.mode, "connection closed")
                self.close()
                return
            if target.mode == "refused":
                self.area.record(direction, "ftp", requested, b"", False, target.mode, "refused (550)")
                self.respond("550 Permission denied.")
                return
            if target.mode is not None:
                # the rest of the path names the real file; the cut happens when it is opened
                arg = "/" + "/".join(requested.strip("/").split("/")[1:])
                self.cut_next = target.mode == "interrupted"
        super().pre_process_command(line, cmd, arg)

    def ftp_RETR(self, file: str) -> Any:
        result = super().ftp_RETR(file)
        if result is None:
            self._failed("not found (550)")
        return result

    def ftp_STOR(self, file: str, mode: str = "w") -> Any:
        result = super().ftp_STOR(file, mode)
        if result is None:
            self._failed("no such location (550)")
        return result

    def _failed(self, error: str) -> None:
        self.cut_next = False
        if self.transfer is not None:
            direction, requested, target = self.transfer
            self.area.record(direction, "ftp", requested, b"", False, target.mode, error)
            self.transfer = None

    def log_transfer(self, cmd: str, filename: str, receive: bool, completed: bool, elapsed: float,
                     bytes: int) -> None:
        self.transmitted = bytes  # called right before on_(incomplete_)file_*: how much really went over
        super().log_transfer(cmd, filename, receive, completed, elapsed, bytes)

    def _done(self, file: str, complete: bool) -> None:
        if self.transfer is None:
            return
        direction, requested, target = self.transfer
        self.transfer = None
        try:
            with open(file, "rb") as f:
                data = f.read() if direction == RECEIVED else f.read(self.transmitted)
        except OSError:
            data = b""
        error = None
        if not complete:
            error = "cut after half the file" if target.mode == "interrupted" else "transfer aborted"
        self.area.record(direction, "ftp", requested, data, complete, target.mode, error)

    def on_file_sent(self, file: str) -> None:
        self._done(file, True)

    def on_file_received(self, file: str) -> None:
        self._done(file, True)

    def on_incomplete_file_sent(self, file: str) -> None:
        self._done(file, False)

    def on_incomplete_file_received(self, file: str) -> None:
        self._done(file, False)


class FtpFileServer:
    def __init__(self, area: FileArea, host: str, port: int = 0) -> None:
        authorizer = DummyAuthorizer()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # anonymous write access: wanted on a test bench
            authorizer.add_anonymous(str(area.root), perm="elrw")
        handler = type("Handler", (_Handler,), {"area": area, "authorizer": authorizer, "abstracted_fs": _FS,
                                                "dtp_handler": _DTP, "banner": "benchctl file server"})
        self.ioloop = IOLoop()  # its own: pyftpdlib's default loop is one per process
        self.server = FTPServer((host, port), handler, ioloop=self.ioloop)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.server.address[:2]
        return str(host), int(port)

    def _serve(self) -> None:
        try:
            while not self._stop.is_set():
                self.ioloop.loop(timeout=0.05, blocking=False)  # serve_forever would log each round
        finally:
            self.server.close_all()  # in this thread: the IO loop is not thread-safe

    def start(self) -> None:
        self._thread = threading.Thread(target=self._serve, name="benchctl-ftp-files", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
