"""One relay channel of a Tasmota or Shelly device, switched over MQTT through a broker (aiomqtt).

Three flavours of topic layout, each as the device's firmware documents it (default settings):

- `tasmota`: command `cmnd/<topic>/POWER<n>` (n = channel + 1) with `ON` / `OFF`, an empty payload asks
  for the state; the answer comes on `stat/<topic>/RESULT` as JSON (`{"POWER1":"ON"}`) and, unless
  SetOption4 changed it, also as plain text on `stat/<topic>/POWER<n>`. A device with a single relay names
  it `POWER`, not `POWER1`, in its answers; both are accepted for channel 0. The default FullTopic
  (`%prefix%/%topic%/`) is assumed.
- `shelly_gen1`: command `shellies/<id>/relay/<ch>/command` with `on` / `off`, state on
  `shellies/<id>/relay/<ch>` (`on`, `off`, or `overpower` which is off); `update` on `shellies/<id>/command`
  makes the device publish its state.
- `shelly_gen2` (Plus / Pro): JSON-RPC over MQTT. Requests go to `<prefix>/rpc` as
  `{"id": .., "src": <our client id>, "method": "Switch.Set", "params": {"id": ch, "on": true}}` and the
  answer comes on `<src>/rpc`; `Switch.GetStatus` reads the output. A change is also notified on
  `<prefix>/status/switch:<ch>` (when status notifications are on), which confirms a set as well.

`set` publishes the command and waits for the device to report the new state; `get` asks and waits for the
answer. Each try waits `timeout_s`; `retries` more tries follow one without the expected report
(drivers/retry.py), then the driver raises a DriverError. Retained messages are never taken as an answer: the
broker replays them on subscription, so they describe some earlier moment, not the device now. Commands are
never published retained either (a retained command would switch the relay again each time the device
reconnects).

One aiomqtt client per driver, connected on first use (or by `connect`); a background task reads its
messages and hands them to whoever waits for them. A lost broker ends the current try early; the next try
connects again.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..errors import MissingExtraError
from ..retry import RetryPolicy
from ..safety import level as _level
from ..safety import logical_level, wire_level
from ..steplog import StepLog, step
from .protocol import DigitalOutputProtocol
from .settings import MqttRelaySettings

try:
    import aiomqtt
    from aiomqtt.exceptions import MqttConnectError
except ImportError as exc:  # pragma: no cover - only without the extra
    raise MissingExtraError("aiomqtt", "mqtt") from exc

FLAVOURS = ("tasmota", "shelly_gen1", "shelly_gen2")
MAX_CHANNEL = 31  # Tasmota has POWER1..POWER32; Shelly devices have at most a handful

_ON_WORDS = {"ON", "1", "TRUE"}
_OFF_WORDS = {"OFF", "0", "FALSE", "OVERPOWER"}  # a Shelly Gen1 relay switched off by its protection


@dataclass(frozen=True)
class _RpcError:
    """A Shelly Gen2 RPC answer carrying an error: the device refused, retrying would not help."""

    method: str
    code: Any
    message: str


class _ConnectionLost(Exception):
    """The broker connection ended while a try was waiting."""


# A matcher looks at one (topic, payload) and returns what the waiter wants, or None to keep waiting.
Matcher = Callable[[str, bytes], Any]
Request = Callable[[], tuple[str, bytes]]  # called once per try (a Gen2 request needs a fresh id)


def _on_off(payload: bytes | str) -> bool | None:
    text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
    word = text.strip().upper()
    if word in _ON_WORDS:
        return True
    if word in _OFF_WORDS:
        return False
    return None


def _json(payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except ValueError:
        return None


def _check_topic_part(name: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string, not {value!r}")
    if any(c in value for c in "+#\0") or value.startswith("/") or value.endswith("/"):
        raise ValueError(f"{name} {value!r} is not usable in an MQTT topic (no '+', '#', or leading/trailing '/')")
    return value


class MQTTOutput(DigitalOutputProtocol):
    """`set(True)` energises the output at the logical level: the relay is switched `level != invert`."""

    backend = "MQTT"
    kind = "digital_output"
    settings = MqttRelaySettings
    summary = "one relay channel of a Tasmota or Shelly device over MQTT"
    on_lost = (
        "Tasmota and Shelly keep their state; set Tasmota `PulseTime` or a Shelly auto-off/auto-on timer if a "
        "lost controller must not leave a relay energised."
    )

    def __init__(self, role: str, settings: MqttRelaySettings, *, steplog: StepLog | None = None) -> None:
        if settings.flavour not in FLAVOURS:
            raise ValueError(f"flavour must be one of {', '.join(FLAVOURS)}, not {settings.flavour!r}")
        channel = settings.channel
        if isinstance(channel, bool) or not isinstance(channel, int) or not 0 <= channel <= MAX_CHANNEL:
            raise ValueError(f"channel must be 0..{MAX_CHANNEL}, not {settings.channel!r}")
        _check_topic_part("device", settings.device)
        label = {"tasmota": f"POWER{settings.channel + 1}", "shelly_gen1": f"relay {settings.channel}",
                 "shelly_gen2": f"switch:{settings.channel}"}[settings.flavour]
        super().__init__(role, f"{settings.host}:{settings.port} {settings.flavour}/{settings.device} {label}", steplog)
        if not isinstance(settings.host, str) or not settings.host:
            raise ValueError("host must not be empty")
        if isinstance(settings.port, bool) or not isinstance(settings.port, int) or not 1 <= settings.port <= 65535:
            raise ValueError(f"port must be 1..65535, not {settings.port!r}")
        self.policy = RetryPolicy(settings.timeout_s, settings.retries)
        if settings.password is not None and settings.username is None:
            raise ValueError("password given without username")
        if settings.tls_ca is not None and not Path(settings.tls_ca).is_file():
            raise ValueError(f"tls_ca: no such file {settings.tls_ca!r}")
        self.host = settings.host
        self.port = settings.port
        self.device = settings.device
        self.channel = settings.channel
        self.flavour = settings.flavour
        self.username = settings.username
        self.password = settings.password
        self.tls_ca = settings.tls_ca
        self.invert = _level("invert", settings.invert)
        # safe_level is a logical level, like set(): the config says "mains on when safe", whatever the wiring
        self.safe_level = _level("safe_level", settings.safe_level)
        self.timeout_s = float(settings.timeout_s)
        # the MQTT client id, and for Shelly Gen2 the RPC `src` (answers come back on `<src>/rpc`)
        self.client_id = f"benchctl-{secrets.token_hex(6)}"
        self._client: aiomqtt.Client | None = None
        self._reader: asyncio.Task[None] | None = None
        self._waiters: list[tuple[Matcher, asyncio.Future[Any]]] = []
        self._rpc_id = 0
        self._pending_rpc: tuple[int, str] = (0, "")  # (id, method) of the Gen2 request of the current try
        # one exchange at a time: a retry reconnects, which must not pull the client from under another call
        self._lock = asyncio.Lock()

    # -- driver interface -------------------------------------------------------------------------------

    @step
    async def connect(self) -> None:
        async with self._lock:
            reason = ""
            for _ in range(self.policy.tries):
                try:
                    await self._open()
                    return
                except _Unreachable as exc:
                    reason = str(exc)
            raise self._cannot_connect(reason)

    @step
    async def close(self) -> None:
        async with self._lock:
            await self._drop()

    @step
    async def set(self, level: bool) -> None:
        raw = wire_level(level, self.invert)
        await self._exchange(self._set_request(raw), self._set_matcher(raw), "no confirmation")

    @step
    async def get(self) -> bool:
        return logical_level(await self._read_raw(), self.invert)

    @step
    async def safe_state(self) -> None:
        await self.set(self.safe_level)

    @step
    async def self_test(self) -> dict[str, Any]:
        raw = await self._read_raw()
        return {"flavour": self.flavour, "device": self.device, "channel": self.channel, "raw": raw,
                "level": logical_level(raw, self.invert), "invert": self.invert}

    async def _read_raw(self) -> bool:
        return bool(await self._exchange(self._get_request(), self._get_matcher(), "no answer"))

    # -- topics and payloads per flavour ----------------------------------------------------------------

    def _subscriptions(self) -> list[str]:
        d, ch = self.device, self.channel
        if self.flavour == "tasmota":
            return [f"stat/{d}/RESULT"] + [f"stat/{d}/{key}" for key in self._tasmota_keys()]
        if self.flavour == "shelly_gen1":
            return [f"shellies/{d}/relay/{ch}"]
        return [f"{self.client_id}/rpc", f"{d}/status/switch:{ch}"]

    def _tasmota_keys(self) -> list[str]:
        n = self.channel + 1
        return [f"POWER{n}", "POWER"] if n == 1 else [f"POWER{n}"]

    def _rpc(self, method: str, params: dict[str, Any]) -> Request:
        def request() -> tuple[str, bytes]:
            self._rpc_id += 1
            self._pending_rpc = (self._rpc_id, method)
            body = {"id": self._rpc_id, "src": self.client_id, "method": method, "params": params}
            return f"{self.device}/rpc", json.dumps(body).encode()

        return request

    def _set_request(self, raw: bool) -> Request:
        if self.flavour == "tasmota":
            return lambda: (f"cmnd/{self.device}/POWER{self.channel + 1}", b"ON" if raw else b"OFF")
        if self.flavour == "shelly_gen1":
            return lambda: (f"shellies/{self.device}/relay/{self.channel}/command", b"on" if raw else b"off")
        return self._rpc("Switch.Set", {"id": self.channel, "on": raw})

    def _get_request(self) -> Request:
        if self.flavour == "tasmota":
            return lambda: (f"cmnd/{self.device}/POWER{self.channel + 1}", b"")  # empty payload: a query
        if self.flavour == "shelly_gen1":
            return lambda: (f"shellies/{self.device}/command", b"update")
        return self._rpc("Switch.GetStatus", {"id": self.channel})

    def _state_in(self, topic: str, payload: bytes) -> bool | None:
        """The relay state a device report carries, or None when the message says nothing about our channel."""
        d = self.device
        if self.flavour == "tasmota":
            if topic == f"stat/{d}/RESULT":
                report = _json(payload)
                if isinstance(report, dict):
                    for key in self._tasmota_keys():
                        if isinstance(report.get(key), str):
                            return _on_off(report[key])
                return None
            if topic in (f"stat/{d}/{key}" for key in self._tasmota_keys()):
                return _on_off(payload)
            return None
        if self.flavour == "shelly_gen1":
            return _on_off(payload) if topic == f"shellies/{d}/relay/{self.channel}" else None
        if topic == f"{d}/status/switch:{self.channel}":
            status = _json(payload)
            if isinstance(status, dict) and isinstance(status.get("output"), bool):
                return status["output"]
        return None

    def _rpc_answer(self, topic: str, payload: bytes) -> Any:
        """The result of our pending Gen2 request, an _RpcError, or None when this is not its answer."""
        if topic != f"{self.client_id}/rpc":
            return None
        answer = _json(payload)
        rpc_id, method = self._pending_rpc
        if not isinstance(answer, dict) or answer.get("id") != rpc_id:
            return None  # an answer to an abandoned try
        if "error" in answer:
            error = answer["error"] if isinstance(answer["error"], dict) else {}
            return _RpcError(method, error.get("code"), str(error.get("message", answer["error"])))
        return answer.get("result", {})

    def _set_matcher(self, raw: bool) -> Matcher:
        def match(topic: str, payload: bytes) -> Any:
            if self.flavour == "shelly_gen2":
                answer = self._rpc_answer(topic, payload)
                if answer is not None:
                    return answer if isinstance(answer, _RpcError) else True
            # a report of the other state may be an older message still on its way: keep waiting
            return True if self._state_in(topic, payload) is raw else None

        return match

    def _get_matcher(self) -> Matcher:
        def match(topic: str, payload: bytes) -> Any:
            if self.flavour != "shelly_gen2":
                return self._state_in(topic, payload)
            answer = self._rpc_answer(topic, payload)
            if answer is None or isinstance(answer, _RpcError):
                return answer
            output = answer.get("output") if isinstance(answer, dict) else None
            if not isinstance(output, bool):
                return _RpcError("Switch.GetStatus", None, f"answer has no boolean 'output': {answer!r}")
            return output

        return match

    # -- the exchange: publish, wait for the matching message, retry ------------------------------------

    async def _exchange(self, request: Request, match: Matcher, failure: str) -> Any:
        async with self._lock:
            unreachable: str | None = None  # why the last try could not even reach the broker
            loop = asyncio.get_running_loop()
            for _ in range(self.policy.tries):
                try:
                    await self._open()
                except _Unreachable as exc:
                    unreachable = str(exc)
                    continue
                unreachable = None
                assert self._client is not None
                future: asyncio.Future[Any] = loop.create_future()
                waiter = (match, future)
                self._waiters.append(waiter)  # before publishing: the answer may come back at once
                lost = False
                try:
                    async with asyncio.timeout(self.timeout_s):
                        topic, payload = request()
                        await self._client.publish(topic, payload, qos=1, timeout=self.timeout_s)
                        answer = await future
                except TimeoutError:
                    continue
                except (aiomqtt.MqttError, _ConnectionLost):
                    lost = True
                    continue
                finally:
                    self._waiters.remove(waiter)
                    if lost:
                        await self._drop()  # the next try connects again
                if isinstance(answer, _RpcError):
                    code = "" if answer.code is None else f" (code {answer.code})"
                    raise self.error(f"{answer.method} failed on the device: {answer.message}{code}")
                return answer
            if unreachable is not None:
                raise self._cannot_connect(unreachable)
            raise self.error(f"{failure} after {self.policy.describe()}")

    def _dispatch(self, topic: str, payload: bytes) -> None:
        for match, future in list(self._waiters):
            if future.done():
                continue
            try:
                answer = match(topic, payload)
            except Exception:  # a malformed message must not kill the reader
                continue
            if answer is not None:
                future.set_result(answer)

    async def _read(self, client: aiomqtt.Client) -> None:
        try:
            async for message in client.messages:
                if message.retain:
                    continue  # replayed by the broker on subscription: an old state, not an answer
                payload = message.payload if isinstance(message.payload, bytes) else str(message.payload).encode()
                self._dispatch(message.topic.value, payload)
        except aiomqtt.MqttError:
            pass
        finally:
            for _, future in self._waiters:
                if not future.done():
                    future.set_exception(_ConnectionLost())

    # -- connection -------------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._client is not None and self._reader is not None and not self._reader.done()

    def _cannot_connect(self, reason: str) -> Exception:
        detail = f" ({reason})" if reason else ""
        return self.error(f"cannot connect to MQTT broker {self.host}:{self.port} after "
                          f"{self.policy.describe()}{detail}")

    async def _open(self) -> None:
        """Connect and subscribe unless connected. _Unreachable for a retryable failure, DriverError when the
        broker refuses us (bad credentials): trying again would not help."""
        if self.connected:
            return
        await self._drop()
        tls = aiomqtt.TLSParameters(ca_certs=self.tls_ca) if self.tls_ca else None
        client = aiomqtt.Client(
            self.host,
            self.port,
            username=self.username,
            password=self.password,
            identifier=self.client_id,
            timeout=self.timeout_s,  # CONNACK, SUBACK, PUBACK
            keepalive=max(5, int(self.timeout_s * 10)),
            tls_params=tls,
        )
        # aiomqtt has no setting for the TCP connect timeout (paho's default is 5 s); bound it like every I/O
        paho = getattr(client, "_client", None)
        if paho is not None and hasattr(type(paho), "connect_timeout"):
            paho.connect_timeout = self.timeout_s
        try:
            await client.__aenter__()
        except MqttConnectError as exc:
            rc = exc.rc
            raise self.error(
                f"MQTT broker {self.host}:{self.port} refused the connection: {rc} (check username and password)"
            ) from None
        except aiomqtt.MqttError as exc:
            raise _Unreachable(str(exc) or type(exc).__name__) from None
        try:
            await client.subscribe([(topic, 1) for topic in self._subscriptions()], timeout=self.timeout_s)
        except aiomqtt.MqttError as exc:
            await self._close_client(client)
            raise _Unreachable(f"subscribe failed: {exc}") from None
        self._client = client
        self._reader = asyncio.create_task(self._read(client), name=f"mqtt reader {self.role}")

    async def _drop(self) -> None:
        reader, client = self._reader, self._client
        self._reader = self._client = None
        if reader is not None:
            reader.cancel()
            try:
                await reader
            except asyncio.CancelledError:
                pass
        if client is not None:
            await self._close_client(client)

    async def _close_client(self, client: aiomqtt.Client) -> None:
        try:
            async with asyncio.timeout(self.timeout_s):
                await client.__aexit__(None, None, None)
        except (aiomqtt.MqttError, TimeoutError, OSError):
            pass


class _Unreachable(Exception):
    """The broker could not be reached (or the session could not be set up); worth another try."""
