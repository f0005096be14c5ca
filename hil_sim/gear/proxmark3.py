"""A simulated Proxmark3 behind the fake client `fake_pm3.py`, living in the shared World.

The driver runs `client_command` (the fake client, started with this interpreter) exactly as it would run
`pm3`, with `port` as the device: a file in a temporary directory, which the fake client opens and locks as
the real one does its serial port, so another path is an absent port. Each fake client reports to this
simulator over loopback TCP (the address goes on its command line, see `fake_pm3.py`): "open" when it opens
the device, "cmd <command>" per command, "sim <UID> <type>" when the device starts emulating, "quit" when it
exits normally.

Like the firmware, the device emulates until anything arrives from a client, or until the button is
pressed (`press_button`, which also makes the waiting `hf 14a sim` client print "Done" and exit): a client
killed by a signal sends nothing, so the card stays in the field until the next client talks to the
device (`hw break`, say). What a reader in front of the antenna sees goes to `world.card_uid`.

Knobs for tests: `responsive = False` (the device does not answer: "cannot communicate with the Proxmark3"),
`ignore_signals` (signal names the client ignores, e.g. {"INT"}), `hang_sim = True` (the sim command never
reaches the device, so the client never says the emulation runs).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

from ..world import World

FAKE_CLIENT = Path(__file__).with_name("fake_pm3.py")


class SimProxmark3:
    def __init__(self, world: World, host: str = "127.0.0.1") -> None:
        self.world = world
        self.host = host
        self.responsive = True
        self.ignore_signals: set[str] = set()
        self.hang_sim = False
        self.port = ""  # the fake device path, set by start()
        self.client_command: list[str] = []  # the `client` setting for the driver, set by start()
        self.commands: list[str] = []  # every command a client ran, in order
        self.emulating: str | None = None  # the UID the device emulates
        self.emulations: list[tuple[str, int]] = []  # (UID, type) of every emulation started
        self._server: asyncio.Server | None = None
        self._dir: str | None = None
        self._owner: asyncio.StreamWriter | None = None  # the client waiting on the running emulation
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def client(self) -> str:
        """`client_command` as one shell-quoted string (a bench config's `client:` setting)."""
        return shlex.join(self.client_command)

    async def start(self) -> None:
        """Create the device file and listen for the fake clients. Idempotent."""
        if self._server is not None:
            return
        self._dir = tempfile.mkdtemp(prefix="hil_sim_pm3_")
        device = Path(self._dir) / "ttyACM0"
        device.write_bytes(b"")
        self.port = str(device)
        self._server = await asyncio.start_server(self._serve, self.host, 0)
        address = self._server.sockets[0].getsockname()
        self.client_command = [sys.executable, str(FAKE_CLIENT), "--hil-sim", f"{address[0]}:{address[1]}"]

    async def stop(self) -> None:
        """Unplug the device: the card leaves, clients lose the device, the device file goes. Idempotent."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
            for writer in list(self._writers):
                writer.close()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 2.0)
        self._end_emulation()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def press_button(self) -> None:
        """The button on the device: the emulation ends and its client prints "Done" and exits."""
        owner = self._owner
        self._end_emulation()
        if owner is not None and not owner.is_closing():
            owner.write(b"aborted\n")

    # device ---------------------------------------------------------------------------------------

    def _end_emulation(self) -> None:
        self._owner = None
        if self.emulating is not None:
            self.emulating = None
            self.world.set("card_uid", None)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while line := (await reader.readline()).decode("utf-8", errors="replace").strip():
                verb, _, rest = line.partition(" ")
                if verb == "sim":
                    uid, _, sim_type = rest.partition(" ")
                    self.emulating = None if uid == "-" else uid
                    self._owner = writer
                    self.emulations.append((uid, int(sim_type)))
                    self.world.set("card_uid", self.emulating)
                    continue
                # anything else that reaches the device ends its emulation loop, as in the firmware
                self._end_emulation()
                if verb == "open":
                    config = {"responsive": self.responsive, "ignore_signals": sorted(self.ignore_signals),
                              "hang_sim": self.hang_sim}
                    writer.write(json.dumps(config).encode() + b"\n")
                    await writer.drain()
                elif verb == "cmd":
                    self.commands.append(rest)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            # a client that dies leaves the device as it was: still emulating
            if self._owner is writer:
                self._owner = None
            self._writers.discard(writer)
            writer.close()
