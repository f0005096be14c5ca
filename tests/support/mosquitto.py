"""Run a real mosquitto broker for a test: loopback only, a free port, a generated config, killed afterwards.

Not a test module. The MQTT tests import it (pytest puts `tests/` on sys.path for tests/conftest.py):

    with start_mosquitto(tmp_path) as broker:                          # anonymous
    with start_mosquitto(tmp_path, users={"bench": "s3cret"}) as broker:  # password file, no anonymous
    with start_mosquitto(tmp_path, tls=make_tls_files(tmp_path)) as b:  # plus a TLS listener on b.tls_port

The broker binary comes from the Debian package `mosquitto` (which puts it in /usr/sbin, often missing from a
normal user's PATH, so that is searched too). `./dev test` installs it when it is missing.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
INSTALL_HINT = (
    "the mosquitto MQTT broker is not installed; the MQTT tests start a real one. "
    "./dev test installs it (apt-get install mosquitto) when run as root; "
    "otherwise run: sudo apt-get install mosquitto"
)
_SEARCH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin", "/opt/homebrew/sbin"])


class MosquittoNotInstalled(RuntimeError):
    def __init__(self, program: str = "mosquitto") -> None:
        super().__init__(f"{program} not found. {INSTALL_HINT}")


def find_program(name: str) -> str:
    """Path of mosquitto or mosquitto_passwd; MosquittoNotInstalled when absent."""
    path = shutil.which(name, path=_SEARCH)
    if path is None:
        raise MosquittoNotInstalled(name)
    return path


def free_port(host: str = HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class TLSFiles:
    ca: Path  # the CA certificate a client trusts
    cert: Path  # the broker's certificate (CN and SAN 127.0.0.1), signed by the CA
    key: Path


def make_tls_files(directory: Path) -> TLSFiles:
    """A throwaway CA and a broker certificate for 127.0.0.1, made with the openssl command."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise FileNotFoundError("openssl not found (needed only to make test certificates)")
    directory.mkdir(parents=True, exist_ok=True)
    ca, ca_key = directory / "ca.crt", directory / "ca.key"
    cert, key, csr = directory / "broker.crt", directory / "broker.key", directory / "broker.csr"
    ext = directory / "broker.ext"
    ext.write_text("subjectAltName = IP:127.0.0.1\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*args: object) -> None:
        subprocess.run([openssl, *map(str, args)], check=True, capture_output=True, timeout=30)

    run("req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=benchctl test CA")
    run("req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
    run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert,
        "-days", "2", "-extfile", ext)
    return TLSFiles(ca, cert, key)


class Mosquitto:
    """A running broker. `port` is the plain listener, `tls_port` the TLS one (None without TLS)."""

    def __init__(self, process: subprocess.Popen[bytes], directory: Path, port: int, tls_port: int | None,
                 log_path: Path) -> None:
        self.process = process
        self.directory = directory
        self.host = HOST
        self.port = port
        self.tls_port = tls_port
        self.log_path = log_path

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """Terminate the broker (kill it if it lingers). Safe to call twice."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def __enter__(self) -> Mosquitto:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _write_password_file(path: Path, users: dict[str, str]) -> None:
    passwd = find_program("mosquitto_passwd")
    for i, (user, password) in enumerate(users.items()):
        create = ["-c"] if i == 0 else []
        subprocess.run([passwd, *create, "-b", str(path), user, password], check=True, capture_output=True,
                       timeout=30)
    path.chmod(0o600)


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.2):
            return True
    except OSError:
        return False


def start_mosquitto(
    directory: Path,
    *,
    users: dict[str, str] | None = None,
    tls: TLSFiles | None = None,
    port: int | None = None,
    persistent: bool = False,
    acl: str | None = None,
    ready_timeout_s: float = 5.0,
) -> Mosquitto:
    """Start mosquitto listening on 127.0.0.1 only and return once every listener accepts connections.

    `users` makes it refuse anonymous clients and check a password file; `tls` adds a TLS listener; `port`
    reuses a known port (to restart a broker a test stopped), otherwise a free one is picked; `persistent`
    keeps retained messages in `directory` across a restart (saved every second, so a killed broker loses
    at most the last second); `acl` is the text of an ACL file (mosquitto's acl_file format).
    """
    binary = find_program("mosquitto")
    directory.mkdir(parents=True, exist_ok=True)
    attempts = 1 if port is not None else 3  # a picked free port can be taken before the broker binds it
    last_log = ""
    for _ in range(attempts):
        plain = port if port is not None else free_port()
        tls_port = free_port() if tls is not None else None
        # run as whoever we are: as root, mosquitto would otherwise switch to the `mosquitto` user,
        # which cannot read the files in a private temporary directory
        lines = [
            f"user {pwd.getpwuid(os.getuid()).pw_name}",
            *(["persistence true", f"persistence_location {directory}/", "autosave_interval 1"] if persistent
              else ["persistence false"]),
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
        ]
        if users:
            password_file = directory / "passwords"
            _write_password_file(password_file, users)
            lines += ["allow_anonymous false", f"password_file {password_file}"]
        else:
            lines += ["allow_anonymous true"]
        if acl is not None:
            acl_file = directory / "acl"
            acl_file.write_text(acl)
            lines += [f"acl_file {acl_file}"]
        lines += [f"listener {plain} {HOST}"]
        if tls is not None:
            lines += [f"listener {tls_port} {HOST}", f"cafile {tls.ca}", f"certfile {tls.cert}",
                      f"keyfile {tls.key}"]
        config = directory / "mosquitto.conf"
        config.write_text("\n".join(lines) + "\n")
        log_path = directory / "mosquitto.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen([binary, "-c", str(config)], stdin=subprocess.DEVNULL,
                                       stdout=log, stderr=subprocess.STDOUT)
        broker = Mosquitto(process, directory, plain, tls_port, log_path)
        ports = [plain] + ([tls_port] if tls_port is not None else [])
        deadline = time.monotonic() + ready_timeout_s
        while broker.running and time.monotonic() < deadline:
            if all(_accepts(p) for p in ports):
                return broker
            time.sleep(0.02)
        broker.stop()
        last_log = broker.log()
        if "Address already in use" not in last_log:
            break
    raise RuntimeError(f"mosquitto did not start (config {directory / 'mosquitto.conf'}):\n{last_log}")


def mosquitto_or_fail(directory: Path, **kwargs: Any) -> "Mosquitto":
    """start_mosquitto for a test: a missing broker fails the test with the install hint (never a skip: the
    suite promises a real broker)."""
    import pytest

    try:
        return start_mosquitto(directory, **kwargs)
    except MosquittoNotInstalled as exc:
        pytest.fail(str(exc), pytrace=False)
