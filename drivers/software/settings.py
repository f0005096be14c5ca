"""The settings of the software-gear drivers: what every HTTP or MQTT driver takes (a dataclass each), and the
schema of its `actions`, derived from the role kind's catalogue (catalogue.py).

A template that names a value its action does not have is refused at load time, with the file and line of the
template (each URL, topic and payload is a Field with its own check).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from benchctl.config.schema import Field, Schema
from benchctl.config.typed import setting

from ..retry import retries_setting, timeout_setting
from .catalogue import KINDS, PROBE, missing_actions
from .template import unknown_names

SIGNAL_NAMES = ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGKILL", "SIGUSR1", "SIGUSR2")


def _names(names: tuple[str, ...]) -> Callable[[Any], str | None]:
    return lambda value: unknown_names(value, names)


def _fields(kind: str) -> Callable[[Any], str | None]:
    spec = KINDS[kind]

    def check(value: dict[Any, Any]) -> str | None:
        unknown = [str(k) for k in value if k not in spec.fields]
        if unknown:
            return f"unknown field {', '.join(unknown)}; a read-back gives: {', '.join(spec.fields)}"
        missing = [f for f in spec.required_fields if f not in value]
        if missing:
            return f"missing field {', '.join(missing)} (JSON path of each, '' for the whole payload)"
        bad = [str(k) for k, v in value.items() if not isinstance(v, str)]
        return f"the JSON path of {', '.join(bad)} must be a string" if bad else None

    return check


def _fields_field(kind: str) -> Field:
    return Field(dict, required=True, check=_fields(kind),
                 help="read-back: field -> JSON path into the answer (dot-separated, numbers index lists)")


def _http_action(kind: str, action: str) -> Schema:
    names = KINDS[kind].names(action)
    reads = action == KINDS[kind].read
    fields: dict[str, Field | Schema] = {
        "method": Field(str, default="GET" if reads or action == PROBE else "POST",
                        choices=("GET", "POST", "PUT", "PATCH", "DELETE")),
        "url": Field(str, required=True, check=_names(names),
                     help=f"absolute, or relative to base_url; may name {', '.join(names)}"),
        "body": Field(dict, default=None, check=_names(names), help="JSON body template"),
        "status": Field(int, default=200, minimum=100, maximum=599, help="the status that means done"),
        "timeout_s": Field(float, default=None, minimum=0.01, help="this action's timeout (default: timeout_s)"),
    }
    if reads:
        fields["fields"] = _fields_field(kind)
    return Schema(fields)


def _publish(names: tuple[str, ...], required: bool = True) -> Schema:
    return Schema({
        "topic": Field(str, required=required, check=_names(names)),
        "payload": Field(str, default=None, check=_names(names), help="text payload template"),
        "json": Field(dict, default=None, check=_names(names), help="JSON payload template (instead of payload)"),
        "retain": Field(bool, default=False),
        "qos": Field(int, default=1, choices=(0, 1, 2)),
    })


def _mqtt_action(kind: str, action: str) -> Schema:
    names = KINDS[kind].names(action)
    if action != KINDS[kind].read:
        return _publish(names)
    return Schema({
        "topic": Field(str, required=True, check=_names(KINDS[kind].names("")),
                       help="the state topic (subscribed at connect, so it may name only connector_id and role)"),
        "fields": _fields_field(kind),
        "request": _publish(names),
        "timeout_s": Field(float, default=None, minimum=0.01),
    })


def _headers(value: dict[Any, Any]) -> str | None:
    bad = [str(k) for k, v in value.items() if not isinstance(v, str)]
    return f"header values must be strings: {', '.join(bad)}" if bad else None


def actions_schema(kind: str, transport: str) -> Schema:
    """The `actions` mapping of a software-gear driver of `kind` over `transport` ("http" or "mqtt")."""
    action = _http_action if transport == "http" else _mqtt_action
    return Schema({a: action(kind, a) for a in KINDS[kind].actions}, required=True,
                  help="how each action is done: " + ", ".join(KINDS[kind].actions))


def check_actions(kind: str, settings: dict[str, Any]) -> tuple[str, str] | None:
    problem = missing_actions(kind, settings["actions"] or {})
    return ("actions", problem) if problem else None


_ACTIONS_HELP = "how each action is done (its own keys: see the role kind's actions)"
_CONNECTOR_HELP = "{connector_id} in the templates"


@dataclass(kw_only=True)
class HttpGearSettings:
    base_url: str = setting(required=True, refs=True, type=str, help="the simulation API, e.g. http://127.0.0.1:8080")
    timeout_s: float = timeout_setting(2.0, help="how long a request may take (an action may set its own)")
    headers: dict[str, str] | None = setting(default=None, check=_headers,
                                             help="sent with every request (an API token, say)")
    connector_id: int = setting(default=1, minimum=1, help=_CONNECTOR_HELP)
    actions: dict[str, Any] = setting(required=True, help=_ACTIONS_HELP)


@dataclass(kw_only=True)
class MqttGearSettings:
    host: str = setting(required=True, refs=True, type=str, help="the MQTT broker")
    port: int | str = setting(default=1883, refs=True, minimum=1, maximum=65535)
    username: str | None = setting(default=None, type=str)
    password: str | None = setting(default=None, type=str)
    timeout_s: float = timeout_setting(2.0)
    retries: int = retries_setting(1)
    connector_id: int = setting(default=1, minimum=1, help=_CONNECTOR_HELP)
    actions: dict[str, Any] = setting(required=True, help=_ACTIONS_HELP)


@dataclass(kw_only=True)
class EvRoleSettings:
    standard: str = setting(default="iec", choices=("iec", "sae"), help="how a PWM duty is read back as a current")


@dataclass(kw_only=True)
class OutputRoleSettings:
    safe_level: bool = setting(default=False, help="logical level in the safe state")


@dataclass(kw_only=True)
class HttpEvSettings(HttpGearSettings, EvRoleSettings):
    """An EV emulator's settings over HTTP: the gear's and the EV role's."""


