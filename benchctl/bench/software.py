"""The settings of the software-gear drivers (drivers/software): one DriverSpec per role kind and transport.

A template that names a value its action does not have is refused here, at load time, with the file and line
of the template (each URL, topic and payload is a Field with its own check).
"""

from __future__ import annotations

from typing import Any, Callable

from benchctl.config.schema import Field, Schema

from drivers.software.catalogue import KINDS, PROBE, missing_actions
from drivers.software.template import unknown_names

_TARGETS = {"ev_emulator": "EVEmulator", "rfid": "CardPresenter", "digital_output": "Output", "meter": "Meter"}
_SHORT = {"ev_emulator": "ev", "rfid": "card", "digital_output": "switch", "meter": "meter"}
_ROLE_SETTINGS: dict[str, dict[str, Field | Schema]] = {
    "ev_emulator": {"standard": Field(str, default="iec", choices=("iec", "sae"),
                                      help="how a PWM duty is read back as a current")},
    "digital_output": {"safe_level": Field(bool, default=False, help="logical level in the safe state")},
}


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


def _check_actions(kind: str) -> Callable[[dict[str, Any]], tuple[str, str] | None]:
    def check(settings: dict[str, Any]) -> tuple[str, str] | None:
        problem = missing_actions(kind, settings["actions"] or {})
        return ("actions", problem) if problem else None
    return check


def _headers(value: dict[Any, Any]) -> str | None:
    bad = [str(k) for k, v in value.items() if not isinstance(v, str)]
    return f"header values must be strings: {', '.join(bad)}" if bad else None


_HTTP = {
    "base_url": Field(str, required=True, refs=True, help="the simulation API, e.g. http://127.0.0.1:8080"),
    "timeout_s": Field(float, default=2.0, minimum=0.01),
    "headers": Field(dict, default=None, check=_headers, help="sent with every request (an API token, say)"),
    "connector_id": Field(int, default=1, minimum=1, help="{connector_id} in the templates"),
}
_MQTT = {
    "host": Field(str, required=True, refs=True, help="the MQTT broker"),
    "port": Field(int, default=1883, refs=True, minimum=1, maximum=65535),
    "username": Field(str, default=None),
    "password": Field(str, default=None),
    "timeout_s": Field(float, default=2.0, minimum=0.01),
    "retries": Field(int, default=2, minimum=1, maximum=10, help="tries of each publish"),
    "connector_id": Field(int, default=1, minimum=1, help="{connector_id} in the templates"),
}


def software_specs(spec: Callable[..., Any]) -> list[Any]:
    """DriverSpecs (built with `spec`, the registry's DriverSpec) of every software-gear driver."""
    out = []
    for kind, target in _TARGETS.items():
        for transport, common, action_schema in (("http", _HTTP, _http_action), ("mqtt", _MQTT, _mqtt_action)):
            actions = Schema({a: action_schema(kind, a) for a in KINDS[kind].actions}, required=True,
                             help="how each action is done: " + ", ".join(KINDS[kind].actions))
            out.append(spec(
                f"{transport}_{_SHORT[kind]}", kind,
                f"drivers.software.{transport}:{transport.upper()}{target}",
                {**common, **_ROLE_SETTINGS.get(kind, {}), "actions": actions},
                f"software gear: {_SHORT[kind]} actions as {transport.upper()} "
                f"{'requests' if transport == 'http' else 'publishes'} declared in the bench config",
                check=_check_actions(kind)))
    out.append(spec(
        "process", "digital_output", "drivers.software.process:ProcessOutput",
        {"command": Field(str, required=True, help="the firmware's command line (split like a shell, run without)"),
         "cwd": Field(str, default=None),
         "env": Field(dict, default=None, check=_headers, help="environment added to the bench's"),
         "stop_signal": Field(str, default="SIGTERM", choices=("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT",
                                                                "SIGKILL", "SIGUSR1", "SIGUSR2")),
         "stop_timeout_s": Field(float, default=5.0, minimum=0.0, help="then SIGKILL"),
         "ready_tcp": Field(str, default=None, refs=True, help="host:port accepting once the firmware is up"),
         "ready_http": Field(str, default=None, refs=True, help="a URL answering once the firmware is up"),
         "ready_timeout_s": Field(float, default=10.0, minimum=0.01),
         "log_file": Field(str, default=None, help="where its output goes (default: discarded)"),
         "safe_level": Field(bool, default=True, help="running in the safe state")},
        "software gear: a firmware process the bench starts (on) and signals (off): mains on a PC"))
    out.append(spec(
        "command", "digital_output", "drivers.software.process:CommandOutput",
        {"on_command": Field(str, required=True), "off_command": Field(str, required=True),
         "get_command": Field(str, required=True, help="exit status 0: on, 1: off"),
         "timeout_s": Field(float, default=10.0, minimum=0.01),
         "safe_level": Field(bool, default=True)},
        "software gear: commands that switch on and off (a firmware's network on a PC)"))
    return out
