"""A simulated Huawei E3372h in stick mode: several pseudo-terminals, one of them the AT command port.

Like the real stick, which shows up as several ttyUSB ports (modem, diagnostics, PCUI), the simulator opens
`ports` ptys; only `modem_port` runs AT commands, the others swallow what they get and never answer. The
AT port follows the modem's habits: commands end with CR (LF ignored, backspace deletes), the line must start
with "AT", the command is echoed while E1 is on (the default; ATE0 turns it off), every answer line is
framed CR LF ... CR LF and a final OK / ERROR / +CME ERROR: <n> closes it.

With `unsolicited` on (the default, as with ^CURC=1 on a real stick) the modem puts ^RSSI, ^HCSQ and ^MODE
reports between the echo and each answer, so the driver must tell them from the answer.

The generation and the signal live in the world's CellularLink (shared with the HiLink simulator and the
link endpoint): AT^SYSCFGEX sets it, AT+CSQ / AT^HCSQ? read the serving generation's signal from it.

Commands: AT, ATE0/ATE1, ATI, AT+CSQ, AT+CSQ=?, AT^HCSQ?, AT^SYSCFGEX?, AT^SYSCFGEX=?, AT^SYSCFGEX=<7
parameters>. Anything else answers ERROR. `failures` makes a command (by name: "^SYSCFGEX", "+CSQ",
"^HCSQ", ...) answer the final result given instead ("ERROR", "+CME ERROR: 30", ...).
"""

from __future__ import annotations

import math

from ..world import World
from .cellular import CellSignal, CellularLink
from .pty_device import PtyDevice

MANUFACTURER = "huawei"
MODEL = "E3372"
REVISION = "22.328.62.00.209 (hil_sim)"
IMEI = "866000000000001"

ALL_BANDS = "3FFFFFFF"
ALL_LTE_BANDS = "7FFFFFFFFFFFFFFF"
ACQ_ORDERS = {"00": "auto", "01": "2G", "02": "3G", "03": "4G"}
CME_INCORRECT_PARAMETERS = 50

# ^HCSQ encodings: (offset, step, highest code); code = (value - offset) / step, clipped to 0..highest
_RSSI = (-120.0, 1.0, 96)
_RSRP = (-140.0, 1.0, 97)
_SINR = (-20.0, 0.2, 251)
_RSRQ = (-19.5, 0.5, 34)
_RSCP = (-120.0, 1.0, 96)
_ECIO = (-32.0, 0.5, 65)
HCSQ_UNKNOWN = 255

# ^MODE: <sys_mode>,<sys_submode> reported for the serving generation (illustrative sub-modes)
_MODE = {None: "0,0", "2G": "3,3", "3G": "5,4", "4G": "7,101"}

_EDIT = {0x08, 0x7F}


def hcsq_code(value: float | None, encoding: tuple[float, float, int]) -> int:
    if value is None:
        return HCSQ_UNKNOWN
    offset, step, highest = encoding
    return max(0, min(highest, round((value - offset) / step)))


def csq_code(rssi_dbm: float | None) -> int:
    """+CSQ for an RSSI: 0 at -113 dBm or below, 31 at -51 dBm or above, 2 dB per step; 99 unknown."""
    if rssi_dbm is None:
        return 99
    return max(0, min(31, math.floor((rssi_dbm + 113) / 2)))


class _SilentPort(PtyDevice):
    """A diagnostic port: takes everything, says nothing."""

    def received(self, data: bytes) -> None:
        """Swallowed, like the stick's diagnostic ports do with AT commands."""


class _ModemPort(PtyDevice):
    def __init__(self, modem: "SimE3372AT") -> None:
        super().__init__()
        self.modem = modem
        self._line = bytearray()

    def received(self, data: bytes) -> None:
        if self.modem.silent:
            return
        if self.modem.echo:
            self.send(data)
        for byte in data:
            if byte == 0x0D:
                line = self._line.decode("ascii", errors="replace")
                self._line.clear()
                answer = self.modem.run(line)
                if answer:
                    self.send(answer)
            elif byte in _EDIT:
                if self._line:
                    self._line.pop()
            elif byte >= 0x20 and len(self._line) < 1024:
                self._line.append(byte)
            # LF and other control characters are ignored

    def stopped(self) -> None:
        self._line.clear()


