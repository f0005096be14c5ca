"""Software gear over MQTT: each action is a publish declared in the bench config (aiomqtt, any broker).

An action publishes a payload template (text, or a JSON mapping) on a topic template, retained or not, at a
QoS. A read-back names a state topic and, for each field, a JSON path into its payload (the empty path: the
payload as text). The driver subscribes to the state topics when it connects and keeps the last message of
each, retained ones included: a firmware that publishes its state retained is read at once. A read-back that
declares a `request` publishes it and waits for a message newer than the request; one without takes the
last message, waiting up to the timeout for a first one.

A lost broker is noticed by the reader; the next action connects again. A publish that fails is tried `retries`
more times (drivers/retry.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import aiomqtt

from ..errors import DriverError
from ..retry import RetryPolicy
from .roles import SoftCardPresenter, SoftEVEmulator, SoftGear, SoftMeter, SoftOutput
from .settings import MqttEvSettings, MqttGearSettings, MqttOutputSettings
from .template import TemplateError, pick, render, render_payload


@dataclass(frozen=True)
class Publish:
    topic: str
    payload: str | None = None  # a text template
    json: Any = None  # a JSON template (a mapping), instead of payload
    retain: bool = False
    qos: int = 1

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> "Publish":
        return cls(**{k: v for k, v in raw.items() if k in ("topic", "payload", "json", "retain", "qos")
                      and v is not None})


@dataclass(frozen=True)
class StateRead:
    topic: str  # rendered with the common values only: it is subscribed before any action runs
    fields: dict[str, str]
    request: Publish | None = None
    timeout_s: float | None = None


class MQTTActions:
    """The declared publishes and state topics of one role, on one broker connection."""

    def __init__(self, settings: MqttGearSettings, common: Mapping[str, Any],
                 fail: Callable[[str], DriverError]) -> None:
        port = settings.port  # a `${sim...}` reference is resolved by now: anything but a number is a mistake
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise ValueError(f"port must be 1..65535, not {port!r}")
        self.host, self.port = settings.host, port
        self.address = f"mqtt://{self.host}:{self.port}"
        self.publishes: dict[str, Publish] = {}
        self.reads: dict[str, StateRead] = {}
        for name, raw in settings.actions.items():
            if raw is None:
                continue
            if raw.get("fields") is not None:
                request = raw.get("request")
                self.reads[name] = StateRead(render(raw["topic"], common), dict(raw["fields"]),
                                             Publish.of(request) if request else None, raw.get("timeout_s"))
            else:
                self.publishes[name] = Publish.of(raw)
        self.policy = RetryPolicy(settings.timeout_s, settings.retries)
        self.timeout_s = self.policy.timeout_s
        self.username, self.password = settings.username, settings.password
        self._fail = fail
        self._client: aiomqtt.Client | None = None
        self._reader: asyncio.Task[None] | None = None
        self._last: dict[str, tuple[int, bytes]] = {}  # topic -> (sequence number, payload)
        self._seq = 0
        self._news = asyncio.Condition()
        self._lock = asyncio.Lock()

    def has(self, action: str) -> bool:
        return action in self.publishes or action in self.reads

    @property
    def connected(self) -> bool:
        return self._client is not None and self._reader is not None and not self._reader.done()

    async def open(self) -> None:
        async with self._lock:
            await self._open()

    async def _open(self) -> None:
        if self.connected:
            return
        await self._drop()
        client = aiomqtt.Client(self.host, self.port, username=self.username, password=self.password,
                                identifier=f"benchctl-gear-{secrets.token_hex(6)}", timeout=self.timeout_s,
                                keepalive=max(5, int(self.timeout_s * 10)))
        try:
            await client.__aenter__()
            topics = sorted({read.topic for read in self.reads.values()})
            if topics:
                await client.subscribe([(t, 1) for t in topics], timeout=self.timeout_s)
        except aiomqtt.MqttError as exc:
            raise self._fail(f"cannot reach the MQTT broker {self.host}:{self.port}: {exc}") from None
        self._client = client
        self._reader = asyncio.create_task(self._read(client), name=f"software gear reader {self.address}")

    async def close(self) -> None:
        async with self._lock:
            await self._drop()

    async def _drop(self) -> None:
        reader, client = self._reader, self._client
        self._reader = self._client = None
        if reader is not None:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        if client is not None:
            # a broker already gone cannot be said goodbye to: closing is done either way
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError, OSError):
                async with asyncio.timeout(self.timeout_s):
                    await client.__aexit__(None, None, None)
            # a lost connection leaves its reason in aiomqtt's disconnect future; when the reader was cancelled
            # before it saw it, nobody would, and asyncio would log "Future exception was never retrieved"
            lost = getattr(client, "_disconnected", None)
            if isinstance(lost, asyncio.Future) and lost.done() and not lost.cancelled():
                lost.exception()

    async def _read(self, client: aiomqtt.Client) -> None:
        try:
            async for message in client.messages:
                payload = message.payload if isinstance(message.payload, bytes) else str(message.payload).encode()
                async with self._news:
                    self._seq += 1
                    self._last[message.topic.value] = (self._seq, payload)
                    self._news.notify_all()
        except aiomqtt.MqttError:
            pass  # connected turns False; the next action connects again

    async def _publish(self, publish: Publish, values: Mapping[str, Any]) -> str:
        topic = render(publish.topic, values)
        payload = render_payload(publish.json if publish.json is not None else publish.payload, values)
        reason = ""
        for _ in range(self.policy.tries):
            try:
                async with self._lock:
                    await self._open()
                    assert self._client is not None
                    await self._client.publish(topic, payload, qos=publish.qos, retain=publish.retain,
                                               timeout=self.timeout_s)
                return topic
            except aiomqtt.MqttError as exc:
                reason = str(exc) or type(exc).__name__
                async with self._lock:
                    await self._drop()
        raise self._fail(f"publish on {topic} failed after {self.policy.describe()}: {reason}")

    async def perform(self, action: str, values: Mapping[str, Any]) -> None:
        await self._publish(self.publishes[action], values)

    async def read(self, action: str, values: Mapping[str, Any]) -> dict[str, Any]:
        state = self.reads[action]
        timeout = state.timeout_s if state.timeout_s is not None else self.timeout_s
        await self.open()
        after = 0
        if state.request is not None:
            async with self._news:
                after = self._seq
            await self._publish(state.request, values)
        try:
            async with asyncio.timeout(timeout):
                async with self._news:
                    await self._news.wait_for(lambda: self._last.get(state.topic, (0, b""))[0] > after)
        except TimeoutError:
            raise self._fail(f"no {'answer' if state.request else 'message'} on {state.topic} within "
                             f"{timeout:g} s") from None
        payload = self._last[state.topic][1]
        return {name: self._field(state.topic, payload, name, path) for name, path in state.fields.items()}

    def _field(self, topic: str, payload: bytes, name: str, path: str) -> Any:
        text = payload.decode("utf-8", "replace")
        if not path:
            return text.strip()
        try:
            return pick(json.loads(text), path)
        except ValueError as exc:  # TemplateError is one too
            detail = str(exc) if isinstance(exc, TemplateError) else f"the payload is not JSON: {text[:200]}"
            raise self._fail(f"{topic}: field {name}: {detail}") from None


class MQTTGear(SoftGear):
    """What every MQTT software-gear driver takes (MqttGearSettings); a role's own settings go to `configure`."""

    backend = "MQTT"
    transport_name = "mqtt"
    on_lost = "whatever the firmware's simulation API does without its client: usually it keeps its last state."

    @classmethod
    def make_transport(cls, role: str, settings: Any, fail: Callable[[str], DriverError]) -> MQTTActions:
        return MQTTActions(settings, {"connector_id": settings.connector_id, "role": role}, fail)


class MQTTEVEmulator(MQTTGear, SoftEVEmulator):
    """An EV emulator simulated by the firmware's hardware layer, over MQTT."""

    settings = MqttEvSettings
    summary = "software gear: ev actions as MQTT publishes declared in the bench config"


class MQTTCardPresenter(MQTTGear, SoftCardPresenter):
    """A card in front of the simulated reader, over MQTT."""

    settings = MqttGearSettings
    summary = "software gear: card actions as MQTT publishes declared in the bench config"


class MQTTOutput(MQTTGear, SoftOutput):
    """A switch of the simulated hardware (mains, network, cable, a fault...), over MQTT."""

    settings = MqttOutputSettings
    summary = "software gear: switch actions as MQTT publishes declared in the bench config"


class MQTTMeter(MQTTGear, SoftMeter):
    """The reference meter's reading, from an MQTT state topic."""

    settings = MqttGearSettings
    summary = "software gear: meter actions as MQTT publishes declared in the bench config"
