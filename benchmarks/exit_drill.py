"""Exit drill: stop `benchctl run` mid-case with SIGHUP (its terminal closed), SIGINT, SIGTERM and kill -9, and read
what the gear really does afterwards from the simulated devices themselves, not from benchctl's log.

The simulated charger and gear run in a process of their own (`benchctl sim`), so they outlive the run that is
stopped: the EV emulator's registers and the relay board's coils are read over Modbus TCP, the card presenter over
its serial line. For each stop the drill waits until the case has plugged the cable in and the EV is ready (state
C: not the safe state), stops the run, and polls the EV emulator until it is back in its safe state (plug relay
open, state A); it prints the time from the signal to the safe gear, the exit status, whether the bench lock is
gone and, once the run has exited, the relays and the card.

SIGHUP is sent the way it comes in real life: the run's controlling terminal (a pseudo-terminal) is closed.
After kill -9 nothing in benchctl runs any more: the drill shows the gear as the dead run left it, then starts
`benchctl run --resume` on the run directory and reports whether it took the stale lock over and how long until
its start had the gear safe.

Usage:
  .venv/bin/python benchmarks/exit_drill.py [--signals HUP,INT,TERM,KILL]
Exit status 0 when every stop ended with the gear safe (after kill -9: after the resumed run's start).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import termios
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import serial  # noqa: E402
from pymodbus.client import AsyncModbusTcpClient  # noqa: E402

from drivers.evse_tester.register_map import CP_STATE_CODES, DEFAULT_MAP  # noqa: E402  the emulator's documented map

EV_ID, RELAY_ID = 1, 2  # device ids `benchctl sim` announces
COILS = {"mains": 0, "network": 1, "cable": 2}
SAFE_COILS = {"mains": True, "network": True, "cable": False}  # bench_configs/sim.yaml's safe levels
PYTHON = sys.executable


@dataclass
class Gear:
    plug_closed: bool
    cp_state: str
    coils: dict[str, bool]

    @property
    def ev_safe(self) -> bool:
        return not self.plug_closed and self.cp_state == "A"

    def describe(self) -> str:
        relays = " ".join(f"{k}={'on' if v else 'off'}" for k, v in self.coils.items())
        return f"EV plug relay {'closed' if self.plug_closed else 'open'}, state {self.cp_state}; {relays}"


async def read_gear(port: int) -> Gear:
    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=1, retries=1)
    await client.connect()
    try:
        holding = DEFAULT_MAP.holding()
        cp = await client.read_holding_registers(holding["cp_state"], count=1, device_id=EV_ID)
        plug = await client.read_holding_registers(holding["plug_relay"], count=1, device_id=EV_ID)
        coils = await client.read_coils(0, count=max(COILS.values()) + 1, device_id=RELAY_ID)
    finally:
        client.close()
    return Gear(bool(plug.registers[0]), CP_STATE_CODES[cp.registers[0]],
                {name: bool(coils.bits[n]) for name, n in COILS.items()})


def card_config(port: str) -> str:
    """The presenter's active card configuration (NONE: no card in the reader's field). Only once no run holds the
    port: two readers of one serial line would steal each other's answers."""
    with serial.Serial(port, 115200, timeout=1) as line:
        line.write(b"\x1bCONFIG?\r")
        text = line.read_until(b"\r\n") + line.read_until(b"\r\n")
    return text.decode(errors="replace").split("\r\n")[1].strip() if b"101" in text else text.decode(errors="replace")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_sim(csms_port: int) -> tuple[subprocess.Popen[str], dict[str, str]]:
    proc = subprocess.Popen([PYTHON, "-m", "hil_sim", "--csms", f"ws://127.0.0.1:{csms_port}/ocpp", "--socket"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
                            env={**os.environ, "COLUMNS": "300"})
    assert proc.stdout is not None
    text = ""
    deadline = time.monotonic() + 30
    while "sim.rfid.port" not in text or "sim.modbus.port" not in text:
        line = proc.stdout.readline()
        if not line or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit(f"benchctl sim did not start:\n{text}")
        text += line
    threading.Thread(target=lambda: proc.stdout and proc.stdout.read(), daemon=True).start()
    endpoints = dict(re.findall(r"(sim\.\w+\.\w+)\s*│\s*(\S+)", text))
    return proc, endpoints


def bench_file(folder: Path, csms_port: int, endpoints: dict[str, str]) -> Path:
    """bench_configs/sim.yaml without its built-in simulator, pointed at the running one."""
    text = (ROOT / "bench_configs" / "sim.yaml").read_text()
    text = re.sub(r"(?ms)^simulator:\n.*?(?=^dut:)", "", text)
    text = re.sub(r"(?m)^  modem:\n(?:    .*\n)+", "", text)  # the stick's ports are not announced
    text = text.replace("pics: ../pics/", f"pics: {ROOT}/pics/").replace("    port: 0          #",
                                                                          f"    port: {csms_port}  #")
    text = text.replace("name: sim\n", "name: exit-drill\n")
    for key, value in endpoints.items():
        text = text.replace("${" + key + "}", value)
    path = folder / "drill.yaml"
    path.write_text(text)
    return path


def in_new_terminal(argv: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    """The command as the controlling process of a pseudo-terminal of its own, as in a terminal window or an ssh
    session; closing the returned master hangs the terminal up (the kernel sends SIGHUP)."""
    master, slave = os.openpty()

    def take_terminal() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, preexec_fn=take_terminal, cwd=ROOT,
                            env=env)
    os.close(slave)

    def drain() -> None:  # a terminal someone reads: the run never blocks on its progress line
        with contextlib.suppress(OSError):  # the terminal closed: nothing left to read
            while os.read(master, 4096):
                continue  # the bytes are dropped: only that someone reads them matters
    threading.Thread(target=drain, daemon=True).start()
    return proc, master


def wait_for_ready_ev(run_dir_parent: Path, deadline_s: float = 40) -> Path:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        for actions in run_dir_parent.glob("*/actions.jsonl"):
            for line in actions.read_text().splitlines():
                if line.endswith("}") and (a := json.loads(line))["role"] == "ev" and a["command"] == "set_cp_state" \
                        and a["args"] == {"state": "C"} and a["error"] is None:
                    return actions.parent
        time.sleep(0.02)
    raise SystemExit("the case never plugged the cable in")


async def until_ev_safe(port: int, since: float, limit_s: float) -> float | None:
    while time.monotonic() - since < limit_s:
        with contextlib.suppress(Exception):  # the device is read again until the limit
            if (await read_gear(port)).ev_safe:
                return time.monotonic() - since
        await asyncio.sleep(0.01)
    return None


def drill(sig: str, bench: Path, work: Path, modbus_port: int, rfid_port: str, lock_dir: Path) -> bool:
    runs = work / f"runs-{sig}"
    env = {**os.environ, "BENCHCTL_LOCK_DIR": str(lock_dir), "COLUMNS": "120"}
    # TC_068 charges for seconds after the EV is ready (it watches 3 s that a second card stops nothing), so the
    # signal lands mid-case; TC_003 could end in the moment between state C and the signal (exit 0, not 128+N)
    argv = [PYTHON, "-m", "benchctl.cli", "run", "068", "--bench", str(bench), "--runs", str(runs)]
    master: int | None = None
    if sig == "HUP":
        proc, master = in_new_terminal(argv, env)
    else:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=env)
    run_dir = wait_for_ready_ev(runs)
    before = asyncio.run(read_gear(modbus_port))
    t0 = time.monotonic()
    if master is not None:
        os.close(master)  # the terminal goes away
    else:
        proc.send_signal(getattr(signal, f"SIG{sig}"))
    safe_after = asyncio.run(until_ev_safe(modbus_port, t0, 5.0 if sig == "KILL" else 30.0))
    status = proc.wait(timeout=90)
    exited_after = time.monotonic() - t0
    lock = lock_dir / "exit-drill.lock"
    after = asyncio.run(read_gear(modbus_port))
    how = "terminal closed (SIGHUP)" if sig == "HUP" else f"SIG{sig}"
    print(f"{how:26} gear before: {before.describe()}")
    print(f"{'':26} EV safe {f'{safe_after:.3f} s after the signal' if safe_after is not None else 'NEVER'}; "
          f"exit {status} after {exited_after:.1f} s; lock {'LEFT (' + lock.read_text().strip()[:60] + ')' if lock.exists() else 'released'}")
    relays_ok = all(after.coils[k] == v for k, v in SAFE_COILS.items())
    print(f"{'':26} gear after:  {after.describe()}; card {card_config(rfid_port)}")
    ok = safe_after is not None and relays_ok and not lock.exists()
    if sig == "KILL":
        ok = resume(run_dir, env, modbus_port, rfid_port, lock)
    return ok


