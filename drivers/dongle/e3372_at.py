"""Huawei E3372h in stick mode: AT commands on its serial (ttyUSB) port.

Commands end with CR; the modem may echo them (E1 is its default) and answers with lines ended by CR LF,
closed by a final result: OK, ERROR or "+CME ERROR: <n>". Between them it may send unsolicited lines
(^RSSI, ^HCSQ, ^MODE, ^BOOT, ^DSFLOWRPT, ...) at any time; they are skipped: a command's answer is the
lines with the prefix it is expected to carry.

  generation  AT^SYSCFGEX="<acqorder>",3FFFFFFF,1,2,7FFFFFFFFFFFFFFF,,  (acqorder "00" auto, "01" 2G,
              "02" 3G, "03" 4G; all bands, roaming allowed, CS+PS) and AT^SYSCFGEX? to read it back
  signal      AT+CSQ -> +CSQ: <rssi>,<ber> (dBm = -113 + 2 CSQ, 99 unknown) and AT^HCSQ? ->
              ^HCSQ: "LTE",<rssi>,<rsrp>,<sinr>,<rsrq> | "WCDMA",<rssi>,<rscp>,<ecio> | "GSM",<rssi> |
              "NOSERVICE" (conversions in HCSQ_FIGURES; 255 means not measurable)

The stick exposes several ttyUSB ports (modem, diagnostics, PCUI) whose numbering depends on the host; give
a list and the driver sends AT to each (`probe_port`) and uses the first that answers OK.

pyserial is blocking, so exchanges run in a worker thread (asyncio.to_thread); an asyncio lock keeps
multi-command sequences whole and a thread lock keeps two exchanges from sharing the port.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from typing import Any

import serial

from ..errors import DriverError
from ..retry import RetryPolicy
from ..serial_line import PORT_ERRORS, close_quietly, open_port
from ..steplog import StepLog, step
from .protocol import (
    ACQ_ORDER_FOR_GENERATION,
    DongleProtocol,
    Signal,
    generation_for_acq_order,
    normalize_generation,
)
from .settings import E3372AtSettings
from .signal import CSQ_UNKNOWN, csq_to_dbm

EOL = b"\r"
SYSCFGEX_SET = 'AT^SYSCFGEX="{order}",3FFFFFFF,1,2,7FFFFFFFFFFFFFFF,,'
_LINE_MAX = 1024
_POLL_S = 0.05  # serial read granularity; the command deadline is what counts

_FINAL_ERRORS = ("ERROR", "+CME ERROR:", "+CMS ERROR:", "COMMAND NOT SUPPORT", "TOO MANY PARAMETERS",
                 "NO CARRIER")

# A few +CME ERROR codes (3GPP TS 27.007 9.2) a bench operator can act on.
CME_ERRORS = {
    3: "operation not allowed",
    4: "operation not supported",
    10: "SIM not inserted",
    11: "SIM PIN required",
    13: "SIM failure",
    14: "SIM busy",
    30: "no network service",
    50: "incorrect parameters",
    100: "unknown error",
}

# ^HCSQ sysmode -> (generation, [(Signal field, offset, step)] for the values after it); dBm/dB = offset + v*step
HCSQ_FIGURES: dict[str, tuple[str, list[tuple[str, float, float]]]] = {
    "GSM": ("2G", [("rssi_dbm", -120.0, 1.0)]),
    "WCDMA": ("3G", [("rssi_dbm", -120.0, 1.0), ("rscp_dbm", -120.0, 1.0), ("ecio_db", -32.0, 0.5)]),
    "TD-SCDMA": ("3G", [("rssi_dbm", -120.0, 1.0), ("rscp_dbm", -120.0, 1.0), ("ecio_db", -32.0, 0.5)]),
    "LTE": ("4G", [("rssi_dbm", -120.0, 1.0), ("rsrp_dbm", -140.0, 1.0), ("sinr_db", -20.0, 0.2),
                   ("rsrq_db", -19.5, 0.5)]),
}
HCSQ_NOSERVICE = "NOSERVICE"
HCSQ_UNKNOWN = 255

_CSQ = re.compile(r"^\+CSQ:\s*(\d+)\s*,\s*(\d+)\s*$")
_INFO = re.compile(r"^(Manufacturer|Model|Revision|IMEI):\s*(.*)$", re.IGNORECASE)


class ModemError(DriverError):
    """The modem answered a command with an error result; `code` is the +CME/+CMS number if it gave one."""

    def __init__(self, role: str, backend: str, address: str, command: str, result: str) -> None:
        match = re.match(r"^\+CM[ES] ERROR:\s*(\d+)\s*$", result)
        self.code = int(match.group(1)) if match else None
        self.command = command
        self.result = result
        meaning = f" ({CME_ERRORS[self.code]})" if self.code in CME_ERRORS else ""
        super().__init__(role, backend, address, f"{command} answered {result!r}{meaning}")


class _NoAnswer(Exception):
    """The modem did not finish an answer before the deadline."""


class _Failed(Exception):
    """A final error result; turned into a ModemError by the caller that knows the role."""

    def __init__(self, result: str) -> None:
        super().__init__(result)
        self.result = result


# parsing (pure) -----------------------------------------------------------------------------------


def parse_csq(line: str) -> int | None:
    """"+CSQ: 20,99" -> 20; None for 99 (unknown); ValueError for anything else."""
    match = _CSQ.match(line.strip())
    if match is None:
        raise ValueError(f"not a +CSQ answer: {line!r}")
    csq = int(match.group(1))
    if csq == CSQ_UNKNOWN:
        return None
    csq_to_dbm(csq)  # range check
    return csq


def parse_hcsq(line: str) -> Signal:
    """A ^HCSQ line (answer or unsolicited) -> Signal with the figures its sysmode gives; csq is None."""
    text = line.strip()
    if not text.startswith("^HCSQ:"):
        raise ValueError(f"not a ^HCSQ answer: {line!r}")
    parts = [p.strip() for p in text[len("^HCSQ:"):].split(",")]
    sysmode = parts[0].strip('"').upper()
    if sysmode == HCSQ_NOSERVICE:
        return Signal(generation=None)
    if sysmode not in HCSQ_FIGURES:
        raise ValueError(f"^HCSQ sysmode {sysmode!r} is not one of GSM, WCDMA, TD-SCDMA, LTE, NOSERVICE")
    generation, figures = HCSQ_FIGURES[sysmode]
    values = parts[1:]
    if len(values) < len(figures):
        raise ValueError(f"^HCSQ {sysmode} needs {len(figures)} values: {line!r}")
    out: dict[str, Any] = {}
    for (name, offset, step_), raw in zip(figures, values):
        if not raw.isdigit():
            raise ValueError(f"^HCSQ value {raw!r} is not a number: {line!r}")
        value = int(raw)
        out[name] = None if value == HCSQ_UNKNOWN else round(offset + value * step_, 1)
    return Signal(generation=generation, **out)


def parse_syscfgex(line: str) -> str:
    """'^SYSCFGEX: "03",3FFFFFFF,1,2,7FFFFFFFFFFFFFFF,,' -> '03' (the acquisition order)."""
    text = line.strip()
    if not text.startswith("^SYSCFGEX:"):
        raise ValueError(f"not a ^SYSCFGEX answer: {line!r}")
    order = text[len("^SYSCFGEX:"):].split(",")[0].strip().strip('"')
    if not order.isdigit():
        raise ValueError(f"^SYSCFGEX acquisition order {order!r} is not a number: {line!r}")
    return order


def _is_final_error(line: str) -> bool:
    return any(line == e or line.startswith(e) for e in _FINAL_ERRORS)


# the driver ---------------------------------------------------------------------------------------


class E3372ATDongle(DongleProtocol):
    """Huawei E3372h (stick firmware) over AT commands on a serial port, or the first answering of several."""

    backend = "AT"
    kind = "dongle"
    settings = E3372AtSettings
    summary = "Huawei E3372h in stick mode: AT commands on a serial port"
    on_lost = (
        "the stick keeps its last network mode (2G/3G/4G)."
    )

    @classmethod
    def check_settings(cls, settings: dict[str, Any]) -> tuple[str, str] | None:
        if settings.get("ports") and settings.get("port"):
            return "ports", "give port or ports, not both"
        if not settings.get("ports") and not settings.get("port"):
            return "port", "give port (the AT port) or ports (candidates probed with AT)"
        return None

    def __init__(self, role: str, settings: E3372AtSettings, *, steplog: StepLog | None = None) -> None:
        port = list(settings.ports) if settings.ports else settings.port
        if port is None:
            raise ValueError("give port (the AT port) or ports (candidates probed with AT)")
        baudrate = settings.baudrate
        timeout_s = settings.timeout_s
        retries = settings.retries
        link_endpoint = settings.link_endpoint
        candidates = [port] if isinstance(port, str) else list(port)
        if not candidates or not all(isinstance(p, str) and p for p in candidates):
            raise ValueError(f"port must be a serial device or a non-empty list of them, not {port!r}")
        RetryPolicy(timeout_s, retries)  # checks both
        super().__init__(role, ",".join(candidates), link_endpoint, steplog)
        self.candidates = candidates
        self.port: str | None = candidates[0] if len(candidates) == 1 else None
        self.baudrate = baudrate
        self.timeout_s = timeout_s
        self.retries = retries
        # a modem answers AT in milliseconds; a silent candidate costs this on every connect
        self.probe_timeout_s = min(timeout_s, 0.5)
        # when no candidate answered in time, one more round with this: a loaded host or a USB hub waking up can
        # take over half a second (the sim bench's pseudo-terminal modem did, once, on a busy 2-core CI)
        self.slow_probe_timeout_s = min(timeout_s, 2.0)
        self._serial: serial.Serial | None = None
        self._lock = asyncio.Lock()  # keeps command sequences whole
        self._connect_lock = asyncio.Lock()
        self._io_lock = threading.Lock()  # keeps single exchanges on the port apart

    # lifecycle ------------------------------------------------------------------------------------

    async def connect(self) -> None:
        """Open the modem port (probing the candidates first when several were given). Idempotent."""
        async with self._connect_lock:
            if self._serial is not None and self._serial.is_open:
                return
            if self.port is None:
                self.port = await self.probe_port(self.candidates)
                self.address = self.port
            self._serial = await asyncio.to_thread(self._open, self.port)

    def _open(self, name: str) -> serial.Serial:
        # the greeting CR ends whatever half line the modem holds; what it answers is dropped
        return open_port(name, self.baudrate, min(_POLL_S, self.timeout_s), self.error,
                         write_timeout_s=self.timeout_s, greeting=EOL)

    async def close(self) -> None:
        port, self._serial = self._serial, None
        if port is not None:
            await asyncio.to_thread(self._close_port, port)

    def _close_port(self, port: serial.Serial) -> None:
        with self._io_lock:  # wait for an exchange still running in a thread
            close_quietly(port)

    # probing --------------------------------------------------------------------------------------

    @step
    async def probe_port(self, candidates: list[str]) -> str:
        """The first of `candidates` that answers AT with OK; DriverError telling what each port did."""
        if not candidates:
            raise ValueError("no candidate ports to probe")
        for wait_s in (self.probe_timeout_s, self.slow_probe_timeout_s):
            outcomes = await asyncio.gather(*(asyncio.to_thread(self._probe_one, name, wait_s)
                                              for name in candidates))
            for name, (ok, _) in zip(candidates, outcomes):
                if ok:
                    return name
        what = "; ".join(f"{name}: {text}" for name, (_, text) in zip(candidates, outcomes))
        raise DriverError(self.role, self.backend, ",".join(candidates),
                          f"no port answered AT with OK ({what})")

    def _probe_one(self, name: str, wait_s: float) -> tuple[bool, str]:
        try:
            port = open_port(name, self.baudrate, min(_POLL_S, wait_s),
                             lambda message: DriverError(self.role, self.backend, name, message),
                             write_timeout_s=wait_s)
        except DriverError as exc:
            return False, exc.message
        try:
            port.write(b"AT" + EOL)
            port.flush()
            deadline = time.monotonic() + wait_s
            heard: list[str] = []
            while True:
                try:
                    line = self._read_line(port, deadline)
                except _NoAnswer as exc:
                    if heard:
                        return False, f"no OK within {wait_s:g} s, heard {heard!r}"
                    partial = "" if "got nothing" in str(exc) else f" ({exc})"
                    return False, f"no answer within {wait_s:g} s{partial}"
                if line == "OK":
                    return True, "answered OK"
                if _is_final_error(line):
                    return False, f"answered {line!r}"
                if line and line.upper() != "AT":
                    heard.append(line)
        except serial.SerialTimeoutException:
            return False, "write timed out"
        except PORT_ERRORS as exc:
            return False, f"I/O failed ({exc})"
        finally:
            close_quietly(port)

    # role commands --------------------------------------------------------------------------------

    @step
    async def set_generation(self, gen: str) -> None:
        """AT^SYSCFGEX with the generation's acquisition order, then read it back."""
        generation = normalize_generation(gen)
        order = ACQ_ORDER_FOR_GENERATION[generation]
        async with self._lock:
            await self._command(SYSCFGEX_SET.format(order=order))
            now = await self._read_generation()
        if now != generation:
            raise self.error(f"asked for {generation} (acquisition order {order}), the modem reads back {now}")

    @step
    async def get_generation(self) -> str:
        async with self._lock:
            return await self._read_generation()

    @step
    async def signal(self) -> Signal:
        """AT+CSQ and AT^HCSQ?; RSSI from ^HCSQ (1 dB steps), else from the CSQ value."""
        async with self._lock:
            return await self._read_signal()

    @step
    async def safe_state(self) -> None:
        """Leave the stick choosing its generation itself (auto), as it does out of the box."""
        await self.set_generation("auto")

    @step
    async def self_test(self) -> dict[str, Any]:
        """ATI (manufacturer, model, revision), the generation setting and a signal reading."""
        async with self._lock:
            info: dict[str, Any] = {}
            for line in await self._command("ATI"):
                match = _INFO.match(line)
                if match:
                    info[match.group(1).lower()] = match.group(2).strip()
            generation = await self._read_generation()
            reading = await self._read_signal()
        return {"port": self.port, **{k: v for k, v in info.items() if k != "imei"},
                "generation": generation, "signal": reading.as_dict()}

    async def _read_generation(self) -> str:
        lines = await self._command("AT^SYSCFGEX?", "^SYSCFGEX:")
        try:
            return generation_for_acq_order(parse_syscfgex(self._one(lines, "AT^SYSCFGEX?")))
        except ValueError as exc:
            raise self.error(f"AT^SYSCFGEX?: {exc}") from exc

    async def _read_signal(self) -> Signal:
        csq_lines = await self._command("AT+CSQ", "+CSQ:")
        hcsq_lines = await self._command("AT^HCSQ?", "^HCSQ:")
        try:
            csq = parse_csq(self._one(csq_lines, "AT+CSQ"))
            # an unsolicited ^HCSQ may come before the answer; the last line is the newest reading
            reading = parse_hcsq(self._one(hcsq_lines[-1:], "AT^HCSQ?"))
        except ValueError as exc:
            raise self.error(str(exc)) from exc
        rssi = reading.rssi_dbm
        csq_dbm = csq_to_dbm(csq) if csq is not None else None
        if rssi is None and csq_dbm is not None and reading.generation is not None:
            rssi = float(csq_dbm)
        return Signal(
            generation=reading.generation,
            csq=csq,
            rssi_dbm=rssi,
            rsrp_dbm=reading.rsrp_dbm,
            sinr_db=reading.sinr_db,
            rsrq_db=reading.rsrq_db,
            rscp_dbm=reading.rscp_dbm,
            ecio_db=reading.ecio_db,
        )

    def _one(self, lines: list[str], command: str) -> str:
        if not lines:
            raise self.error(f"{command} answered OK without its result line")
        return lines[-1]

    # wire -----------------------------------------------------------------------------------------

    async def _command(self, command: str, prefix: str | None = None) -> list[str]:
        """Send one command; return its information lines (those with `prefix`, else all but ^-lines)."""
        await self.connect()
        port = self._serial
        assert port is not None
        try:
            return await asyncio.to_thread(self._exchange, port, command, prefix)
        except _Failed as exc:
            raise ModemError(self.role, self.backend, self.address, command, exc.result) from None

    def _exchange(self, port: serial.Serial, command: str, prefix: str | None) -> list[str]:
        attempts = self.retries + 1
        last = ""
        with self._io_lock:
            for attempt in range(attempts):
                try:
                    return self._exchange_once(port, command, prefix)
                except _NoAnswer as exc:
                    last = str(exc)
                except PORT_ERRORS as exc:
                    close_quietly(port)  # the port is gone (unplugged?): the next command opens it again
                    if len(self.candidates) > 1:
                        self.port = None  # re-enumerated ttyUSB numbers: probe again
                    raise self.error(f"{command}: serial I/O failed: {exc}") from exc
        raise self.error(
            f"no answer to {command} ({attempts} attempt{'s' if attempts > 1 else ''} of "
            f"{self.timeout_s:g} s; last: {last})"
        )

    def _exchange_once(self, port: serial.Serial, command: str, prefix: str | None) -> list[str]:
        port.reset_input_buffer()  # unsolicited lines and late answers to an earlier attempt
        try:
            port.write(command.encode("ascii") + EOL)
            port.flush()
        except serial.SerialTimeoutException as exc:
            raise _NoAnswer(f"write timed out: {exc}") from exc
        deadline = time.monotonic() + self.timeout_s
        lines: list[str] = []
        while True:
            line = self._read_line(port, deadline)
            if not line or line.upper() == command.upper():  # blank separators, echo
                continue
            if line == "OK":
                return lines
            if _is_final_error(line):
                raise _Failed(line)
            if prefix is not None:
                if line.startswith(prefix):
                    lines.append(line)
            elif not line.startswith("^"):
                lines.append(line)

    def _read_line(self, port: serial.Serial, deadline: float) -> str:
        buf = b""
        while True:
            buf += port.read_until(b"\n", _LINE_MAX - len(buf))
            if buf.endswith(b"\n"):
                return buf.decode("ascii", errors="replace").strip("\r\n ")
            if len(buf) >= _LINE_MAX:
                raise _NoAnswer(f"line longer than {_LINE_MAX} bytes, got {buf[:40]!r}...")
            if time.monotonic() >= deadline:
                got = f"got {buf!r}" if buf else "got nothing"
                raise _NoAnswer(f"waiting for a line, {got}")