@dataclass(kw_only=True)
class HttpOutputSettings(HttpGearSettings, OutputRoleSettings):
    """A switch's settings over HTTP: the gear's and the output role's."""


@dataclass(kw_only=True)
class MqttEvSettings(MqttGearSettings, EvRoleSettings):
    """An EV emulator's settings over MQTT: the gear's and the EV role's."""


@dataclass(kw_only=True)
class MqttOutputSettings(MqttGearSettings, OutputRoleSettings):
    """A switch's settings over MQTT: the gear's and the output role's."""


@dataclass(kw_only=True)
class ProcessSettings:
    command: str = setting(required=True, help="the firmware's command line (split like a shell, run without)")
    cwd: str | None = setting(default=None, type=str)
    env: dict[str, str] | None = setting(default=None, check=_headers, help="environment added to the bench's")
    stop_signal: str = setting(default="SIGTERM", choices=SIGNAL_NAMES)
    stop_timeout_s: float = setting(default=5.0, minimum=0.0, help="then SIGKILL")
    ready_tcp: str | None = setting(default=None, refs=True, type=str,
                                    help="host:port accepting once the firmware is up")
    ready_http: str | None = setting(default=None, refs=True, type=str, help="a URL answering once the firmware is up")
    ready_timeout_s: float = setting(default=10.0, minimum=0.01)
    log_file: str | None = setting(default=None, type=str, help="where its output goes (default: discarded)")
    safe_level: bool = setting(default=True, help="running in the safe state")


@dataclass(kw_only=True)
class CommandSettings:
    on_command: str = setting(required=True)
    off_command: str = setting(required=True)
    get_command: str = setting(required=True, help="exit status 0: on, 1: off")
    timeout_s: float = setting(default=10.0, minimum=0.01)
    safe_level: bool = setting(default=True)
