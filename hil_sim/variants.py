"""Named behaviour variants of the simulated charger: implementation choices OCPP 1.6 and the test documents
leave open, not faults.

A fault (faults.py) is a bug: it must FAIL the case step it names. A variant is a different but conforming
station: every case of its plan must PASS on it. Each variant is the default simulated bench
(bench_configs/sim.yaml, described by pics/sim.yaml) with some `simulator.station` settings changed, the PICS
answers that change with them, and where needed bench `values:` or `dut:` settings (what a lab would write for
such a station). They are data, so the e2e suite, `benchctl faults` and `--sim-variant` all read one catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .settings import PROFILES


@dataclass(frozen=True)
class Variant:
    name: str
    description: str
    station: dict[str, Any] = field(default_factory=dict)  # simulator.station settings that differ from sim.yaml
    answers: dict[str, Any] = field(default_factory=dict)  # PICS answers that differ from pics/sim.yaml
    values: dict[str, Any] = field(default_factory=dict)  # bench values: that differ from sim.yaml
    dut: dict[str, Any] = field(default_factory=dict)  # dut: settings that differ from sim.yaml (connectors)


def _without(profile: str) -> list[str]:
    return [p for p in PROFILES if p != profile]


# the default first: the e2e suite runs a case on the first variant whose plan includes it
VARIANTS: dict[str, Variant] = {v.name: v for v in [
    Variant("sim", "the default simulated charger (bench_configs/sim.yaml, pics/sim.yaml)"),
    Variant("tethered", "a tethered cable: no socket lock to open or to jam (TC_017_2, TC_018_2)",
            {"fixed_cable": True},
            {"fixed_cable": True, "can_report_lock_failure": False, "can_trigger_unlock_failure": False}),
    Variant("backup-power", "declared as stopping transactions before it goes down: its backup supply holds it up "
                            "once StopTransactionsBeforePowerDown is set (TC_032_1)",
            answers={"power_loss_stop": "before_power_down"}),
    Variant("no-local-list", "a build without the Local Auth List Management profile (TC_042_1, TC_043_1)",
            {"profiles": _without("LocalAuthListManagement")},
            {"local_auth_list": False, "can_trigger_local_list_failure": False}),
    Variant("no-security-cert", "declared without the security certificate: the unsigned firmware update cases "
                                "(TC_044_x)", answers={"security_certification": False}),
    Variant("no-reservation", "a build without the Reservation profile that answers ReserveNow with Rejected "
                              "(TC_048_4, TC_050_4)",
            {"profiles": _without("Reservation")},
            {"reservation": False, "reservation_charge_point": False, "rejects_reserve_now": True}),
    # keys the cases' Configuration States only ever set to these values, and that may be read-only: TC_019 gives
    # AuthorizeRemoteTxRequests "R OR RW"; the PICS says StopTransactionOnEVSideDisconnect is read-only true, which
    # takes the case that sets it false out of the plan. (LocalAuthorizeOffline, StopTransactionOnInvalidId and
    # the other keys TC_019 requires RW cannot be fixed by a conforming station.)
    Variant("fixed-keys", "read-only keys at fixed values (StopTransactionOnEVSideDisconnect and "
                          "AuthorizeRemoteTxRequests true): a Configuration State asking for that value must not "
                          "ERROR", {"fixed_keys": {"StopTransactionOnEVSideDisconnect": True,
                                                   "AuthorizeRemoteTxRequests": True}},
            {"stop_transaction_on_ev_side_disconnect": "read_only_true"}),
    Variant("charging-before-start", "reports StatusNotification Charging before it sends StartTransaction "
                                     "(test case document section 1.2 allows either order)",
            {"charging_before_start": True}),
    Variant("power-only", "smart charging in watts only: ChargingScheduleAllowedChargingRateUnit is Power, "
                          "schedules and composite requests in A are Rejected; the bench sends W",
            {"charging_rate_units": ["W"]}, {"charging_rate_units": ["W"]}, {"charging_rate_unit": "W"}),
    Variant("no-local-limit", "no local limit of its own: a composite schedule with no profile in force has no "
                              "period; the bench's local_limit_a is null",
            {"local_limit": False}, values={"local_limit_a": None}),
    Variant("station-status-last", "reports connectorId 0 (the whole station) after its connectors at boot, not "
                                   "before them (OCPP 1.6 fixes no order)",
            {"station_status_last": True}),
    Variant("offline-replay", "queues its status changes while offline and sends them after it reconnects, each "
                              "with its original timestamp (Appendix D: a legal chain, judged as a replay)",
            {"offline_statuses": "replay"}),
    Variant("mode-1-2-only", "a Mode 1/2-only socket without Control Pilot: it sees the plug and the current, "
                             "offers no PWM (Appendix D's Mode 1/2 flow); a domestic socket outlet has no lock",
            {"mode_1_2_only": True},
            {"product_subtype": "mode_1_2_only", "can_report_lock_failure": False,
             "can_trigger_unlock_failure": False}),
    Variant("card-again-ignored", "ignores the same card presented again before a cable is in: only "
                                  "ConnectionTimeOut ends the authorization (TC_061 waits it out)",
            {"same_card_withdraws": False}),
    Variant("station-operative-only", "ChangeAvailability(0, Operative) lifts only the station's own Inoperative, "
                                      "not a connector's (the return to idle makes each connector Operative)",
            {"station_operative_only": True}),
    # the PICS says which connectors share the EVSE: Appendix D's reservation allowance follows it
    Variant("shared-evse", "two connectors on one power stage: while one is in use the other takes no session, "
                           "while one is reserved the other is Unavailable; a reservation of the station holds both",
            {"connectors": 2, "evses": [[1, 2]]}, {"connectors": 2, "evses": [[1, 2]]}, dut={"connectors": 2}),
]}


def unknown_variant(name: str) -> str | None:
    """The error message for a variant name the catalogue does not have, None when it has it."""
    if name in VARIANTS:
        return None
    from benchctl.config.suggest import did_you_mean  # words only: no checking code of the tool side

    return (f"unknown simulator variant {name!r}{did_you_mean(name, VARIANTS)}; known: {', '.join(VARIANTS)} "
            f"(see `benchctl faults`)")


def apply_station(variant: Variant, station: Any) -> None:
    """Set the variant's `simulator.station` settings on a StationSettings."""
    for name, value in variant.station.items():
        if not hasattr(station, name):
            raise ValueError(f"variant {variant.name}: simulator.station has no setting {name!r}")
        setattr(station, name, value)
