"""A simulated Tasmota or Shelly relay device: an MQTT client on a broker, its relays wired into the World.

Like the real device it connects to a broker (it serves nothing itself) and answers the topics its firmware
uses; see `drivers.relay.mqtt` for the three layouts. Each channel drives one boolean World field, named as
for the Modbus relay board (`mains` → world.mains_on, `network` → world.network_up, `cable`, `ev_side`,
`lock_failure`, any boolean World field, or `connector<N>.<field>`). Every read comes from the World at that
moment and every command goes straight into it.

Set `silent` to make the device stop answering (it stays connected and ignores every message, like a device
whose firmware hangs).
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from typing import Any

import aiomqtt

from ..world import World
from .modbus_gear import WorldSwitch, _check_loopback, resolve_switch

FLAVOURS = ("tasmota", "shelly_gen1", "shelly_gen2")
DEFAULT_MQTT_WIRING: dict[int, str] = {0: "mains", 1: "network"}
MAX_CHANNEL = 31

_POWER = re.compile(r"POWER(\d*)", re.IGNORECASE)


class SimMQTTRelay:
    """One simulated device named `device` (Tasmota topic, Shelly Gen1 id, or Shelly Gen2 topic prefix)."""

    def __init__(
        self,
        world: World,
        host: str,
        port: int,
        device: str,
        flavour: str = "tasmota",
        wiring: dict[int, str] | None = None,
        *,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        _check_loopback(host)
        if flavour not in FLAVOURS:
            raise ValueError(f"flavour must be one of {', '.join(FLAVOURS)}, not {flavour!r}")
        if not isinstance(device, str) or not device or any(c in device for c in "+#\0"):
            raise ValueError(f"device must be a non-empty topic part without '+' or '#', not {device!r}")
        wiring = DEFAULT_MQTT_WIRING if wiring is None else wiring
        if not wiring:
            raise ValueError("wiring must wire at least one channel")
        self.channels: dict[int, WorldSwitch] = {}
        for channel, name in wiring.items():
            if isinstance(channel, bool) or not isinstance(channel, int) or not 0 <= channel <= MAX_CHANNEL:
                raise ValueError(f"wiring: channel must be 0..{MAX_CHANNEL}, not {channel!r}")
            self.channels[channel] = resolve_switch(name, world)
        self.world = world
        self.host = host
        self.port = port
        self.device = device
        self.flavour = flavour
        self.username = username
        self.password = password
        self.silent = False
        self.client_id = f"sim-{flavour}-{secrets.token_hex(4)}"
        self._client: aiomqtt.Client | None = None
        self._reader: asyncio.Task[None] | None = None

    # -- lifecycle --------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect to the broker and subscribe; returns once the device answers. ConnectionError if it cannot."""
        if self._client is not None:
            return
        client = aiomqtt.Client(self.host, self.port, username=self.username, password=self.password,
                                identifier=self.client_id, timeout=5)
        try:
            await client.__aenter__()
        except aiomqtt.MqttError as exc:
            raise ConnectionError(f"simulated MQTT relay cannot connect to {self.host}:{self.port}: {exc}") from None
        try:
            await client.subscribe([(topic, 1) for topic in self._subscriptions()])
        except aiomqtt.MqttError:
            await client.__aexit__(None, None, None)
            raise
        self._client = client
        self._reader = asyncio.create_task(self._read(client), name=f"sim mqtt relay {self.device}")

    async def stop(self) -> None:
        """Disconnect. Safe to call twice."""
        reader, client = self._reader, self._client
        self._reader = self._client = None
        if reader is not None:
            reader.cancel()
            try:
                await reader
            except asyncio.CancelledError:
                pass
        if client is not None:
            try:
                await asyncio.wait_for(client.__aexit__(None, None, None), 5)
            except (aiomqtt.MqttError, asyncio.TimeoutError, OSError):
                pass

    async def __aenter__(self) -> SimMQTTRelay:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- messages ---------------------------------------------------------------------------------------

    def _subscriptions(self) -> list[str]:
        d = self.device
        if self.flavour == "tasmota":
            return [f"cmnd/{d}/+"]
        if self.flavour == "shelly_gen1":
            return [f"shellies/{d}/relay/+/command", f"shellies/{d}/command", "shellies/command"]
        return [f"{d}/rpc"]

    async def _read(self, client: aiomqtt.Client) -> None:
        try:
            async for message in client.messages:
                if self.silent or message.retain:
                    continue
                payload = message.payload if isinstance(message.payload, bytes) else str(message.payload).encode()
                try:
                    replies = self._handle(message.topic.value, payload)
                except (ValueError, KeyError, TypeError, AttributeError):
                    continue  # a malformed request: a real device would ignore it too
                for topic, reply in replies:
                    await client.publish(topic, reply)
        except aiomqtt.MqttError:
            pass  # the broker went away; the device is offline until started again

    def _handle(self, topic: str, payload: bytes) -> list[tuple[str, bytes]]:
        """What the device publishes in answer to one message."""
        if self.flavour == "tasmota":
            return self._tasmota(topic, payload)
        if self.flavour == "shelly_gen1":
            return self._shelly_gen1(topic, payload)
        return self._shelly_gen2(topic, payload)

    def _get(self, channel: int) -> bool:
        return self.channels[channel].get(self.world)

    def _switch(self, channel: int, command: str) -> None:
        """Apply on / off / toggle (any case) to a wired channel; anything else leaves it as it is."""
        word = command.strip().lower()
        if word in ("on", "1", "true"):
            self.channels[channel].set(self.world, True)
        elif word in ("off", "0", "false"):
            self.channels[channel].set(self.world, False)
        elif word in ("toggle", "2"):
            self.channels[channel].set(self.world, not self._get(channel))

    # Tasmota: cmnd/<topic>/POWER<n> → stat/<topic>/RESULT {"POWER<n>":"ON"} and stat/<topic>/POWER<n> ON.
    # A device with a single relay calls it POWER in its answers, whatever index the command used.
    def _tasmota(self, topic: str, payload: bytes) -> list[tuple[str, bytes]]:
        command = topic.rsplit("/", 1)[-1]
        match = _POWER.fullmatch(command)
        if match is None:
            return []  # other commands (Status, State, …) are not simulated
        index = int(match.group(1) or 1)
        channel = index - 1
        if channel not in self.channels:
            return [(f"stat/{self.device}/RESULT", b'{"Command":"Unknown"}')]
        text = payload.decode("utf-8", "replace")
        if text.strip():
            self._switch(channel, text)
        key = "POWER" if len(self.channels) == 1 else f"POWER{index}"
        state = b"ON" if self._get(channel) else b"OFF"
        return [
            (f"stat/{self.device}/RESULT", json.dumps({key: state.decode()}).encode()),
            (f"stat/{self.device}/{key}", state),
        ]

    # Shelly Gen1: shellies/<id>/relay/<ch>/command on|off|toggle → shellies/<id>/relay/<ch> on|off;
    # "update" on shellies/<id>/command (or shellies/command) → every relay's state.
    def _shelly_gen1(self, topic: str, payload: bytes) -> list[tuple[str, bytes]]:
        text = payload.decode("utf-8", "replace").strip()
        if topic in (f"shellies/{self.device}/command", "shellies/command"):
            if text == "update":
                return [self._gen1_state(channel) for channel in sorted(self.channels)]
            if text == "announce":
                info = {"id": self.device, "model": "SHSW-25", "mac": "000000000000", "ip": "127.0.0.1",
                        "new_fw": False, "fw_ver": "sim"}
                return [("shellies/announce", json.dumps(info).encode())]
            return []
        parts = topic.split("/")
        channel = int(parts[-2])
        if channel not in self.channels:
            return []
        self._switch(channel, text)
        return [self._gen1_state(channel)]

    def _gen1_state(self, channel: int) -> tuple[str, bytes]:
        return f"shellies/{self.device}/relay/{channel}", b"on" if self._get(channel) else b"off"

    # Shelly Gen2: JSON-RPC on <prefix>/rpc, answered on <src>/rpc; changes notified on <prefix>/status/switch:<id>.
    def _shelly_gen2(self, topic: str, payload: bytes) -> list[tuple[str, bytes]]:
        request = json.loads(payload)
        src = request.get("src")
        if not isinstance(src, str) or not src:
            return []  # a Gen2 device drops a request it cannot answer
        method = request.get("method")
        params = request.get("params") or {}
        replies: list[tuple[str, bytes]] = []
        result: Any = None
        error: dict[str, Any] | None = None
        if method in ("Switch.Set", "Switch.Toggle", "Switch.GetStatus"):
            channel = params.get("id")
            if channel not in self.channels or isinstance(channel, bool):
                error = {"code": -105, "message": f"Argument 'id', value {channel} not found!"}
            elif method == "Switch.GetStatus":
                result = self._gen2_status(channel)
            elif method == "Switch.Set" and not isinstance(params.get("on"), bool):
                error = {"code": -103, "message": "Missing required argument 'on'!"}
            else:
                was_on = self._get(channel)
                self._switch(channel, "toggle" if method == "Switch.Toggle" else str(params["on"]))
                result = {"was_on": was_on}
                if self._get(channel) != was_on:
                    replies.append((f"{self.device}/status/switch:{channel}",
                                    json.dumps(self._gen2_status(channel)).encode()))
        elif method == "Shelly.GetDeviceInfo":
            result = {"id": self.device, "mac": "000000000000", "model": "SNSW-102P16EU", "gen": 2,
                      "fw_id": "sim", "ver": "sim", "app": "Plus2PM"}
        else:
            error = {"code": 404, "message": f"No handler for {method}"}
        answer: dict[str, Any] = {"id": request.get("id"), "src": self.device, "dst": src}
        if error is not None:
            answer["error"] = error
        else:
            answer["result"] = result
        return [(f"{src}/rpc", json.dumps(answer).encode())] + replies

    def _gen2_status(self, channel: int) -> dict[str, Any]:
        return {"id": channel, "source": "MQTT", "output": self._get(channel)}
