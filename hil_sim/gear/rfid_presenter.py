"""A simulated ChameleonMini card emulator on a pseudo-terminal.

The driver opens `port_name` with pyserial exactly as it would open /dev/ttyACM0. The command line
follows the ChameleonMini firmware: characters outside [A-Za-z0-9_?= ] are ignored, letters are taken
upper-case, CR runs the line, backspace deletes, ESC drops the line, there is no echo. A line is
"<CMD>?" (get), "<CMD>=<value>" (set, "=?" lists values), "<CMD>" (execute); the answer is a status line
"NNN:TEXT" CR LF, and "101:OK WITH TEXT" is followed by the value line. Unknown commands get
"200:UNKNOWN COMMAND", a known command in a form it does not support "201:INVALID COMMAND USAGE", a bad
value "202:INVALID PARAMETER".

What a reader in front of the emulator would see goes to `world.card_uid`: the UID while a card
configuration with a UID is active, None otherwise (CONFIG=NONE).

Simplification: selecting a configuration starts from blank card memory: `UID?` reads zeros and the world
sees no card until `UID=` writes one. A real device keeps the slot memory, so it would briefly present
the previous card's UID between CONFIG= and UID=; the simulator spares the simulated charger that.
"""

from __future__ import annotations

import secrets
import string
from typing import Callable

from ..world import World
from .pty_device import PtyDevice

VERSION = "ChameleonMini RevG hil_sim (benchctl simulated card presenter)"

# card configurations and their UID sizes in bytes (0: no card)
CONFIGS = {
    "NONE": 0,
    "MF_ULTRALIGHT": 7,
    "MF_CLASSIC_1K": 4,
    "MF_CLASSIC_1K_7B": 7,
    "MF_CLASSIC_4K": 4,
    "MF_CLASSIC_4K_7B": 7,
}

STATUS_TEXT = {
    100: "OK",
    101: "OK WITH TEXT",
    110: "WAITING FOR XMODEM",
    120: "FALSE",
    121: "TRUE",
    200: "UNKNOWN COMMAND",
    201: "INVALID COMMAND USAGE",
    202: "INVALID PARAMETER",
    203: "TIMEOUT",
}

GET, SET, EXEC = "?", "=", ""
_DELIMITERS = "?= "  # the firmware's command delimiters (plus end of line)
_ACCEPTED = set(string.ascii_letters + string.digits + "_?= ")
_LINE_MAX = 511  # TERMINAL_BUFFER_SIZE - 1 on the device
_HEX = set("0123456789ABCDEF")

Answer = tuple[int, str | None]


class SimPresenter(PtyDevice):
    """ChameleonMini look-alike on a pty; `port_name` is what the driver opens.

    `silent = True` (from PtyDevice) swallows every byte and never answers (hung firmware).
    """

    def __init__(self, world: World) -> None:
        super().__init__()
        self.world = world
        self.config = "NONE"
        self.uid: str | None = None  # UID written since the configuration was selected
        self.commands: list[str] = []  # every line run, as the device saw it (upper-case)
        self._line = bytearray()
        self._table: dict[str, dict[str, Callable[[str], Answer]]] = {
            "VERSION": {GET: self._get_version},
            "CONFIG": {GET: self._get_config, SET: self._set_config},
            "UID": {GET: self._get_uid, SET: self._set_uid},
            "UIDSIZE": {GET: self._get_uid_size},
            "HELP": {EXEC: self._help},
        }

    # lifecycle (start/stop from PtyDevice) ------------------------------------------------------

    def stopped(self) -> None:
        self._line.clear()
        # unplugged: the emulator is off, nothing in front of the reader any more
        self.config, self.uid = "NONE", None
        self._publish()

    # bytes in, bytes out --------------------------------------------------------------------------

    def received(self, data: bytes) -> None:
        for byte in data:
            self._feed(byte)

    def _feed(self, byte: int) -> None:
        char = chr(byte)
        if char in _ACCEPTED:
            if len(self._line) < _LINE_MAX:
                self._line.append(ord(char.upper()))
        elif char == "\r":
            line = self._line.decode("ascii")
            self._line.clear()
            self._send(self._run(line))
        elif char == "\b":
            if self._line:
                self._line.pop()
        elif char == "\x1b":
            self._line.clear()
        # every other control character (LF included) is ignored, as on the device

    def _send(self, answer: Answer) -> None:
        code, text = answer
        out = f"{code}:{STATUS_TEXT[code]}\r\n"
        if text:
            out += f"{text}\r\n"
        self.send(out.encode("ascii"))

    # command line ---------------------------------------------------------------------------------

    def _run(self, line: str) -> Answer:
        self.commands.append(line)
        if not line or line[0] in _DELIMITERS:
            return 200, None
        cut = min((i for i in (line.find(d) for d in _DELIMITERS) if i >= 0), default=len(line))
        name, mode, param = line[:cut], line[cut : cut + 1], line[cut + 1 :]
        entry = self._table.get(name)
        if entry is None:
            return 200, None
        handler = entry.get(mode)
        if handler is None:  # includes "<CMD> <params>": no command here takes parameters that way
            return 201, None
        return handler(param)

    def _get_version(self, _: str) -> Answer:
        return 101, VERSION

    def _get_config(self, _: str) -> Answer:
        return 101, self.config

    def _set_config(self, value: str) -> Answer:
        if value == "?":
            return 101, ",".join(CONFIGS)
        if value not in CONFIGS:
            return 202, None
        self.config, self.uid = value, None
        self._publish()
        return 100, None

    def _uid_size(self) -> int:
        return CONFIGS[self.config]

    def _get_uid(self, _: str) -> Answer:
        size = self._uid_size()
        if size == 0:
            return 101, "NO UID."
        return 101, self.uid if self.uid is not None else "00" * size

    def _set_uid(self, value: str) -> Answer:
        size = self._uid_size()
        if value == "RANDOM" and size:
            uid = secrets.token_hex(size).upper()
        elif len(value) == 2 * size and size and set(value) <= _HEX:
            uid = value
        else:
            return 202, None
        self.uid = uid
        self._publish()
        return 100, None

    def _get_uid_size(self, _: str) -> Answer:
        return 101, str(self._uid_size())

    def _help(self, _: str) -> Answer:
        return 101, ",".join(self._table)

    # the world ------------------------------------------------------------------------------------

    def _publish(self) -> None:
        card = self.uid if self._uid_size() and self.uid is not None else None
        self.world.set("card_uid", card)
