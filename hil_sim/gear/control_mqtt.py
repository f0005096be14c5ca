"""The simulated hardware as a firmware's hardware layer simulated over MQTT: an MQTT client on a broker
(it serves nothing itself), taking commands and publishing its state under a topic prefix.

Commands (payload text; a flag is 1/0, true/false or on/off):

    <prefix>/connector/<cid>/ev/plugged/set       the EV side plugged in or not
    <prefix>/connector/<cid>/ev/state/set         A..F
    <prefix>/connector/<cid>/ev/diode_fault/set
    <prefix>/connector/<cid>/ev/pp_rating/set     13, 20, 32, 63
    <prefix>/reader/card/set                      a UID in hex, empty: no card
    <prefix>/switch/<name>/set                    ON / OFF (mains, network, cable, ground_fault, ...)

State, published retained on every change of the World:

    <prefix>/connector/<cid>/cp      JSON {"state", "duty_pct", "high_v", "low_v", "frequency_hz", ...}
    <prefix>/switch/<name>           ON / OFF
    <prefix>/reader/card             the UID, empty without a card

and the reference meter on request: a message on `<prefix>/connector/<cid>/meter/get` is answered (not retained)
with JSON on `<prefix>/connector/<cid>/meter`. A command it cannot take is ignored, as hardware would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from typing import Any

import aiomqtt

from ..world import World
from .control import ControlError, ControlPanel
from .modbus_gear import _check_loopback


class MQTTControl:
    def __init__(self, world: World, host: str, port: int = 1883, prefix: str = "hil_sim") -> None:
        _check_loopback(host)
        if not prefix or any(c in prefix for c in "+#\0") or prefix.startswith("/") or prefix.endswith("/"):
            raise ValueError(f"prefix {prefix!r} is not usable as an MQTT topic prefix")
        self.panel = ControlPanel(world)
        self.world = world
        self.host, self.port, self.prefix = host, port, prefix
        self.commands = 0  # how many commands it took (tests see the gear was driven through it)
        self._client: aiomqtt.Client | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._changed = asyncio.Event()
        self._published: dict[str, bytes] = {}

    async def start(self) -> None:
        client = aiomqtt.Client(self.host, self.port, identifier=f"hil-sim-control-{secrets.token_hex(4)}",
                                timeout=5)
        try:
            await client.__aenter__()
            await client.subscribe([(f"{self.prefix}/+/+/+/+/set", 1), (f"{self.prefix}/+/+/set", 1),
                                    (f"{self.prefix}/connector/+/meter/get", 1)])
        except aiomqtt.MqttError as exc:
            raise ConnectionError(f"hil_sim MQTT control cannot use the broker {self.host}:{self.port}: "
                                  f"{exc}") from None
        self._client = client
        self.world.subscribe(self._on_change)
        await self._publish_state(client)
        self._tasks = [asyncio.create_task(self._read(client), name="hil_sim mqtt control"),
                       asyncio.create_task(self._publisher(client), name="hil_sim mqtt state")]

    async def stop(self) -> None:
        self.world.unsubscribe(self._on_change)
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError, OSError):
                await asyncio.wait_for(client.__aexit__(None, None, None), 5)

    def _on_change(self, name: str, value: Any) -> None:
        self._changed.set()

    def state(self) -> dict[str, bytes]:
        """Every state topic with its payload now."""
        p = self.panel
        out = {f"{self.prefix}/reader/card": (self.world.card_uid or "").encode()}
        for cid in range(1, len(self.world.connectors) + 1):
            out[f"{self.prefix}/connector/{cid}/cp"] = json.dumps(p.cp(cid)).encode()
        for name, on in p.switches().items():
            out[f"{self.prefix}/switch/{name}"] = b"ON" if on else b"OFF"
        return out

    async def _publish_state(self, client: aiomqtt.Client) -> None:
        for topic, payload in self.state().items():
            if self._published.get(topic) != payload:
                await client.publish(topic, payload, qos=1, retain=True)
                self._published[topic] = payload

    async def _publisher(self, client: aiomqtt.Client) -> None:
        with contextlib.suppress(aiomqtt.MqttError):
            while True:
                await self._changed.wait()
                self._changed.clear()
                await self._publish_state(client)

    async def _read(self, client: aiomqtt.Client) -> None:
        with contextlib.suppress(aiomqtt.MqttError):
            async for message in client.messages:
                payload = message.payload if isinstance(message.payload, bytes) else str(message.payload).encode()
                topic = message.topic.value[len(self.prefix) + 1:].split("/")
                try:
                    await self._handle(client, topic, payload.decode("utf-8", "replace").strip())
                except ControlError:
                    continue

    async def _handle(self, client: aiomqtt.Client, topic: list[str], text: str) -> None:
        p = self.panel
        if topic[0] == "connector" and topic[2:] == ["meter", "get"]:
            await client.publish(f"{self.prefix}/connector/{topic[1]}/meter", json.dumps(p.meter(topic[1])), qos=1)
            return
        self.commands += 1
        if topic[0] == "connector" and len(topic) == 5 and topic[2] == "ev":
            setter = {"plugged": p.set_plugged, "state": p.set_cp_state, "diode_fault": p.set_diode_fault,
                      "pp_rating": p.set_pp_rating}.get(topic[3])
            if setter is None:
                raise ControlError(f"unknown EV command {topic[3]!r}")
            setter(topic[1], text.upper() if topic[3] == "state" else text)
        elif topic[:2] == ["reader", "card"]:
            p.set_card(text)
        elif topic[0] == "switch" and len(topic) == 3:
            p.set_switch(topic[1], text)
        else:
            raise ControlError(f"unknown command topic {'/'.join(topic)}")
