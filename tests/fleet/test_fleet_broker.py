"""Broker authentication and TLS against a real mosquitto that wants a password and offers a TLS listener."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from support.fleet import bench_file
from support.mosquitto import Mosquitto, MosquittoNotInstalled, make_tls_files, start_mosquitto
from support.python_env import python_cache_env

USER, PASSWORD = "bench-a", "s3cret"


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[tuple[Mosquitto, Path]]:
    tls = make_tls_files(tmp_path / "pki")
    try:
        broker = start_mosquitto(tmp_path / "broker", users={USER: PASSWORD}, tls=tls)
    except MosquittoNotInstalled as exc:
        pytest.fail(str(exc), pytrace=False)
    with broker:
        yield broker, tls.ca


def benchctl(tmp_path: Path, *args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**python_cache_env(), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "COLUMNS": "200",
           "BENCHCTL_LOCK_DIR": str(tmp_path / "locks")}
    if password is not None:
        env["BENCHCTL_BROKER_PASSWORD"] = password
    return subprocess.run([sys.executable, "-m", "benchctl.cli", *args], cwd=tmp_path, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)


def test_password_and_tls(secured: tuple[Mosquitto, Path], tmp_path: Path) -> None:
    broker, ca = secured
    plain, tls = f"mqtt://{USER}@127.0.0.1:{broker.port}", f"mqtts://{USER}@127.0.0.1:{broker.tls_port}"

    ok = benchctl(tmp_path, "fleet", "--broker", tls, "--ca-file", str(ca), "--json", password=PASSWORD)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert benchctl(tmp_path, "fleet", "--broker", plain, password=PASSWORD).returncode == 0

    wrong = benchctl(tmp_path, "fleet", "--broker", plain, password="guess")
    assert wrong.returncode == 6 and "refused the connection" in wrong.stdout, wrong.stdout
    anonymous = benchctl(tmp_path, "fleet", "--broker", f"mqtt://127.0.0.1:{broker.port}")
    assert anonymous.returncode == 6, anonymous.stdout
    untrusted = benchctl(tmp_path, "fleet", "--broker", tls, password=PASSWORD)  # the system CAs do not know ours
    assert untrusted.returncode == 6 and "cannot connect" in untrusted.stdout, untrusted.stdout


def test_a_fleet_config_file_carries_the_settings(secured: tuple[Mosquitto, Path], tmp_path: Path) -> None:
    broker, ca = secured
    secret = tmp_path / "broker-password"
    secret.write_text(PASSWORD + "\n")
    secret.chmod(0o600)
    config = tmp_path / "fleet.yaml"
    config.write_text(f"broker:\n  url: mqtts://127.0.0.1:{broker.tls_port}\n  username: {USER}\n"
                      f"  password_file: {secret}\n  ca_file: {ca}\n  prefix: lab7/\n")
    queued = benchctl(tmp_path, "submit", "--fleet-config", str(config), "--cases", "003", "--require", "ccs2")
    assert queued.returncode == 0, queued.stdout + queued.stderr
    listing = benchctl(tmp_path, "fleet", "--fleet-config", str(config))
    assert listing.returncode == 0 and "queued; no online bench has ccs2" in listing.stdout, listing.stdout
    # under another prefix the queue is another queue
    other = benchctl(tmp_path, "fleet", "--fleet-config", str(config), "--prefix", "lab8")
    assert other.returncode == 0 and "no jobs" in other.stdout, other.stdout


def test_an_agent_with_a_wrong_password_stops_at_once(secured: tuple[Mosquitto, Path], tmp_path: Path) -> None:
    broker, _ = secured
    agent = benchctl(tmp_path, "agent", "--bench", str(bench_file(tmp_path, "sim-a")), "--broker",
                     f"mqtt://{USER}@127.0.0.1:{broker.port}", password="guess")
    assert agent.returncode == 6 and "refused the connection" in agent.stdout, agent.stdout
