"""The OCPP 1.6 actions a scenario may name, from the JSON schemas the Central System checks frames with.

A misspelled action (`expect: Authorise`) would otherwise wait for a message no charger sends and end in a
FAIL blamed on the charger; it is a validation error of the scenario instead. The direction is checked too:
`expect`/`absent` name what the charger sends, `send` what the Central System (the tool) sends.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from benchctl.config.suggest import did_you_mean

# OCPP 1.6 chapter 4 "Operations initiated by Charge Point", and those of the security whitepaper
FROM_CHARGER = frozenset({
    "Authorize", "BootNotification", "DataTransfer", "DiagnosticsStatusNotification", "FirmwareStatusNotification",
    "Heartbeat", "MeterValues", "StartTransaction", "StatusNotification", "StopTransaction",
    "LogStatusNotification", "SecurityEventNotification", "SignCertificate", "SignedFirmwareStatusNotification",
})
BOTH_WAYS = frozenset({"DataTransfer"})


@cache
def ocpp_actions() -> frozenset[str]:
    """Every action with a request schema in the ocpp package's OCPP 1.6 schemas."""
    folder = resources.files("ocpp.v16") / "schemas"
    names = {entry.name.removesuffix(".json") for entry in folder.iterdir() if entry.name.endswith(".json")}
    return frozenset(name for name in names if not name.endswith("Response") and f"{name}Response" in names)


def action_problem(action: str, from_charger: bool) -> str | None:
    """Why `action` cannot be what the step names (None when it can): not an OCPP 1.6 action, or one that goes the
    other way."""
    actions = ocpp_actions()
    if action not in actions:
        return f"{action!r} is not an OCPP 1.6 action{did_you_mean(action, actions)}"
    if action in BOTH_WAYS or (action in FROM_CHARGER) == from_charger:
        return None
    if from_charger:
        return f"{action} is sent by the Central System, not the charger: the tool sends it with `send:`"
    return f"{action} is sent by the charger, not the Central System: wait for it with `expect:`"
