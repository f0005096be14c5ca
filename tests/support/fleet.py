"""The fleet tests' helpers: copies of the sim bench under new names, `benchctl agent` processes on them (each its
own name, lock folder and runs folder), the other commands as processes, and a watcher that mirrors the broker in
the test for waiting on states.

Not a test module, and not in tests/fleet/conftest.py: a test module's `from conftest import ...` takes whichever
directory's conftest pytest imported last under that one name (tests/drivers' one when both folders are given),
while `support.fleet` is one module wherever the run starts.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from benchctl.fleet.broker import FleetConnection
from benchctl.fleet.ledger import Ledger

from support.bench_text import sim_bench_text
from support.mosquitto import Mosquitto, mosquitto_or_fail
from support.python_env import python_cache_env

AGENT_READY_S = 20.0


def bench_file(directory: Path, name: str, message_timeout_s: int | None = None) -> Path:
    """The sim bench renamed. Its Central System and simulated gear take free loopback ports (port 0), so two of
    them side by side do not collide; the check below keeps that true if sim.yaml ever pins a port.
    `message_timeout_s` shortens the wait for a message that does not come (a case that must FAIL)."""
    text = sim_bench_text()
    renamed = re.sub(r"(?m)^  name: sim$", f"  name: {name}", text)
    assert renamed != text, "sim.yaml's bench name line changed; update the fleet tests"
    if message_timeout_s is not None:
        renamed, found = re.subn(r"(?m)^  message_timeout_s: \d+", f"  message_timeout_s: {message_timeout_s}",
                                 renamed)
        assert found == 1, "sim.yaml's message_timeout_s line changed; update the fleet tests"
    csms_port = re.search(r"(?m)^  csms:\n(?:    .*\n)*?    port: (\d+)", renamed)
    assert csms_port is not None and csms_port.group(1) == "0", "sim.yaml pins the Central System's port"
    path = directory / f"{name}.yaml"
    path.write_text(renamed, encoding="utf-8")
    return path


@dataclass
class AgentProcess:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    runs: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def run_dirs(self) -> list[Path]:
        return sorted(p for p in self.runs.iterdir() if p.is_dir()) if self.runs.exists() else []

    def stop(self) -> int | None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        return self.process.returncode


class Fleet:
    """One test's fleet: a broker, agents started on demand, the commands, a watcher."""

    def __init__(self, broker: Mosquitto, tmp_path: Path, users: dict[str, str] | None = None) -> None:
        self.broker = broker
        self.tmp = tmp_path
        self.users = users or {}  # broker user -> password, for a broker that wants them
        self.url = self.url_for(None)
        self.agents: dict[str, AgentProcess] = {}  # the latest agent of each name
        self.started: list[AgentProcess] = []  # every agent, to be stopped at the end
        self.background: list[subprocess.Popen[str]] = []  # `submit --wait` processes

    def url_for(self, user: str | None) -> str:
        return f"mqtt://{user + '@' if user else ''}{self.broker.host}:{self.broker.port}"

    def env(self, lock_dir: Path | None = None, user: str | None = None) -> dict[str, str]:
        env = {**python_cache_env(), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "COLUMNS": "220",
               "BENCHCTL_LOCK_DIR": str(lock_dir or self.tmp / "locks"), "PYTHONUNBUFFERED": "1"}
        if user is not None:
            env["BENCHCTL_BROKER_PASSWORD"] = self.users[user]
        return env

    def start_agent(self, name: str, *extra: str, wait: bool = True, user: str | None = None,
                    message_timeout_s: int | None = None) -> AgentProcess:
        runs = self.tmp / f"runs-{name}"
        log = self.tmp / f"agent-{name}.log"
        bench = bench_file(self.tmp, name, message_timeout_s)
        args = [sys.executable, "-m", "benchctl.cli", "agent", "--bench", str(bench),
                "--broker", self.url_for(user), "--runs", str(runs), *extra]
        with open(log, "ab") as out:
            process = subprocess.Popen(args, cwd=self.tmp, env=self.env(self.tmp / f"locks-{name}", user),
                                       stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        agent = AgentProcess(name, process, log, runs)
        self.agents[name] = agent
        self.started.append(agent)
        if wait:
            deadline = time.monotonic() + AGENT_READY_S
            while "waiting for jobs" not in agent.output():
                assert process.poll() is None, f"agent {name} exited {process.returncode}:\n{agent.output()}"
                assert time.monotonic() < deadline, f"agent {name} not ready:\n{agent.output()}"
                time.sleep(0.05)
        return agent

    def benchctl(self, *args: str, timeout: float = 120, user: str | None = None
                 ) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "benchctl.cli", *args], cwd=self.tmp, env=self.env(user=user),
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)

    def submit(self, *args: str, timeout: float = 120, user: str | None = None) -> subprocess.CompletedProcess[str]:
        return self.benchctl("submit", "--broker", self.url_for(user), *args, timeout=timeout, user=user)

    def submit_in_background(self, *args: str) -> subprocess.Popen[str]:
        process = subprocess.Popen([sys.executable, "-m", "benchctl.cli", "submit", "--broker", self.url, *args],
                                   cwd=self.tmp, env=self.env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
        self.background.append(process)
        return process

    def fleet_json(self) -> dict[str, Any]:
        out = self.benchctl("fleet", "--broker", self.url, "--json", timeout=30)
        assert out.returncode == 0, out.stdout + out.stderr
        return json.loads(out.stdout)

    def logs(self) -> str:
        return "\n".join(f"--- agent {a.name} ---\n{a.output()}" for a in self.agents.values())

    def wait_for_autosave(self, timeout: float = 30.0) -> None:
        """Until the persistent broker has saved its state (every second, `autosave_interval 1`) at least a second
        after now, so that what was published before this call survives a crash; a busy machine may save late."""
        since = time.time() + 1.0
        db = self.broker.directory / "mosquitto.db"
        deadline = time.monotonic() + timeout
        while not (db.exists() and db.stat().st_mtime >= since):
            assert time.monotonic() < deadline, f"the broker did not save its state within {timeout:.0f} s"
            time.sleep(0.1)

    def restart_broker(self, crash: bool, down_s: float = 1.0) -> None:
        """Stop the broker (SIGTERM, or SIGKILL for a crash) and start it again on the same port and folder."""
        if crash:
            self.broker.process.kill()
            self.broker.process.wait(timeout=5)
        else:
            self.broker.stop()
        time.sleep(down_s)
        self.broker = mosquitto_or_fail(self.broker.directory, port=self.broker.port, persistent=True)

    def close(self) -> None:
        for process in self.background:
            if process.poll() is None:  # a test that failed before it ended: --wait would wait for ever
                process.kill()
                process.communicate(timeout=10)
        for agent in self.started:
            agent.stop()
        self.broker.stop()


class Watcher:
    """The test's own fleet client: waits until the mirrored broker state satisfies a condition."""

    def __init__(self, conn: FleetConnection) -> None:
        self.conn = conn

    @property
    def ledger(self) -> Ledger:
        return self.conn.ledger

    async def until(self, condition: Callable[[Ledger], Any], timeout: float, what: str,
                    logs: Callable[[], str] = lambda: "") -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = condition(self.ledger)
            if value:
                return value
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{logs()}")
            await self.conn.wait_change(self.conn.version, min(left, 0.5))
