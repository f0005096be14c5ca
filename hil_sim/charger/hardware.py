"""The connectors' hardware as the firmware sees it: whether an EV or a cable is there, the plug lock, the residual
current monitor, and power stages shared by several connectors (`evses`); with UnlockConnector, which drives the
lock."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from drivers.evse_tester import proximity
from drivers.evse_tester.iec61851 import pp_resistance_to_rating

from .runtime import SAMPLE_SLACK_S, ConnectorRuntime

if TYPE_CHECKING:
    from .station import SimStation

LATE_LOCK_RETRY_S = 2.4  # fault lock_failure_retried_late: past the 2 s TC_024 once watched after Faulted


class ConnectorHardware:
    def __init__(self, station: "SimStation") -> None:
        self.station = station

    def ev_present(self, connector_id: int) -> bool:
        """Whether the firmware knows an EV is there: through the Control Pilot normally. A Mode 1/2-only station
        has no pilot and sees the plug in its socket; during a transaction, the Mode 2 cable's control box
        (IC-CPD), which talks to the EV over its own pilot, opens when the EV side is unplugged, so the station
        sees the current stop and the cable's EV side gone. Only once the box had the EV: a transaction may
        start a moment before the EV side is plugged (the station cannot see it yet)."""
        world = self.station.world.connector(connector_id)
        if not self.station.settings.mode_1_2_only:
            return world.ev_connected
        tx = self.station.connector_runtime(connector_id).transaction
        return world.plugged_charger_side and (tx is None or not tx.ev_side_seen or world.plugged_ev_side)

    def ev_draws(self, connector_id: int) -> bool:
        """Behind a Mode 2 cable's control box the EV asks for energy with state C/D; the station sees current."""
        world = self.station.world.connector(connector_id)
        return world.ev_connected and world.ev_state in ("C", "D")

    def pp_ohms(self, connector_id: int) -> float | None:
        """The proximity input: PP to PE through whatever plug this connector has (None: open)."""
        return self.station.world.connector(connector_id).pp_ohms(self.station.settings.fixed_cable)

    def cable_limit_a(self, connector_id: int, station_max_a: float) -> float:
        """The current the cable allows: a Type 2 socket reads the tester cable's rating from its PP resistor; the
        station's own cable (tethered, or any Type 1 coupler, whose PP carries no rating) is rated for the station.
        An unreadable PP offers nothing above the smallest Type 2 rating, as a socket must not guess upwards."""
        world = self.station.world.connector(connector_id)
        if world.plug == "type1" or self.station.settings.fixed_cable:
            return station_max_a
        ohms = self.pp_ohms(connector_id)
        if ohms is None:
            return station_max_a  # no cable in: nothing flows anyway, the limit is the station's
        return float(min(station_max_a, pp_resistance_to_rating(ohms) or 13))

    def latch_open(self, connector_id: int) -> bool:
        """A Type 1 coupler's latch release is held (PP reads about 480 ohm, S3 open): the driver is about to pull
        it out. Like an EVSE that wires S3 to its controller (the simple-evse project does), the station then
        opens its contactor so the pins never part under load; the session and its status stay until the unplug
        (or the release) follows. The vehicle does the same on its side (OpenEVSE's "Basics of SAE J1772")."""
        world = self.station.world.connector(connector_id)
        if world.plug != "type1":
            return False
        return proximity.type1_latch_reading(self.pp_ohms(connector_id)) == "pressed"

    def cable_in(self, connector_id: int) -> bool:
        """A cable the driver still has to take away: a socket sees its plug (proximity pilot) even when the EV
        side is unplugged; a tethered cable is away once the EV side is."""
        world = self.station.world.connector(connector_id)
        if self.station.settings.fixed_cable or self.station.faults.active("ev_side_disconnect_reported_available"):
            return world.ev_connected
        return world.plugged_charger_side

    def has_socket_lock(self) -> bool:
        """Only a socket for a type 2 plug locks it: a tethered cable has no plug to hold, a Mode 1/2-only
        station's domestic socket outlet has no lock."""
        return not self.station.settings.fixed_cable and not self.station.settings.mode_1_2_only

    def lock_for_start(self, connector_id: int) -> bool:
        """A socket locks the plug before energy flows; when the lock does not engage the start is cancelled and
        the connector is Faulted (ConnectorLockFailure) until the cable is taken away."""
        station = self.station
        c, world = station.connector_runtime(connector_id), station.world.connector(connector_id)
        if not self.has_socket_lock() or not world.lock_failure or station.faults.active("start_despite_lock_failure"):
            return True
        if station.faults.active("lock_failure_retried_late"):
            return self._late_lock_retry(c)
        c.lock_failed, c.authorized_tag = True, None
        return False

    def _late_lock_retry(self, c: ConnectorRuntime) -> bool:
        """Fault lock_failure_retried_late: Faulted at first, but the start is kept and retried a little later,
        when the (still broken) lock is taken for engaged."""
        loop = asyncio.get_running_loop()
        if c.lock_failed_at is None:
            c.lock_failed, c.lock_failed_at = True, loop.time()
            loop.call_later(LATE_LOCK_RETRY_S, self.station.runtime().wake.set)
            return False
        if loop.time() - c.lock_failed_at < LATE_LOCK_RETRY_S - SAMPLE_SLACK_S:
            return False
        c.lock_failed = False
        return True

    def cable_gone(self, connector_id: int) -> None:
        """The main loop's look at the cable: once it is out, Finishing and a lock failure are over."""
        c = self.station.connector_runtime(connector_id)
        if c.finishing and not self.cable_in(connector_id):
            c.finishing = False
        if c.lock_failed and not self.cable_in(connector_id):
            c.lock_failed, c.lock_failed_at = False, None
        if c.transaction is None and not self.cable_in(connector_id):
            c.lock_failed_at = None

    def fault_blocks(self, connector_id: int) -> bool:
        """A Faulted connector (ground fault) neither starts nor keeps a transaction."""
        return self.ground_fault(connector_id) and not self.station.faults.active("charges_while_faulted")

    def ground_fault(self, connector_id: int) -> bool:
        """A leakage trips the residual current monitor of the power stage: every connector it serves (`evses`)
        is Faulted with the one where the fault is."""
        stage = (connector_id, *self.station.settings.evse_mates(connector_id))
        return any(self.station.world.connector(c).ground_fault for c in stage)

    def evse_taken(self, connector_id: int) -> bool:
        """Connectors that share one power stage (`evses`) serve one session at a time: while another connector of
        the EVSE holds a driver's session (armed, charging, finishing) or a reservation, this one takes none."""
        for mate in self.station.settings.evse_mates(connector_id):
            m = self.station.connector_runtime(mate)
            if m.transaction is not None or m.finishing or m.authorized_tag is not None \
                    or self.station.reservations.holds(mate):
                return True
        return False

    def evse_reserved(self, connector_id: int) -> bool:
        """A reservation on a connector of the same EVSE shows on this one too. Appendix D allows the other
        connectors' statuses in the Reservation cases only, so a session on a mate is not reported here: this
        connector stays Available and just takes no session (evse_taken)."""
        return any(self.station.reservations.holds(mate) for mate in self.station.settings.evse_mates(connector_id))

    def unlock_connector(self, connector_id: int) -> str:
        """UnlockConnector: ends a transaction there (UnlockCommand) and opens the lock, if there is one."""
        station = self.station
        if station.faults.active("unlock_clamps_connector_id"):
            connector_id = min(max(connector_id, 1), station.settings.connectors)  # the bug: no range check
        if not station.valid_connector(connector_id, allow_station=False) or station.rt is None:
            return "NotSupported"
        if not self.has_socket_lock() and not station.faults.active("unlock_fixed_cable_as_socket"):
            return "NotSupported"  # a tethered cable or a domestic socket outlet has no lock to open
        c, world = station.connector_runtime(connector_id), station.world.connector(connector_id)
        if c.transaction is None and station.faults.active("unlock_only_during_transaction"):
            return "NotSupported"
        if c.transaction is not None:
            c.stop_reason = "UnlockCommand"
            station.rt.wake.set()
        if world.lock_failure and not station.faults.active("unlock_result_unchecked"):
            return "UnlockFailed"
        if not world.lock_failure:
            station.world.set("lock_engaged", False, connector_id=connector_id)
        return "Unlocked"
