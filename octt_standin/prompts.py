"""The tool's prompt texts, exactly as observed from the desktop OCTT (docs: OCTT-AUTOMATION.md).

Data only: a later tool version changes these, and the stand-in must show what the real tool shows, so every text
lives here and nowhere else. The two verification prompts are templates; their layout is the one public clients
parse (a header line, then entries; see `status_list`).
"""

from __future__ import annotations

SETUP = "Ensure that charge point is setup for this test."
POWER_CYCLE = "Power cycle the charge point and then resume the test case by clicking 'Yes'."
PLUG_IN = "First resume the test case by clicking 'Yes' and plugin cable."
PRESENT_VALID = "First resume the test case by clicking 'Yes' and present valid identification."
PRESENT_INVALID = "First resume the test case by clicking 'Yes' and present invalid identification."
UNPLUG = "First resume the test case by clicking 'Yes' and Unplug cable."
UNPLUG_EV_SIDE = "First resume the test case by clicking 'Yes'and unplug at EV side."  # sic: no space
EV_DRIVER_STOPS = "EV driver stops the transaction"
SWIPE_DIFFERENT_CARD = "EV driver authorizes/swipes with a different card & resume the test case by clicking 'Yes'."
SWIPE_SAME_CARD = ("EV driver authorizes/swipes with a same card used to start transaction & resume the test case "
                   "by clicking 'Yes'.")

HEARTBEAT_CHECK = "Expected Heartbeat Interval : {expected}\nActual Heartbeat Interval : {actual}"

# "Expected StatusNotifications": a header, then per expected status two lines (when received, status, then
# error code, info and Received) and a blank line. Only one layout; benchctl's tests also feed it another one
# (column headers, footer notes) that this stand-in does not print.
STATUS_LIST_HEADER = "Expected StatusNotifications\n\n"
STATUS_LIST_ENTRY = ("{timestamp}  - ConnectorId : {connector_id}  -  {status}  -  \n"
                     "{error_code} - {info} - {received}\n\n")
STATUS_LIST_FOOTER = "\n\n"
NO_INFO = "N/A"
RECEIVED = {True: "Yes", False: "No"}

# The newer tool calls the system under test instead of prompting for a physical step: the prompt a step would
# show -> the SUT API callback it POSTs to (with ?connector_id=N). Prompts missing here have no callback.
SUT_CALLBACKS = {
    POWER_CYCLE: "reset",
    PLUG_IN: "plugin",
    PRESENT_VALID: "start",
    UNPLUG: "plugout",
    UNPLUG_EV_SIDE: "plugout",
    EV_DRIVER_STOPS: "stop",
}


def enum_name(value: str) -> str:
    """OCPP's CamelCase enum values as the tool prints them: SuspendedEVSE -> SUSPENDED_EVSE, NoError -> NO_ERROR."""
    out = []
    for i, ch in enumerate(value):
        nxt = value[i + 1] if i + 1 < len(value) else ""
        if i and ch.isupper() and (value[i - 1].islower() or (nxt and nxt.islower())):
            out.append("_")
        out.append(ch.upper())
    return "".join(out)


def heartbeat_check(expected: int, actual: int) -> str:
    return HEARTBEAT_CHECK.format(expected=expected, actual=actual)


def status_list(entries: list[tuple[str, int, str, str, bool]]) -> str:
    """entries: (timestamp or "", connectorId, status, errorCode, received) in the order the case expects them."""
    body = "".join(STATUS_LIST_ENTRY.format(timestamp=ts, connector_id=cid, status=enum_name(status),
                                            error_code=enum_name(err), info=NO_INFO, received=RECEIVED[got])
                   for ts, cid, status, err, got in entries)
    return STATUS_LIST_HEADER + body + STATUS_LIST_FOOTER
