"""What each kind of software gear may be asked to do: its actions, the values their templates may name, and the
fields a read-back gives. The bench config declares how (an HTTP request, an MQTT publish) for each action.

Every template may also name the values every action has (`COMMON_NAMES`): the driver's `connector_id` and the
role's name. Actions in `REQUIRED` must be declared; the others are needed only when a case uses them (a driver
asked for an undeclared action fails that bench action with a message naming it).
"""

from __future__ import annotations

from dataclasses import dataclass

COMMON_NAMES = ("connector_id", "role")


@dataclass(frozen=True)
class Kind:
    actions: dict[str, tuple[str, ...]]  # action -> the values its templates may name, besides COMMON_NAMES
    required: tuple[str, ...]  # actions a bench config must declare
    read: str | None = None  # the read-back action, if the kind measures something
    fields: tuple[str, ...] = ()  # what the read-back may give
    required_fields: tuple[str, ...] = ()

    def names(self, action: str) -> tuple[str, ...]:
        return COMMON_NAMES + self.actions.get(action, ())


PROBE = "probe"  # a request that must succeed for `benchctl check` when the kind has no read-back

KINDS: dict[str, Kind] = {
    "ev_emulator": Kind(
        actions={"plug": ("connected",), "unplug": ("connected",), "cp_state": ("state",),
                 "diode_fault": ("fault",), "pp_rating": ("amps",), "measure": (), PROBE: ()},
        required=("plug", "unplug", "cp_state"),
        read="measure",
        fields=("state", "duty_pct", "high_v", "low_v", "frequency_hz"),
        required_fields=("state", "duty_pct")),
    "rfid": Kind(
        actions={"present": ("uid",), "remove": (), PROBE: ()},
        required=("present", "remove")),
    "digital_output": Kind(
        actions={"on": ("level",), "off": ("level",), "get": (), PROBE: ()},
        required=("on", "off"),
        read="get", fields=("level",), required_fields=("level",)),
    "meter": Kind(
        actions={"read": (), PROBE: ()},
        required=("read",),
        read="read",
        fields=("voltage_v", "current_a", "power_w", "energy_wh", "frequency_hz"),
        required_fields=("voltage_v", "current_a", "power_w", "energy_wh")),
}


def missing_actions(kind: str, declared: dict[str, object]) -> str | None:
    """A message when a bench config leaves out an action the kind cannot do without, or cannot be checked."""
    spec = KINDS[kind]
    missing = [a for a in spec.required if declared.get(a) is None]
    if missing:
        return f"declare the action{'s' if len(missing) > 1 else ''} {', '.join(missing)}"
    if declared.get(PROBE) is None and (spec.read is None or declared.get(spec.read) is None):
        what = f"'{spec.read}' (read-back) or '{PROBE}'" if spec.read else f"'{PROBE}'"
        return f"declare {what}: `benchctl check` needs something to ask the gear"
    return None
