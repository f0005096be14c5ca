"""The physical world that the simulated charger and the simulated gear share.

Gear servers write what the real instrument would change (EV emulator resistors, plug relay, mains and
network relays, card in the reader's field); the charger reads it and writes what the station drives (PWM
duty, lock). Listeners are told the name of every field that changed, so the charger can react like
firmware polling its inputs would, without a busy loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Callable

from drivers.evse_tester import proximity
from drivers.evse_tester.iec61851 import CP_STATE_VOLTS as CP_HIGH_V  # same physics as the drivers measure

Listener = Callable[[str, Any], None]


@dataclass
class Connector:
    """The cable path of one connector: charger side, EV side, what the EV emulator presents."""

    plugged_charger_side: bool = False
    plugged_ev_side: bool = False
    ev_state: str = "A"  # the resistor state the EV emulator selects (meaningful when plugged)
    diode_fault: bool = False
    pp_rating_a: int = 32
    # the connector's plug: "type2" (a socket, or a tethered cable when the station has fixed_cable) or "type1"
    # (an SAE J1772 coupler on the station's cable, whose latch release the EV emulator presses)
    plug: str = "type2"
    latch_pressed: bool = False  # the Type 1 coupler's release button held: its switch S3 open
    pwm_duty_pct: float = 100.0  # driven by the charger: 100 = +12 V DC (no PWM), 0 = -12 V / off
    lock_engaged: bool = False
    lock_failure: bool = False  # injected: the lock motor cannot move
    ground_fault: bool = False  # injected: a leakage path that trips the connector's residual current monitor
    energy_wh: float = 0.0

    @property
    def ev_connected(self) -> bool:
        return self.plugged_charger_side and self.plugged_ev_side

    def cp_state(self) -> str:
        """The CP state the charger sees."""
        if not self.ev_connected:
            return "A"
        if self.pwm_duty_pct <= 0.0:
            return "F"
        if self.diode_fault and self.ev_state in ("B", "C", "D"):
            # without the diode the low level is no longer -12 V: firmware reports state F (error)
            return "F"
        return self.ev_state

    def pp_ohms(self, fixed_cable: bool = False) -> float | None:
        """PP to PE as the station's proximity input reads it (None: open). A Type 2 socket reads the tester
        cable's resistor once its plug is in; a Type 1 coupler reads its latch circuit once it is in the inlet; a
        tethered Type 2 cable's PP is on the EV side only."""
        if self.plug == "type1":
            return proximity.pp_ohms("type1", self.plugged_charger_side and self.plugged_ev_side, self.latch_pressed)
        plug = "tethered" if fixed_cable else "type2"
        return proximity.pp_ohms(plug, self.plugged_charger_side, rating_a=self.pp_rating_a)

    def cp_voltages(self) -> tuple[float, float]:
        """(high, low) levels of the CP line as an instrument would measure them."""
        state = self.cp_state()
        high = CP_HIGH_V[state]
        if state == "F" or self.pwm_duty_pct <= 0.0:
            return (-12.0, -12.0)
        if self.pwm_duty_pct >= 100.0:
            return (high, high)
        low = high if self.diode_fault else -12.0
        return (high, low)


@dataclass
class World:
    connectors: list[Connector] = field(default_factory=lambda: [Connector()])
    mains_on: bool = True
    network_up: bool = True
    card_uid: str | None = None  # the card in front of the reader, None when the field is empty
    card_reader: int = 1  # the connector whose reader the presenter stands at (a station with one per EVSE)
    # injected: the memory that holds the local authorization list refuses writes (its write-protect line pulled)
    local_list_storage_failure: bool = False
    # the installer's service input: on, the station resets its connection security settings (security profile,
    # AuthorizationKey) to the commissioned ones, the only way the whitepaper leaves to lower the profile
    security_reset: bool = False
    pwm_frequency_hz: float = 1000.0
    _listeners: list[Listener] = field(default_factory=list, repr=False)
    # called before energy is read (the reference meter): the charger counts the energy up to this instant, so
    # the meter and the charger's register never differ by a counting step
    _settlers: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def on_settle(self, settle: Callable[[], None]) -> None:
        self._settlers.append(settle)

    def settle(self) -> None:
        for settle in list(self._settlers):
            settle()

    def connector(self, connector_id: int) -> Connector:
        """Connector by OCPP connectorId (1-based)."""
        if not 1 <= connector_id <= len(self.connectors):
            raise ValueError(f"no connector {connector_id}; this station has {len(self.connectors)}")
        return self.connectors[connector_id - 1]

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def set(self, name: str, value: Any, connector_id: int | None = None) -> None:
        """Change one field and tell the listeners (`connector.<field>` names for per-connector fields)."""
        if connector_id is None:
            target: Any = self
            known = {f.name for f in fields(World) if not f.name.startswith("_")}
            event = name
        else:
            target = self.connector(connector_id)
            known = {f.name for f in fields(Connector)}
            event = f"connector{connector_id}.{name}"
        if name not in known:
            raise AttributeError(f"the world has no field {event!r}")
        if getattr(target, name) == value:
            return
        setattr(target, name, value)
        for listener in list(self._listeners):
            listener(event, value)
