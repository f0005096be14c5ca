"""The station's configuration keys, with accessibility and value checks, persisted across power loss."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .firmware import SUPPORTED_PROTOCOLS
from .metering import split, unsupported


@dataclass
class Key:
    name: str
    value: str
    readonly: bool = False
    check: Callable[[str], bool] | None = None
    reboot_required: bool = False
    write_only: bool = False  # a secret (AuthorizationKey): GetConfiguration lists the key but never its value


def _int_at_least(minimum: int) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        return value.lstrip("-").isdigit() and int(value) >= minimum
    return check


def _bool(value: str) -> bool:
    return value.lower() in ("true", "false")


def _measurands(value: str) -> bool:
    return bool(split(value)) and not unsupported(value)


ROTATIONS = ("NotApplicable", "Unknown", "RST", "RTS", "SRT", "STR", "TRS", "TSR")


def _phase_rotation(value: str) -> bool:
    """OCPP 1.6 ConnectorPhaseRotation: a comma-separated list of `<connectorId>.<rotation>`."""
    items = [item.strip().split(".") for item in value.split(",")]
    return all(len(i) == 2 and i[0].isdigit() and i[1] in ROTATIONS for i in items)


def default_keys(connectors: int, profiles: list[str]) -> dict[str, Key]:
    keys = [
        Key("HeartbeatInterval", "60", check=_int_at_least(0)),
        Key("ConnectionTimeOut", "60", check=_int_at_least(0)),
        Key("MeterValueSampleInterval", "60", check=_int_at_least(0)),
        Key("ClockAlignedDataInterval", "0", check=_int_at_least(0)),
        Key("MinimumStatusDuration", "0", check=_int_at_least(0)),
        # the simulated supply is wired in the standard order to every connector
        Key("ConnectorPhaseRotation", ",".join(f"{c}.RST" for c in range(connectors + 1)), check=_phase_rotation),
        Key("AuthorizeRemoteTxRequests", "false", check=_bool),
        Key("AuthorizationCacheEnabled", "true", check=_bool),
        Key("AllowOfflineTxForUnknownId", "false", check=_bool),
        Key("LocalAuthorizeOffline", "true", check=_bool),
        Key("LocalPreAuthorize", "false", check=_bool),
        Key("StopTransactionOnEVSideDisconnect", "true", check=_bool),
        Key("StopTransactionOnInvalidId", "true", check=_bool),
        Key("UnlockConnectorOnEVSideDisconnect", "true", check=_bool),
        Key("NumberOfConnectors", str(connectors), readonly=True),
        Key("SupportedFeatureProfiles", ",".join(profiles), readonly=True),
        # Firmware Management: the protocols firmware.py downloads and uploads with
        *([Key("SupportedFileTransferProtocols", ",".join(SUPPORTED_PROTOCOLS), readonly=True)]
          if "FirmwareManagement" in profiles else []),
        Key("GetConfigurationMaxKeys", "50", readonly=True),
        Key("ResetRetries", "1", check=_int_at_least(0)),
        Key("TransactionMessageAttempts", "3", check=_int_at_least(0)),
        Key("TransactionMessageRetryInterval", "5", check=_int_at_least(0)),
        Key("WebSocketPingInterval", "0", check=_int_at_least(0)),
        Key("MeterValuesSampledData", "Energy.Active.Import.Register", check=_measurands),
        Key("StopTxnSampledData", "Energy.Active.Import.Register", check=_measurands),
        Key("MeterValuesAlignedData", "Energy.Active.Import.Register", check=_measurands),
        Key("StopTxnAlignedData", ""),
        # vendor key: use the backup supply (settings.backup_power_s) to stop transactions before going down
        Key("StopTransactionsBeforePowerDown", "false", check=_bool),
    ]
    return {k.name: k for k in keys}


def ocpp_text(value: object) -> str:
    """A configuration value as OCPP carries it: a string, booleans lower case."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def fix(keys: dict[str, Key], fixed: dict[str, object]) -> None:
    """Keys the firmware does not let anyone change: reported read-only, with the value it was built with."""
    for name, value in fixed.items():
        if name not in keys:
            raise ValueError(f"simulator.station.fixed_keys: the station has no key {name!r}")
        keys[name].value, keys[name].readonly = ocpp_text(value), True


def change(keys: dict[str, Key], name: str, value: str) -> str:
    """Apply ChangeConfiguration; return the status the spec prescribes."""
    key = keys.get(name)
    if key is None:
        return "NotSupported"
    if key.readonly or (key.check is not None and not key.check(value)):
        return "Rejected"
    key.value = value
    return "RebootRequired" if key.reboot_required else "Accepted"
