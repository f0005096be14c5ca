#!/usr/bin/env python3
"""A stand-in for the Proxmark3 command-line client (`pm3` / `proxmark3`, Iceman/RRG), for tests and hil_sim.

It takes the real client's command line and prints what the real one prints, so a driver can run it exactly
as it would run the client: `fake_pm3.py [--hil-sim HOST:PORT] [-p] <port> [-f] [-w] -c "<cmd>[; <cmd>...]"`
(also -v/--version, -i, -d, --incognito, which are accepted). Commands: `hw version`, `hw status`,
`hw ping`, `hw break`, `hf 14a sim -t <1-12> [-u <hex>] [-n <num>] [-x] [--sk] [-v]`.

Like the real client it
- exits 1 with "ERROR: invalid serial port <port>" when the port does not exist, and with "ERROR: serial port
  <port> is claimed by another process" when another client holds it (it takes an exclusive flock on the
  port for its whole life, as the real one does);
- for `hf 14a sim` prints "Emulating ISO/IEC 14443 type A tag with N byte UID (..)" and "Press pm3-button to
  abort simulation", then stays until the device ends the emulation (the button: prints "Done", exits 0);
- dies on SIGINT and SIGTERM without a word, as a C program does (no quit packet to the device).

The device behind the port is `hil_sim.gear.proxmark3.SimProxmark3`, reached over loopback TCP at the address
given with `--hil-sim HOST:PORT` (an option of this fake only; SimProxmark3.client_command puts it first).
Lines from this client to the device: "open" (the client opened the device), "cmd <command>", "sim <UID>
<type>" (the device starts emulating), "quit" (the quit-session packet a client sends when it exits
normally). After "open" the device answers one JSON line with its behaviour: {"responsive": bool,
"ignore_signals": ["INT", "TERM"], "hang_sim": bool}; later it may send "aborted" (button pressed).
Without --hil-sim the device is imaginary: commands succeed and a sim lasts until the process is stopped.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import signal
import socket
import sys
import time
from typing import Any, TextIO

CLIENT_VERSION = "Iceman/master/v4.19552-hil_sim 2025-01-15 10:00:00 hil_sim"
OS_VERSION = "Iceman/master/v4.19552-hil_sim 2025-01-15 10:00:00 hil_sim"

SIM_TYPES = {
    1: "MIFARE Classic 1k", 2: "MIFARE Ultralight", 3: "MIFARE Desfire", 4: "ISO/IEC 14443-4",
    5: "MIFARE Tnp3xxx", 6: "MIFARE Mini", 7: "MFU EV1 / NTAG 215 Amiibo", 8: "MIFARE Classic 4k",
    9: "FM11RF005SH Shanghai Metro", 10: "ST25TA IKEA Rothult", 11: "Javacard (JCOP)", 12: "4K Seos card",
}

_LEVELS = {"info": "=", "success": "+", "warning": "!", "error": "!!", "hint": "?", "failed": "-"}


def say(level: str, text: str) -> None:
    # the client sends warnings and errors to stderr, everything else to stdout
    stream = sys.stderr if level in ("warning", "error") else sys.stdout
    print(f"[{_LEVELS[level]}] {text}", file=stream, flush=True)


def plain(text: str = "") -> None:
    print(text, flush=True)


class Device:
    """The Proxmark3 at the other end of the port: the simulator over TCP, or nothing."""

    def __init__(self, address: str | None) -> None:
        self.config: dict[str, Any] = {"responsive": True, "ignore_signals": [], "hang_sim": False}
        self._sock: socket.socket | None = None
        self._file: TextIO | None = None
        if address:
            host, _, port = address.rpartition(":")
            self._sock = socket.create_connection((host, int(port)), timeout=5.0)
            self._sock.settimeout(None)
            self._file = self._sock.makefile("r", encoding="utf-8", newline="\n")
            self.send("open")
            line = self._file.readline()
            if line:
                self.config.update(json.loads(line))

    def send(self, line: str) -> None:
        if self._sock is not None:
            self._sock.sendall(line.encode("utf-8") + b"\n")

    def wait_event(self) -> str:
        """Block until the device says something ("aborted"); "" when the device went away."""
        if self._file is None:
            while True:
                signal.pause()  # an imaginary device never ends the emulation: wait for a signal
        return self._file.readline().strip()


def hf_14a_sim(device: Device, words: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hf 14a sim", add_help=False, exit_on_error=False)
    parser.add_argument("-t", "--type", type=int, required=True)
    parser.add_argument("-u", "--uid")
    parser.add_argument("-n", "--num", type=int, default=0)
    parser.add_argument("-x", action="store_true")
    parser.add_argument("--sk", action="store_true")
    parser.add_argument("-v", "--verbose", action="store_true")
    try:
        args = parser.parse_args(words)
    except (argparse.ArgumentError, SystemExit) as exc:
        say("error", f"hf 14a sim: {exc}")
        say("hint", "Try 'hf 14a sim --help' for more information.")
        return 1
    uid = ""
    if args.uid is not None:
        try:
            raw = bytes.fromhex(args.uid)
        except ValueError:
            say("error", "Error parsing hex string")
            return 1
        if len(raw) not in (4, 7, 10):
            say("error", "Please specify a 4, 7, or 10 byte UID")
            return 1
        uid = raw.hex().upper()
        spaced = " ".join(uid[i:i + 2] for i in range(0, len(uid), 2)) + " "
        say("success", f"Emulating ISO/IEC 14443 type A tag with {len(raw)} byte UID ({spaced})")
    if args.type not in SIM_TYPES:
        say("error", f"Undefined tag {args.type}")
        return 1
    if device.config.get("hang_sim"):
        while True:  # the device never takes the command: the client waits
            time.sleep(3600)
    say("info", "Press pm3-button to abort simulation")
    device.send(f"sim {uid or '-'} {args.type}")
    event = device.wait_event()
    if event == "aborted":
        say("info", "Done")
        return 0
    say("error", "ERROR: communication with the Proxmark3 lost")
    return 1


def hw_version() -> int:
    plain()
    plain(" [ Proxmark3 ]")
    plain("  device.................... RDV4")
    plain("  firmware.................. RDV4")
    plain("  external flash............ present")
    plain("  smartcard reader.......... absent")
    plain()
    plain(" [ Client ]")
    plain(f"  {CLIENT_VERSION}")
    plain("  compiled with............. GCC 13.2.0")
    plain("  platform.................. Linux / x86_64")
    plain()
    plain(" [ ARM ]")
    plain(f"  bootrom: {OS_VERSION}")
    plain(f"       os: {OS_VERSION}")
    plain("  compiled with GCC 10.3.1 20210824 (release)")
    plain()
    plain(" [ FPGA ]")
    plain("  LF image 2s30vq100 2025-01-15 10:00:00")
    plain("  HF image 2s30vq100 2025-01-15 10:00:00")
    return 0


def run_command(device: Device, command: str) -> int:
    words = command.split()
    if words[:2] == ["hw", "version"]:
        return hw_version()
    if words[:2] == ["hw", "status"]:
        say("info", "--- Memory")
        say("info", "  BigBuf_size............. 40000")
        say("info", "--- Transfer Speed")
        say("info", "  Transfer Speed PM3 -> Client... 600000 bytes/s")
        return 0
    if words[:2] == ["hw", "ping"]:
        say("success", "Ping sent with payload len 32")
        say("success", "Ping response received and content ( ok )")
        return 0
    if words[:2] == ["hw", "break"]:
        return 0
    if words[:3] == ["hf", "14a", "sim"]:
        return hf_14a_sim(device, words[3:])
    say("warning", f"command not found: {command}")
    return 1


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # die on Ctrl-C like the C client, no traceback
    parser = argparse.ArgumentParser(prog="proxmark3", add_help=False)
    parser.add_argument("--hil-sim")
    parser.add_argument("-p", "--port")
    parser.add_argument("port_arg", nargs="?")
    parser.add_argument("-f", "--flush", action="store_true")
    parser.add_argument("-w", "--wait", action="store_true")
    parser.add_argument("-c", "--command")
    parser.add_argument("-i", "--interactive", action="store_true")
    parser.add_argument("-d", "--debug")
    parser.add_argument("-v", "--version", action="store_true")
    parser.add_argument("-h", "--help", action="store_true")
    parser.add_argument("--incognito", action="store_true")
    args = parser.parse_args(argv)
    if args.help:
        plain("syntax: proxmark3 [[-p] <port>] [-b] [-w] [-f] [-c <command>] [-i] [-d <0|1|2>]  (hil_sim fake)")
        return 0
    if args.version:
        plain(f"Client: {CLIENT_VERSION}")
        return 0
    port = args.port or args.port_arg
    if args.command is None:
        say("warning", "hil_sim fake client: interactive mode is not simulated; give a command with -c")
        return 1
    if port is None:
        say("info", "OFFLINE mode. Check \"proxmark3 -h\" if it's not what you want.")
        say("warning", "command not available in offline mode")
        return 1

    say("info", f"Using UART port {port}")
    try:
        port_file = open(port, "rb")  # noqa: SIM115 - held (and locked) for the life of the process
    except OSError:
        say("warning", f"ERROR: invalid serial port {port}")
        say("hint", "Try the shell script `./pm3 --list` to get a list of possible serial ports")
        return 1
    try:
        fcntl.flock(port_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        say("warning", f"ERROR: serial port {port} is claimed by another process")
        say("hint", "Try the shell script `./pm3 --list` to get a list of possible serial ports")
        return 1

    try:
        device = Device(args.hil_sim)
    except OSError:
        say("error", "ERROR: cannot communicate with the Proxmark3")
        return 1
    if not device.config.get("responsive", True):
        time.sleep(0.2)  # the real client waits for an answer to its ping first
        say("error", "ERROR: cannot communicate with the Proxmark3")
        return 1
    for name in device.config.get("ignore_signals", []):
        signal.signal(getattr(signal, f"SIG{name}"), signal.SIG_IGN)
    say("info", "Communicating with PM3 over USB-CDC")

    status = 0
    for command in (part.strip() for part in args.command.split(";")):
        if not command:
            continue
        plain(f"[usb|script] pm3 --> {command}")
        device.send(f"cmd {command}")
        status = run_command(device, command)
        if status != 0:
            break
    device.send("quit")  # the quit-session packet of a client that ends normally
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
