"""How fleet clients reach the broker: URL, credentials, TLS, topic prefix, and one connection (aiomqtt 2.x).

Settings come from the command line and/or a small YAML file (`--fleet-config`):

    broker:
      url: mqtts://broker.lab:8883      # mqtt:// (plain, port 1883) or mqtts:// (TLS, port 8883)
      username: bench-a
      password_file: /etc/benchctl/broker-password   # or BENCHCTL_BROKER_PASSWORD in the environment
      ca_file: /etc/benchctl/lab-ca.crt              # the CA that signed the broker's certificate
      cert_file: /etc/benchctl/bench-a.crt           # a client certificate, when the broker wants one
      key_file: /etc/benchctl/bench-a.key
      prefix: benchctl/
      keepalive_s: 15

Command-line options override the file. A password is never taken from the URL or the command line: both are
visible to every user of the machine (ps, shell history).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

import aiomqtt
from aiomqtt.exceptions import MqttCodeError, MqttConnectError

from benchctl.config import ConfigError, MarkedDoc, load_marked
from benchctl.config.schema import Field, Schema, validate

from .ledger import Ledger
from .topics import DEFAULT_PREFIX, Topics, check_prefix

log = logging.getLogger("benchctl.fleet")

PASSWORD_ENV = "BENCHCTL_BROKER_PASSWORD"
EXIT_BROKER = 6  # the broker cannot be reached, or refused us
DEFAULT_KEEPALIVE_S = 15
SYNC_TIMEOUT_S = 10.0


def _readable_file(value: str) -> str | None:
    return None if Path(value).expanduser().is_file() else f"no such file {value!r}"


BROKER_SCHEMA = Schema({
    "url": Field(str, help="mqtt://host[:port] or mqtts://host[:port]"),
    "username": Field(str),
    "password": Field(str, help="prefer password_file: a config file is easily shared"),
    "password_file": Field(str, check=_readable_file),
    "ca_file": Field(str, check=_readable_file),
    "cert_file": Field(str, check=_readable_file),
    "key_file": Field(str, check=_readable_file),
    "prefix": Field(str, default=DEFAULT_PREFIX),
    "keepalive_s": Field(int, default=DEFAULT_KEEPALIVE_S, minimum=2, maximum=3600),
})
FLEET_SCHEMA = Schema({"broker": BROKER_SCHEMA})


class BrokerError(Exception):
    """The broker could not be reached, or the connection to it ended."""


class BrokerRefused(BrokerError):
    """The broker refused us (credentials, authorisation): trying again will not help."""


@dataclass(frozen=True)
class BrokerSettings:
    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    prefix: str = DEFAULT_PREFIX
    keepalive_s: int = DEFAULT_KEEPALIVE_S

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"

    @property
    def topics(self) -> Topics:
        return Topics(self.prefix)


def parse_url(url: str, where: Callable[[str], Exception]) -> tuple[str, int, bool, str | None]:
    """(host, port, tls, username) of a broker URL; `where(message)` builds the error naming the field."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise where(f"{url!r} is not a broker URL ({exc})") from None
    if parts.scheme not in ("mqtt", "mqtts"):
        raise where(f"{url!r}: the scheme must be mqtt:// (plain) or mqtts:// (TLS)")
    if not parts.hostname:
        raise where(f"{url!r} names no host")
    if parts.password is not None:
        raise where("no password in the URL (command lines are visible to every user of the machine); use "
                    f"password_file, --password-file or {PASSWORD_ENV}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise where(f"{url!r}: a broker URL has no path or query")
    tls = parts.scheme == "mqtts"
    return parts.hostname, port or (8883 if tls else 1883), tls, parts.username


def load_fleet_config(path: Path) -> dict[str, Any]:
    """The validated `broker:` section of a fleet config file (ConfigError names file, line and field)."""
    doc = load_marked(path)
    data = validate(doc, FLEET_SCHEMA)["broker"]
    _cross_check(doc, data)
    return data


def _cross_check(doc: MarkedDoc, data: dict[str, Any]) -> None:
    def fail(key: str, message: str) -> ConfigError:
        return doc.error(("broker", key), message)

    if data["url"] is not None:
        parse_url(data["url"], lambda m: fail("url", m))
    if data["password"] is not None and data["password_file"] is not None:
        raise fail("password", "give password or password_file, not both")
    try:
        check_prefix(data["prefix"])
    except ValueError as exc:
        raise fail("prefix", str(exc)) from None


def broker_settings(url: str | None, config_file: Path | None = None, *, username: str | None = None,
                    password_file: Path | None = None, ca_file: Path | None = None, cert_file: Path | None = None,
                    key_file: Path | None = None, prefix: str | None = None,
                    environ: Mapping[str, str] | None = None) -> BrokerSettings:
    """Settings from the command line over the config file; ConfigError naming the option or field."""
    env = os.environ if environ is None else environ
    file_data: dict[str, Any] = load_fleet_config(config_file) if config_file is not None else {}
    source = str(config_file) if config_file is not None else "command line"

    def option_error(option: str, message: str) -> ConfigError:
        return ConfigError("command line", None, option, message)

    def pick(option: str, key: str, value: Any) -> tuple[Any, str]:
        if value is not None:
            return value, option
        return file_data.get(key), f"broker.{key}"

    url_value, url_field = pick("--broker", "url", url)
    if url_value is None:
        raise option_error("--broker", "no broker given: --broker mqtt://HOST[:PORT] or a --fleet-config file "
                                       "with broker.url")
    host, port, tls, url_user = parse_url(url_value, lambda m: ConfigError(
        "command line" if url_field == "--broker" else source, None, url_field, m))
    user = username or url_user or file_data.get("username")
    for option, value in (("--password-file", password_file), ("--ca-file", ca_file), ("--cert-file", cert_file),
                          ("--key-file", key_file)):
        if value is not None and not Path(value).expanduser().is_file():
            raise option_error(option, f"no such file {str(value)!r}")
    password: str | None = None
    if password_file is not None:
        password = _read_password(Path(password_file), "--password-file")
    elif file_data.get("password_file"):
        password = _read_password(Path(file_data["password_file"]), "broker.password_file")
    elif file_data.get("password") is not None:
        password = file_data["password"]
    elif env.get(PASSWORD_ENV):
        password = env[PASSWORD_ENV]
    if password is not None and not user:
        raise option_error("--username", "a password is given but no username (--username, broker.username or "
                                         "user@ in the URL)")
    ca, ca_field = pick("--ca-file", "ca_file", ca_file)
    cert, cert_field = pick("--cert-file", "cert_file", cert_file)
    key, _ = pick("--key-file", "key_file", key_file)
    if not tls:
        for value, name in ((ca, ca_field), (cert, cert_field)):
            if value is not None:
                raise option_error(name, f"TLS settings need an mqtts:// broker URL, not {url_value!r}")
    if key is not None and cert is None:
        raise option_error("--key-file", "a client key without a client certificate (--cert-file)")
    chosen_prefix = prefix if prefix is not None else file_data.get("prefix", DEFAULT_PREFIX)
    try:
        chosen_prefix = check_prefix(chosen_prefix)
    except ValueError as exc:
        raise option_error("--prefix" if prefix is not None else "broker.prefix", str(exc)) from None
    return BrokerSettings(host, port, tls, user, password, _path(ca), _path(cert), _path(key), chosen_prefix,
                          int(file_data.get("keepalive_s") or DEFAULT_KEEPALIVE_S))


def _path(value: Any) -> str | None:
    return None if value is None else str(Path(value).expanduser())


def _read_password(path: Path, field_name: str) -> str:
    try:
        text = path.expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), None, field_name, f"cannot read the password file: {exc}") from None
    password = text.rstrip("\r\n")
    if not password:
        raise ConfigError(str(path), None, field_name, "the password file is empty")
    return password


