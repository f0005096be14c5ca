"""The cases the stand-in plays: the tool's names and descriptions (as its case list shows them) and what each
case sets on the charger before it starts (the test case document's "Configuration State(s)").

Tool name TC_CP_V16_<id> is the test case document's TC_<id>_CS.
"""

from __future__ import annotations

RESET_CASE = "TC_CP_V16_000_RESET"

DESCRIPTIONS = {
    RESET_CASE: "Revert Charge Point to basic reset state",
    "TC_CP_V16_001": "Cold boot charge point",
    "TC_CP_V16_003": "Regular charging session - plugin first",
    "TC_CP_V16_005_1": "EV side disconnected",
    "TC_CP_V16_010": "Remote start charging session - cable plugged in first",
    "TC_CP_V16_068": "Stop transaction - idTag matches the one that started it",
    "TC_CP_V16_069": "Stop transaction - parentIdTag matches the one that started it",
}

# ChangeConfiguration the tool sends first, in this order (TC_005_1_CS: Before, Configuration State(s)).
# Optional keys: a NotSupported answer is tolerated (the charger does not implement that optional key).
CONFIGURATION: dict[str, list[tuple[str, str]]] = {
    "TC_CP_V16_005_1": [
        ("MinimumStatusDuration", "0"),
        ("StopTransactionOnEVSideDisconnect", "true"),
        ("UnlockConnectorOnEVSideDisconnect", "true"),
    ],
}
OPTIONAL_KEYS = frozenset({"MinimumStatusDuration"})