def resume(run_dir: Path, env: dict[str, str], modbus_port: int, rfid_port: str, lock: Path) -> bool:
    """After kill -9: the gear as the dead run left it, then what `benchctl run --resume` does about it."""
    print(f"{'':26} kill -9 leaves the gear as it was and the lock to go stale; benchctl run --resume:")
    t0 = time.monotonic()
    proc = subprocess.Popen([PYTHON, "-m", "benchctl.cli", "run", "--resume", str(run_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT, env=env)
    safe_after = asyncio.run(until_ev_safe(modbus_port, t0, 60.0))
    output = proc.communicate(timeout=120)[0]
    took_over = "in use" not in output and "busy" not in output.lower()
    after = asyncio.run(read_gear(modbus_port))
    results = [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines() if line.endswith("}")]
    verdict = ", ".join(f"{r['id']} {r['verdict']}" for r in results) or "no result"
    print(f"{'':26} resume took the stale lock over: {'yes' if took_over else 'NO'}; EV safe "
          f"{f'{safe_after:.3f} s after the resume started' if safe_after is not None else 'NEVER'}; "
          f"exit {proc.returncode} ({verdict}); lock {'LEFT' if lock.exists() else 'released'}")
    print(f"{'':26} gear after:  {after.describe()}; card {card_config(rfid_port)}")
    return took_over and safe_after is not None and not lock.exists() and after.ev_safe


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--signals", default="HUP,INT,TERM,KILL", help="comma-separated: HUP, INT, TERM, QUIT, KILL")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep the run directories and bench file in DIR")
    args = parser.parse_args()
    csms_port = free_port()
    sim, endpoints = start_sim(csms_port)
    ok = True
    try:
        with tempfile.TemporaryDirectory(prefix="exit-drill-") as tmp:
            work = args.keep or Path(tmp)
            work.mkdir(parents=True, exist_ok=True)
            bench = bench_file(work, csms_port, endpoints)
            (work / "locks").mkdir(exist_ok=True)
            for sig in args.signals.split(","):
                ok = drill(sig.strip().upper(), bench, work, int(endpoints["sim.modbus.port"]),
                           endpoints["sim.rfid.port"], work / "locks") and ok
    finally:
        sim.send_signal(signal.SIGINT)
        try:
            sim.wait(timeout=10)
        except subprocess.TimeoutExpired:
            sim.kill()
    print("all stops ended with the gear safe" if ok else "SOME STOP LEFT THE GEAR UNSAFE OR THE LOCK HELD")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
