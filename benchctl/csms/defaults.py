"""The values OCPP 1.6 gives the optional fields a charger leaves out, so a check reads what the message means.

The JSON schemas carry no defaults; the specification's SampledValue (7.45) does: a sampled value without a
measurand IS Energy.Active.Import.Register, in Wh, a raw periodic sample at the outlet. The capture keeps the
frame as it was on the wire; only what the checks read is completed.
"""

from __future__ import annotations

import copy
from typing import Any

SAMPLED_VALUE_DEFAULTS = {"context": "Sample.Periodic", "format": "Raw", "measurand": "Energy.Active.Import.Register",
                          "location": "Outlet", "unit": "Wh"}

# where each charger request carries MeterValue objects
_METER_VALUE_LISTS = {"MeterValues": "meterValue", "StopTransaction": "transactionData"}


def with_ocpp_defaults(action: str, payload: Any) -> Any:
    """`payload` with every omitted field that has a default in OCPP 1.6 filled in (a copy when anything changes)."""
    field = _METER_VALUE_LISTS.get(action)
    if field is None or not isinstance(payload, dict) or not isinstance(payload.get(field), list):
        return payload
    completed = copy.deepcopy(payload)
    for meter_value in completed[field]:
        for sampled in (meter_value.get("sampledValue") or []) if isinstance(meter_value, dict) else []:
            if isinstance(sampled, dict):
                for name, default in SAMPLED_VALUE_DEFAULTS.items():
                    sampled.setdefault(name, default)
    return completed