class SimE3372AT:
    """E3372h look-alike on `ports` ptys; `port_names` lists them, `modem_port` is the one that answers."""

    def __init__(self, world: World, ports: int = 3, *, modem_index: int | None = None,
                 cellular: CellularLink | None = None) -> None:
        if ports < 1:
            raise ValueError(f"ports must be >= 1, not {ports!r}")
        index = ports - 1 if modem_index is None else modem_index
        if not 0 <= index < ports:
            raise ValueError(f"modem_index must be 0..{ports - 1}, not {modem_index!r}")
        self.world = world
        self.cellular = cellular if cellular is not None else CellularLink.of(world)
        self.modem_index = index
        self.echo = True
        self.unsolicited = True
        self.silent = False  # fault: the modem port swallows everything too (hung firmware)
        self.failures: dict[str, str] = {}  # fault: command name -> final result it answers instead
        self.commands: list[str] = []  # every AT line run, as received
        self.bands = ALL_BANDS
        self.lte_bands = ALL_LTE_BANDS
        self.roam = 1
        self.srvdomain = 2
        self._devices: list[PtyDevice] = [
            _ModemPort(self) if i == index else _SilentPort() for i in range(ports)
        ]

    @property
    def port_names(self) -> list[str]:
        return [d.port_name for d in self._devices]

    @property
    def modem_port(self) -> str:
        return self._devices[self.modem_index].port_name

    async def start(self) -> None:
        for device in self._devices:
            await device.start()

    async def stop(self) -> None:
        for device in self._devices:
            await device.stop()

    # AT interpreter -------------------------------------------------------------------------------

    def run(self, raw: str) -> bytes:
        """Answer one command line (without its CR); b"" for lines the modem ignores."""
        line = raw.strip()
        if not line:
            return b""
        if line[:2].upper() != "AT":
            return b""
        self.commands.append(line)
        body = line[2:]
        name = body.split("=")[0].split("?")[0].upper()
        info: list[str] = []
        if name in self.failures:
            final = self.failures[name]
        else:
            final = self._execute(body, info)
        urcs = self._urcs() if self.unsolicited else []
        return "".join(f"\r\n{text}\r\n" for text in [*urcs, *info, final]).encode("ascii")

    def _execute(self, body: str, info: list[str]) -> str:
        upper = body.upper()
        if upper == "":
            return "OK"
        if upper in ("E", "E0", "E1"):
            self.echo = upper == "E1"
            return "OK"
        if upper in ("I", "I0"):
            info += [f"Manufacturer: {MANUFACTURER}", f"Model: {MODEL}", f"Revision: {REVISION}",
                     f"IMEI: {IMEI}", "+GCAP: +CGSM,+DS,+ES"]
            return "OK"
        if upper == "+CSQ":
            signal = self.cellular.signal()
            info.append(f"+CSQ: {csq_code(signal.rssi_dbm if signal else None)},99")
            return "OK"
        if upper == "+CSQ=?":
            info.append("+CSQ: (0-31,99),(0-7,99)")
            return "OK"
        if upper == "^HCSQ?":
            info.append(self._hcsq())
            return "OK"
        if upper == "^SYSCFGEX?":
            order = next(k for k, v in ACQ_ORDERS.items() if v == self.cellular.generation)
            info.append(f'^SYSCFGEX: "{order}",{self.bands},{self.roam},{self.srvdomain},{self.lte_bands},,')
            return "OK"
        if upper == "^SYSCFGEX=?":
            info.append('^SYSCFGEX: ("00","01","02","03"),((3FFFFFFF,"All bands")),(0-2),(0-4),'
                        '((7FFFFFFFFFFFFFFF,"All bands")),,')
            return "OK"
        if upper.startswith("^SYSCFGEX="):
            return self._set_syscfgex(body[len("^SYSCFGEX="):])
        return "ERROR"

    def _set_syscfgex(self, args: str) -> str:
        bad = f"+CME ERROR: {CME_INCORRECT_PARAMETERS}"
        fields = [f.strip() for f in args.split(",")]
        if len(fields) != 7 or fields[5] or fields[6]:
            return bad
        order, band, roam, domain, lte_band = fields[:5]
        if len(order) < 2 or order[0] != '"' or order[-1] != '"':
            return bad
        order = order[1:-1]
        if order not in ACQ_ORDERS and order != "99":  # "99": keep the current order
            return bad
        if not _hex(band) or not _hex(lte_band) or roam not in ("0", "1", "2") \
                or domain not in ("0", "1", "2", "3", "4"):
            return bad
        if order != "99":
            self.cellular.set_generation(ACQ_ORDERS[order])
        self.bands, self.lte_bands = band.upper(), lte_band.upper()
        self.roam, self.srvdomain = int(roam), int(domain)
        return "OK"

    def _hcsq(self) -> str:
        serving = self.cellular.serving()
        signal = self.cellular.signal()
        if serving is None or signal is None:
            return '^HCSQ: "NOSERVICE"'
        if serving == "2G":
            return f'^HCSQ: "GSM",{hcsq_code(signal.rssi_dbm, _RSSI)}'
        if serving == "3G":
            return (f'^HCSQ: "WCDMA",{hcsq_code(signal.rssi_dbm, _RSSI)},'
                    f"{hcsq_code(signal.rscp_dbm, _RSCP)},{hcsq_code(signal.ecio_db, _ECIO)}")
        return (f'^HCSQ: "LTE",{hcsq_code(signal.rssi_dbm, _RSSI)},{hcsq_code(signal.rsrp_dbm, _RSRP)},'
                f"{hcsq_code(signal.sinr_db, _SINR)},{hcsq_code(signal.rsrq_db, _RSRQ)}")

    def _urcs(self) -> list[str]:
        signal: CellSignal | None = self.cellular.signal()
        return [f"^RSSI: {csq_code(signal.rssi_dbm if signal else None)}", self._hcsq(),
                f"^MODE: {_MODE[self.cellular.serving()]}"]


def _hex(text: str) -> bool:
    return bool(text) and all(c in "0123456789abcdefABCDEF" for c in text)
