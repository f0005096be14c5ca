"""The simulated hardware as a firmware's simulation API sees it: what the HTTP and MQTT control surfaces change
and read back, in one place so both surfaces act on the World the same way.

Commands: the EV side (plugged, CP state, diode fault, PP rating), the card in the reader's field, and the
switches a relay would drive (`SWITCH_ALIASES` of the Modbus relay board: mains, network, cable, faults...).
Read-backs: the CP line as an instrument measures it, the switches, and the reference meter.
"""

from __future__ import annotations

from typing import Any

from drivers.evse_tester.iec61851 import PP_OHMS_BY_RATING

from ..world import World
from .energy_meter import EnergyMeterRegisters
from .modbus_gear import SWITCH_ALIASES, WorldSwitch, resolve_switch

CP_STATES = ("A", "B", "C", "D", "E", "F")
_WORDS = {"1": True, "on": True, "true": True, "0": False, "off": False, "false": False}


class ControlError(ValueError):
    """A command the simulated hardware cannot take (unknown switch, bad value): a 400/404 or an ignored message."""

    def __init__(self, message: str, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing  # the thing named does not exist (HTTP 404), rather than a bad value (400)


def flag(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in _WORDS:
        return _WORDS[word]
    raise ControlError(f"{name} must be true/false, on/off or 1/0, not {value!r}")


class ControlPanel:
    def __init__(self, world: World) -> None:
        self.world = world
        self._meters: dict[int, EnergyMeterRegisters] = {}

    def _connector(self, connector_id: Any) -> int:
        try:
            cid = int(connector_id)
            self.world.connector(cid)
        except (TypeError, ValueError):
            raise ControlError(f"no connector {connector_id!r}", missing=True) from None
        return cid

    def switch(self, name: str) -> WorldSwitch:
        if name not in SWITCH_ALIASES:
            raise ControlError(f"no switch {name!r}; switches: {', '.join(SWITCH_ALIASES)}", missing=True)
        return resolve_switch(name, self.world)

    # -- commands ---------------------------------------------------------------------------------------

    def set_plugged(self, connector_id: Any, plugged: Any) -> None:
        self.world.set("plugged_ev_side", flag(plugged, "plugged"), connector_id=self._connector(connector_id))

    def set_cp_state(self, connector_id: Any, state: Any) -> None:
        if state not in CP_STATES:
            raise ControlError(f"state must be one of {', '.join(CP_STATES)}, not {state!r}")
        self.world.set("ev_state", state, connector_id=self._connector(connector_id))

    def set_diode_fault(self, connector_id: Any, fault: Any) -> None:
        self.world.set("diode_fault", flag(fault, "fault"), connector_id=self._connector(connector_id))

    def set_pp_rating(self, connector_id: Any, amps: Any) -> None:
        if isinstance(amps, bool) or not isinstance(amps, (int, str)) or str(amps) not in map(str, PP_OHMS_BY_RATING):
            raise ControlError(f"rating must be one of {', '.join(map(str, PP_OHMS_BY_RATING))} A, not {amps!r}")
        self.world.set("pp_rating_a", int(amps), connector_id=self._connector(connector_id))

    def set_card(self, uid: Any) -> None:
        """A card in the field (its UID, hex), or none (None or an empty UID)."""
        if uid in (None, ""):
            self.world.set("card_uid", None)
            return
        text = str(uid).strip().upper()
        if len(text) not in (8, 14) or any(c not in "0123456789ABCDEF" for c in text):
            raise ControlError(f"uid must be 4 or 7 bytes in hex, not {uid!r}")
        self.world.set("card_uid", text)

    def set_switch(self, name: str, on: Any) -> None:
        self.switch(name).set(self.world, flag(on, "on"))

    # -- read-backs -------------------------------------------------------------------------------------

    def cp(self, connector_id: Any) -> dict[str, Any]:
        c = self.world.connector(self._connector(connector_id))
        high, low = c.cp_voltages()
        duty = min(max(c.pwm_duty_pct, 0.0), 100.0)
        return {"state": c.cp_state(), "duty_pct": duty, "high_v": high, "low_v": low,
                "frequency_hz": self.world.pwm_frequency_hz if 0.0 < duty < 100.0 else 0.0,
                "plugged": c.plugged_ev_side, "ev_state": c.ev_state}

    def switches(self) -> dict[str, bool]:
        return {name: self.switch(name).get(self.world) for name in SWITCH_ALIASES}

    def card(self) -> dict[str, Any]:
        return {"uid": self.world.card_uid}

    def meter(self, connector_id: Any) -> dict[str, Any]:
        cid = self._connector(connector_id)
        meter = self._meters.setdefault(cid, EnergyMeterRegisters(self.world, cid))
        values = meter.values()
        phases = meter.map.phases
        return {"voltage_v": [values[f"voltage_v[{i}]"] for i in range(phases)],
                "current_a": [values[f"current_a[{i}]"] for i in range(phases)],
                "power_w": values["power_w"] * meter.map.power_w_per_unit,
                "energy_wh": values["energy"] * meter.map.energy_wh_per_unit,
                "frequency_hz": values["frequency_hz"]}
