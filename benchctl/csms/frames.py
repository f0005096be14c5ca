"""Parsing and schema-checking raw OCPP-J frames against the OCPP 1.6 JSON schemas.

The checks never raise: a frame that is not valid OCPP is recorded with what is wrong with it, so the
capture keeps everything and the case can fail naming the frame.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

import fastjsonschema
from jsonschema.exceptions import ValidationError
from ocpp.messages import MessageType, get_validator

CALL, CALLRESULT, CALLERROR = MessageType.Call, MessageType.CallResult, MessageType.CallError
TYPE_NAMES = {CALL: "CALL", CALLRESULT: "CALLRESULT", CALLERROR: "CALLERROR"}


@dataclass
class Frame:
    raw: str
    message_type: int | None = None
    unique_id: str | None = None
    action: str | None = None  # for results: the action of the request they answer
    payload: Any = None
    error: str | None = None  # why the frame is not valid OCPP 1.6, None when it is
    oversize: bool = False  # dropped by the WebSocket size limit: a limit of the bench, not a verdict on the frame
    size: int | None = None  # bytes of an oversize frame, as far as its header told
    # not a frame but something that happened to a connection (opened, refused, closed, taken over): `raw` says it
    # in words, `event` holds it as data
    event: dict[str, Any] | None = None

    @property
    def type_name(self) -> str:
        if self.event is not None:
            return "CONNECTION"
        return TYPE_NAMES.get(self.message_type, "INVALID")  # type: ignore[arg-type]


def parse(raw: str | bytes, pending: dict[str, str]) -> Frame:
    """Parse one frame. `pending` maps unique ids of open requests to their action (updated here)."""
    if isinstance(raw, bytes):
        return Frame(raw.decode("utf-8", "replace"), error="binary frame; OCPP-J uses text frames")
    frame = Frame(raw)
    try:
        msg = json.loads(raw)
    except json.JSONDecodeError as exc:
        frame.error = f"not JSON: {exc.msg} at character {exc.pos}"
        return frame
    if not isinstance(msg, list) or len(msg) < 3 or msg[0] not in (CALL, CALLRESULT, CALLERROR):
        frame.error = "not an OCPP-J message array [type, id, ...]"
        return frame
    frame.message_type, frame.unique_id = msg[0], str(msg[1])
    if not isinstance(msg[1], str):
        frame.error = "unique id is not a string"
        return frame
    if frame.message_type == CALL:
        if len(msg) != 4 or not isinstance(msg[2], str):
            frame.error = "CALL must be [2, id, action, payload]"
            return frame
        frame.action, frame.payload = msg[2], msg[3]
        pending[frame.unique_id] = frame.action
    elif frame.message_type == CALLRESULT:
        if len(msg) != 3:
            frame.error = "CALLRESULT must be [3, id, payload]"
            return frame
        frame.payload = msg[2]
        frame.action = pending.pop(frame.unique_id, None)
        if frame.action is None:
            frame.error = "CALLRESULT for an unknown unique id"
            return frame
    else:
        if len(msg) != 5:
            frame.error = "CALLERROR must be [4, id, code, description, details]"
            return frame
        frame.payload = {"errorCode": msg[2], "errorDescription": msg[3], "errorDetails": msg[4]}
        frame.action = pending.pop(frame.unique_id, None)
        return frame
    frame.error = schema_error(frame.message_type, frame.action, frame.payload)
    return frame


# The messages whose schemas have `multipleOf: 0.1` (charging schedule limits): in binary floating point 21.4 is
# not a multiple of 0.1, so they are checked as decimals, as the ocpp library does. Its validator cache does not
# tell the two apart, so these must always be asked for as decimals, here as there.
DECIMAL_MESSAGES = {(CALL, "SetChargingProfile"), (CALL, "RemoteStartTransaction"),
                    (CALLRESULT, "GetCompositeSchedule")}


# jsonschema takes about 100 us for a MeterValues CALL: at thousands of frames a second that was most of the
# proxy's time and its latency. The same schema compiled by fastjsonschema checks it in about 5 us. A frame it
# passes is valid; a frame it rejects is checked again by jsonschema, which has the last word and words the error
# (its message and path are what reports show). The ocpp library checks every schema by draft 4 whatever its
# $schema says (some say draft 6, where 1.0 is an integer), and checks no formats: so does the quick check,
# which never fills in a schema's defaults either (the captured payload stays as it came).
DRAFT_4 = "http://json-schema.org/draft-04/schema#"
_compiled: dict[tuple[int, str], Callable[[Any], Any]] = {}


def _passes_quick_check(message_type: int, action: str, schema: dict[str, Any], payload: Any) -> bool:
    check = _compiled.get((message_type, action))
    if check is None:
        check = _compiled[message_type, action] = fastjsonschema.compile({**schema, "$schema": DRAFT_4},
                                                                         use_formats=False, use_default=False)
    try:
        check(payload)
    except Exception:  # its rejection, or anything it cannot handle: jsonschema decides
        return False
    return True


def schema_error(message_type: int, action: str, payload: Any) -> str | None:
    decimal_payload = (message_type, action) in DECIMAL_MESSAGES
    try:
        validator = get_validator(message_type, action, "1.6", parse_float=Decimal if decimal_payload else float)
    except (OSError, ValueError):
        return f"unknown action {action!r} in OCPP 1.6"
    if decimal_payload:  # multipleOf in decimals: jsonschema alone (these are rare frames)
        payload = json.loads(json.dumps(payload), parse_float=Decimal)
    elif _passes_quick_check(message_type, action, validator.schema, payload):
        return None
    try:
        validator.validate(payload)
    except ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "payload"
        return f"{action} {TYPE_NAMES[message_type]} violates the schema at {where}: {exc.message}"
    return None


# OCPP-J 1.6 (4.2.3) spells two error codes its own way and the errata keep them; the ocpp library raises the
# OCPP 2.x names. A conformance tool answers in the protocol's own words.
OCPP16_ERROR_CODES = {"FormatViolation": "FormationViolation",
                      "OccurrenceConstraintViolation": "OccurenceConstraintViolation"}


def in_ocpp16_words(raw: str) -> str:
    """An outgoing CALLERROR with its errorCode as OCPP-J 1.6 names it; any other frame unchanged."""
    if not raw.startswith("[4"):
        return raw
    try:
        msg = json.loads(raw)
    except ValueError:
        return raw
    if isinstance(msg, list) and len(msg) == 5 and msg[0] == CALLERROR and msg[2] in OCPP16_ERROR_CODES:
        msg[2] = OCPP16_ERROR_CODES[msg[2]]
        return json.dumps(msg, separators=(",", ":"))
    return raw