def encode(payload: Any) -> bytes:
    """JSON, or the empty payload that deletes a retained message."""
    return b"" if payload is None else json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def new_client_id(role: str) -> str:
    return f"benchctl-{role}-{secrets.token_hex(4)}"


MessageHook = Callable[[str, Any, bool], None]


class FleetConnection:
    """One connection: subscribed to the whole fleet, every message mirrored in `ledger`.

    `sync()` is the barrier that tells when the broker's retained messages have all arrived: MQTT has no "end
    of retained" marker, but a broker sends a subscription's retained messages before it handles anything the
    subscriber publishes afterwards, so once our own echo on `sync/<client id>` is back, the mirror is whole.
    """

    def __init__(self, settings: BrokerSettings, client_id: str, will: tuple[str, dict[str, Any]] | None = None,
                 on_change: Callable[[], None] | None = None) -> None:
        self.settings = settings
        self.topics = settings.topics
        self.client_id = client_id
        self.ledger = Ledger(self.topics)
        self.hooks: list[MessageHook] = []
        self.version = 0  # bumped by every message: waiters compare against it
        self._event = asyncio.Event()
        self._lost = asyncio.Event()
        self._on_change = on_change
        self._will = will
        self._client: aiomqtt.Client | None = None
        self._reader: asyncio.Task[None] | None = None
        self._syncs: dict[str, asyncio.Future[None]] = {}
        self.error: str | None = None

    @property
    def connected(self) -> bool:
        return self._client is not None and not self._lost.is_set()

    async def __aenter__(self) -> "FleetConnection":
        s = self.settings
        tls = aiomqtt.TLSParameters(ca_certs=s.ca_file, certfile=s.cert_file, keyfile=s.key_file) if s.tls else None
        will = None
        if self._will is not None:
            will = aiomqtt.Will(self._will[0], encode(self._will[1]), qos=1, retain=True)
        client = aiomqtt.Client(s.host, s.port, username=s.username, password=s.password, identifier=self.client_id,
                                will=will, keepalive=s.keepalive_s, timeout=SYNC_TIMEOUT_S, tls_params=tls,
                                protocol=aiomqtt.ProtocolVersion.V311, clean_session=True)
        # aiomqtt has no setting for the TCP connect timeout (paho's default is 5 s); bound it like the rest
        paho = getattr(client, "_client", None)
        if paho is not None and hasattr(type(paho), "connect_timeout"):
            paho.connect_timeout = SYNC_TIMEOUT_S
        try:
            await client.__aenter__()
        except MqttConnectError as exc:
            if _refusal(exc):
                raise BrokerRefused(f"broker {s.url} refused the connection: {exc} (check username, password and "
                                    f"the broker's ACL)") from None
            raise BrokerError(f"cannot connect to broker {s.url}: {exc}") from None
        except (aiomqtt.MqttError, OSError) as exc:
            raise BrokerError(f"cannot connect to broker {s.url}: {exc or type(exc).__name__}") from None
        self._client = client
        try:
            await client.subscribe([(t, 1) for t in self.topics.subscriptions()] + [(self._sync_topic, 1)])
            self._reader = asyncio.create_task(self._read(client), name=f"fleet reader {self.client_id}")
            await self.sync()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def _sync_topic(self) -> str:
        return self.topics.sync(self.client_id)

    async def close(self) -> None:
        reader, client = self._reader, self._client
        self._reader = self._client = None
        self._lost.set()
        if reader is not None:
            reader.cancel()
            try:
                await reader
            except (asyncio.CancelledError, aiomqtt.MqttError):
                pass
        if client is not None:
            try:
                async with asyncio.timeout(5):
                    await client.__aexit__(None, None, None)
            except (aiomqtt.MqttError, TimeoutError, OSError):
                pass

    async def _read(self, client: aiomqtt.Client) -> None:
        try:
            async for message in client.messages:
                topic = message.topic.value
                raw = message.payload if isinstance(message.payload, bytes) else str(message.payload or "").encode()
                if topic == self._sync_topic:
                    future = self._syncs.pop(raw.decode(errors="replace"), None)
                    if future is not None and not future.done():
                        future.set_result(None)
                    continue
                payload = self.ledger.feed(topic, raw, bool(message.retain))
                for hook in self.hooks:
                    hook(topic, payload, bool(message.retain))
                self._bump()
        except aiomqtt.MqttError as exc:
            self.error = str(exc) or type(exc).__name__
        finally:
            self._lost.set()
            for future in self._syncs.values():
                if not future.done():
                    future.set_exception(BrokerError(f"connection to {self.settings.url} lost"))
            self._bump()

    def _bump(self) -> None:
        self.version += 1
        self._event.set()
        self._event = asyncio.Event()
        if self._on_change is not None:
            self._on_change()

    def raise_if_lost(self) -> None:
        if self._lost.is_set():
            raise BrokerError(f"connection to broker {self.settings.url} lost"
                              + (f": {self.error}" if self.error else ""))

    async def wait_change(self, since: int, timeout: float | None = None) -> None:
        """Return once a message newer than version `since` arrived, or after `timeout`; BrokerError when the
        connection is gone."""
        self.raise_if_lost()
        if self.version != since:
            return
        waiter = asyncio.ensure_future(self._event.wait())
        try:
            await asyncio.wait([waiter], timeout=timeout)
        finally:
            waiter.cancel()
        self.raise_if_lost()

    async def publish(self, topic: str, payload: Any, retain: bool, qos: int = 1) -> None:
        self.raise_if_lost()
        assert self._client is not None
        try:
            await self._client.publish(topic, encode(payload), qos=qos, retain=retain, timeout=SYNC_TIMEOUT_S)
        except aiomqtt.MqttError as exc:
            raise BrokerError(f"publish to {self.settings.url} failed: {exc}") from None

    async def sync(self, timeout: float = SYNC_TIMEOUT_S) -> None:
        """Return once everything the broker sent before now has been mirrored (see the class docstring)."""
        nonce = secrets.token_hex(8)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._syncs[nonce] = future
        started = time.monotonic()
        assert self._client is not None
        try:
            await self._client.publish(self._sync_topic, nonce.encode(), qos=1, timeout=SYNC_TIMEOUT_S)
            await asyncio.wait_for(future, timeout)
        except (aiomqtt.MqttError, TimeoutError) as exc:
            self._syncs.pop(nonce, None)
            raise BrokerError(f"broker {self.settings.url} did not echo our sync message within {timeout:.0f} s "
                              f"({exc or type(exc).__name__}); is publishing to {self._sync_topic} allowed by its "
                              f"ACL?") from None
        log.debug("synced with %s in %.3f s", self.settings.url, time.monotonic() - started)


def _refusal(exc: MqttCodeError) -> bool:
    """CONNACK codes 4 (bad username or password) and 5 (not authorised), in MQTT 3.1.1 terms."""
    rc = getattr(exc, "rc", None)
    value = getattr(rc, "value", rc)
    return value in (4, 5, 134, 135)
