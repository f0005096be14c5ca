"""Named charger bugs and gear failures, switched on per run, so every check is shown to be able to fail.

Each fault says what it breaks and which test case step should catch it. They are data: the simulated
charger asks `faults.active(name)` at the point where real firmware would misbehave. A different but conforming
implementation is not a fault: variants.py names those, and every case must PASS on them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    name: str
    description: str
    caught_by: tuple[str, ...]  # the test case steps that must turn FAIL ("TC_003_CS step 1"); empty for a fault
    # the bench recovers from rather than a case judges (its own test says what must happen), or one that `warns`
    # a defect the certification does not test: the case still PASSes, with this WARN finding
    # ("TC_062_CS document": case and warning kind, benchctl/run/warnings.py; "... after TC_008_CS" when the
    # defect needs an earlier case on the same station, e.g. a transaction before the one that shows it)
    warns: tuple[str, ...] = ()


FAULTS: dict[str, Fault] = {f.name: f for f in [
    Fault("skip_preparing", "never reports StatusNotification(Preparing) when a cable is plugged in",
          ("TC_003_CS step 1",)),
    Fault("no_start_transaction", "authorizes the idTag but never sends StartTransaction",
          ("TC_003_CS step 5", "TC_004_1_CS step 3")),
    Fault("start_without_cable", "starts the transaction as soon as the idTag is accepted, before any cable is "
          "connected (identification first)", ("TC_004_1_CS step 3", "TC_011_1_CS step 9")),
    Fault("ignore_boot_interval", "retries a rejected BootNotification at once instead of after the interval",
          ("TC_001_CS step 3",)),
    Fault("wrong_heartbeat_interval", "sends Heartbeat at twice the interval the Central System set",
          ("TC_001_CS step 7",)),
    Fault("pending_treated_as_accepted", "takes a BootNotification answered Pending for a registration and "
          "never boots again", ("TC_002_CS step 7",)),
    Fault("reject_remote_start", "answers RemoteStartTransaction with Rejected", ("TC_010_CS step 6",)),
    Fault("no_preparing_on_remote_start", "an accepted RemoteStartTransaction without a cable leaves the connector "
          "Available (it only reports Preparing once the cable is in)", ("TC_011_1_CS step 7", "TC_011_2_CS step 7")),
    Fault("stop_reason_always_local", "reports reason Local in every StopTransaction, whatever ended it",
          ("TC_012_CS step 3", "TC_005_1_CS step 1", "TC_005_2_CS step 1", "TC_005_3_CS step 7",
           "TC_018_1_CS step 3")),
    Fault("meter_values_dropped_offline", "drops the MeterValues it samples while offline instead of queueing "
          "them with the other transaction messages", ("TC_036_CS step 1",)),
    Fault("offline_start_not_queued", "never reports a transaction it started offline: the StartTransaction is "
          "dropped instead of queued", ("TC_037_1_CS step 1", "TC_039_CS step 1")),
    Fault("invalid_id_ignored", "ignores a StartTransaction.conf that refuses the idTag (e.g. of a transaction "
          "started offline) and keeps charging", ("TC_037_2_CS step 5", "TC_037_3_CS step 5")),
    Fault("always_stop_on_invalid_id", "stops a transaction whose idTag turns out invalid even when "
          "StopTransactionOnInvalidId is false, instead of only suspending the energy offer",
          ("TC_037_2_CS step 5",)),
    Fault("offline_stop_not_queued", "never reports a transaction it stopped offline: the StopTransaction is "
          "dropped instead of queued", ("TC_038_CS step 1", "TC_039_CS step 3")),
    Fault("charges_while_faulted", "reports Faulted on a ground fault but still starts and keeps transactions "
          "on that connector", ("TC_041_CS step 3",)),
    Fault("power_loss_reason_other", "stops a transaction a power loss ended with reason Other instead of "
          "PowerLoss (before going down on backup power, or after the reboot)",
          ("TC_032_1_CS step 1", "TC_032_2_CS step 5")),
    Fault("availability_not_persistent", "forgets on a reboot (reset or power loss) which connectors were set "
          "Inoperative", ("TC_013_CS step 9", "TC_034_CS step 7", "TC_014_CS step 9")),
    Fault("reset_keeps_transaction", "reboots on Reset without stopping the transaction first, so it is only "
          "stopped after the boot, as after a power loss (reason PowerLoss)", ("TC_015_CS step 3", "TC_016_CS step 3")),
    Fault("reset_without_finishing", "on Reset stops the transaction but reboots without reporting the connector "
          "(no StatusNotification before going down)", ("TC_015_CS step 5",)),
    Fault("unlock_only_during_transaction", "answers UnlockConnector with NotSupported when no transaction runs "
          "on the connector (a cable left locked in an idle socket cannot be released)", ("TC_017_1_CS step 2",)),
    Fault("no_connector_phase_rotation", "does not implement the required Core key ConnectorPhaseRotation",
          ("TC_019_CS step 4",)),
    Fault("configuration_not_stored", "answers ChangeConfiguration with Accepted but keeps the old value",
          ("TC_021_CS step 4",)),
    Fault("periodic_samples_labelled_clock", "labels its periodic MeterValues with context Sample.Clock",
          ("TC_070_CS step 3",)),
    Fault("meter_timestamp_at_start", "stamps every sampled MeterValues with the transaction's start time",
          ("TC_070_CS step 3",)),
    Fault("aligned_values_from_boot", "counts ClockAlignedDataInterval from its own start instead of from "
          "midnight, so the clock-aligned MeterValues are not on the clock", ("TC_071_CS step 3",)),
    Fault("remote_start_ignores_busy_connector", "answers Accepted to a RemoteStartTransaction for a connector "
          "that already has a transaction", ("TC_026_CS step 2",)),
    Fault("remote_start_connector_0_as_any", "takes connectorId 0 in RemoteStartTransaction for \"any connector\" "
          "and accepts it", ("TC_027_CS step 2",)),
    Fault("remote_stop_ignores_transaction_id", "stops the running transaction on any RemoteStopTransaction, "
          "whatever transactionId it names", ("TC_028_CS step 2",)),
    Fault("unlock_result_unchecked", "answers UnlockConnector with Unlocked without checking that the lock "
          "actually opened", ("TC_030_CS step 2",)),
    Fault("unlock_clamps_connector_id", "does not range-check the connectorId of UnlockConnector and unlocks the "
          "nearest real connector instead", ("TC_031_CS step 2",)),
    Fault("unknown_keys_accepted", "answers ChangeConfiguration for a key it does not have with Accepted",
          ("TC_040_1_CS step 2",)),
    Fault("configuration_values_unchecked", "accepts any value for a writable configuration key (e.g. a negative "
          "interval)", ("TC_040_2_CS step 2",)),
    Fault("data_transfer_not_implemented", "has no DataTransfer handler: the request gets a CALLERROR "
          "NotImplemented instead of a DataTransfer.conf", ("TC_062_CS step 2",)),
    Fault("unlock_fixed_cable_as_socket", "runs the socket firmware on a tethered model: answers UnlockConnector "
          "with Unlocked (and ends a running transaction) although there is no lock",
          ("TC_017_2_CS step 2", "TC_018_2_CS step 2")),
    Fault("ignore_connection_timeout", "an accepted start waits for the cable forever instead of for "
          "ConnectionTimeOut seconds", ("TC_011_2_CS step 9", "TC_004_2_CS step 2")),
    Fault("any_card_stops", "a different card ends a running transaction once the Central System accepts it, "
          "whatever its parentIdTag", ("TC_068_CS step 1",)),
    Fault("stop_with_start_id_tag", "a transaction ended by another card of the same group reports the idTag "
          "that started it in StopTransaction", ("TC_069_CS step 3",)),
    Fault("ev_side_disconnect_reported_available", "after an EV-side disconnect reports the socket Available "
          "although the cable is still in it", ("TC_005_1_CS step 3",)),
    Fault("stop_on_ev_side_disconnect_always", "ends the transaction on an EV-side disconnect even with "
          "StopTransactionOnEVSideDisconnect false", ("TC_005_3_CS step 1",)),
    Fault("no_ev_side_disconnect_info", "reports a transaction suspended by an EV-side disconnect without saying "
          "so in the StatusNotification info", ("TC_005_3_CS step 1",)),
    Fault("remote_start_ignores_cache", "with AuthorizeRemoteTxRequests asks Authorize.req for every remote start, "
          "even for an idTag LocalPreAuthorize lets it accept from the cache", ("TC_007_CS step 5",)),
    Fault("clear_cache_ignored", "answers ClearCache with Accepted but keeps the authorization cache",
          ("TC_061_CS step 7",)),
    Fault("start_despite_invalid", "starts a transaction for a card whatever status the Authorize.conf gives",
          ("TC_023_CS step 4",)),
    Fault("start_despite_lock_failure", "starts charging although the plug lock did not engage",
          ("TC_024_CS step 9",)),
    Fault("lock_failure_retried_late", "reports Faulted/ConnectorLockFailure, but keeps the start and retries it "
          "a few seconds later, then starts the transaction although the lock is still broken",
          ("TC_024_CS step 9",)),
    Fault("wrong_connector_id",
          "reports connectorId+1 in every StatusNotification of a connector in use (not Available)",
          ("TC_010_CS step 3",)),
    # Local Authorization List (hil_sim/charger/local_list.py)
    Fault("local_list_disabled_still_answers", "serves SendLocalList and GetLocalListVersion although the Local Auth "
          "List profile is left out of the build (or LocalAuthListEnabled is false): version 0, list Accepted",
          ("TC_042_1_CS step 2", "TC_043_1_CS step 2")),
    Fault("local_list_not_implemented", "a build without the Local Auth List profile has no handler for its "
          "requests: CALLERROR NotImplemented instead of -1 / NotSupported (or CALLERROR NotSupported)",
          ("TC_042_1_CS step 2", "TC_043_1_CS step 2")),
    Fault("empty_local_list_keeps_version", "reports the listVersion of a Full update that emptied the list "
          "instead of 0 in GetLocalListVersion", ("TC_042_2_CS step 4",)),
    Fault("differential_update_failed", "only implements Full local list updates: a Differential one is answered "
          "Failed", ("TC_043_CS step 4", "TC_043_2_CS step 6")),
    Fault("differential_version_unchecked", "applies a Differential local list update whatever its listVersion, "
          "also one not newer than the installed list", ("TC_043_2_CS step 10",)),
    Fault("local_list_write_unchecked", "answers SendLocalList with Accepted without checking that the list was "
          "stored", ("TC_043_3_CS step 2",)),
    Fault("local_list_not_consulted", "keeps the local list but authorizes from the cache and the Central System "
          "only: a remote start for a listed idTag still waits for Authorize.req", ("TC_008_CS step 9",)),
    # Remote Trigger (hil_sim/charger/remote_trigger.py)
    Fault("trigger_core_messages_only", "TriggerMessage only knows the Core messages: DiagnosticsStatusNotification "
          "and FirmwareStatusNotification are answered NotImplemented", ("TC_054_CS step 14",)),
    Fault("triggered_status_not_resent", "accepts TriggerMessage(StatusNotification) but only ever sends a status "
          "when it changes, so the requested StatusNotification never comes", ("TC_054_CS step 11",)),
    Fault("trigger_connector_id_unchecked", "does not range-check the connectorId of TriggerMessage and accepts "
          "one it does not have", ("TC_055_CS step 2",)),
    # Reservation (hil_sim/charger/reservation.py)
    Fault("reservation_id_not_in_start", "uses up the reservation when its driver starts charging, but leaves the "
          "reservationId out of the StartTransaction", ("TC_046_1_CS step 9", "TC_046_2_CS step 11",
                                                        "TC_049_CS step 11", "TC_053_CS step 7")),
    Fault("reservation_accepts_any_id_tag", "reports the connector Reserved but lets any authorized card prepare "
          "and charge on it", ("TC_046_1_CS step 7",)),
    Fault("reservation_not_reported", "accepts ReserveNow and holds the connector, but keeps reporting it Available "
          "instead of Reserved", ("TC_046_2_CS step 3", "TC_049_CS step 3", "TC_052_CS step 3")),
    Fault("reservation_never_expires", "ignores the expiryDate: a reservation nobody uses holds the connector "
          "until it is cancelled", ("TC_047_CS step 5",)),
    Fault("reserve_now_always_accepted", "answers every ReserveNow with Accepted without looking at the connector "
          "(or station): Faulted, Occupied and Unavailable are never answered",
          ("TC_048_1_CS step 2", "TC_048_2_CS step 2", "TC_048_3_CS step 2", "TC_050_1_CS step 2",
           "TC_050_2_CS step 2", "TC_050_3_CS step 2")),
    Fault("reserve_now_not_implemented", "a build without the Reservation profile has no ReserveNow handler: the "
          "request gets a CALLERROR NotImplemented instead of the status Rejected",
          ("TC_048_4_CS step 2", "TC_050_4_CS step 2")),
    Fault("cancel_reservation_not_applied", "answers CancelReservation with Accepted but keeps the reservation: the "
          "connector stays Reserved", ("TC_051_CS step 3",)),
    Fault("cancel_reservation_id_unchecked", "cancels the reservation it holds whatever reservationId "
          "CancelReservation names (Accepted for an unknown id)", ("TC_052_CS step 2",)),
    Fault("reservation_ignores_parent_id_tag", "a reservation with a parentIdTag only admits the reserved idTag "
          "itself, not another card of its group", ("TC_053_CS step 3",)),
    # file transfers (hil_sim/charger/firmware.py)
    Fault("install_result_lost_on_reboot", "keeps the result of a firmware installation in RAM only: the station "
          "reboots into the new image but never reports Installed", ("TC_044_1_CS step 13", "TC_080_CS step 17")),
    Fault("download_errors_ignored", "does not notice a failed firmware download: reports Downloaded and hands an "
          "empty image to the installer instead of reporting DownloadFailed", ("TC_044_2_CS step 5",)),
    Fault("installs_unverified_image", "installs whatever was downloaded without checking the image (model, "
          "digest) and reports Installed", ("TC_044_3_CS step 11",)),
    Fault("upload_not_performed", "reports a diagnostics or log upload as Uploaded without transferring the file "
          "(the transfer step is a no-op)", ("TC_045_1_CS step 5", "TC_079_CS step 5")),
    Fault("upload_errors_ignored", "does not check the result of an upload: a failed diagnostics upload is "
          "reported Uploaded", ("TC_045_2_CS step 5",)),
    Fault("security_log_not_supported", "only implements the diagnostics log: GetLog for the SecurityLog is "
          "answered Rejected", ("TC_079_CS step 2",)),
    Fault("firmware_signature_not_checked", "installs a signed firmware without verifying its signature (neither "
          "SignatureVerified nor InvalidSignature is reported)", ("TC_080_CS step 7", "TC_081_CS step 7")),
    # smart charging (hil_sim/charger/smart_charging.py)
    Fault("charging_profile_not_applied", "accepts charging profiles and reports them in the composite schedule, "
          "but never changes the PWM: the EV is still offered the full current",
          ("TC_057_CS step 4", "TC_082_CS step 4", "TC_066_CS step 2", "TC_059_CS step 3")),
    Fault("pwm_not_updated_at_period_change", "sets the PWM when a profile arrives or a transaction starts, but not "
          "when the schedule moves on to its next period", ("TC_059_CS step 3",)),
    Fault("composite_without_tx_default", "leaves the TxDefaultProfile out of the composite schedule of a connector "
          "without a transaction (it only counts once one has started)",
          ("TC_056_CS step 4", "TC_067_CS step 4", "TC_072_CS step 2")),
    Fault("schedule_duration_ignored", "ignores a charging schedule's duration: its last period runs on until the "
          "profile's validTo", ("TC_072_CS step 2", "TC_056_CS step 4", "TC_082_CS step 4")),
    Fault("profile_purposes_min_combined", "takes the lowest of the TxProfile and the TxDefaultProfile instead of "
          "letting the transaction's TxProfile overrule the default", ("TC_066_CS step 2",)),
    Fault("clear_ignores_profile_id", "does not look at the id of ClearChargingProfile: a request with only an id "
          "reads as one without criteria and clears every profile", ("TC_067_CS step 4",)),
    Fault("tx_profile_transaction_unchecked", "accepts a TxProfile without checking that its transaction is the one "
          "running on the connector (or that one runs at all)", ("TC_058_1_CS step 2", "TC_058_2_CS step 2")),
    Fault("tx_default_only_for_new_transactions", "keeps a TxDefaultProfile installed during a transaction for the "
          "next transactions only: the running one keeps its limit", ("TC_082_CS step 4",)),
    Fault("remote_start_profile_purpose_unchecked", "accepts a RemoteStartTransaction whose chargingProfile is not a "
          "TxProfile", ("TC_060_CS step 2",)),
    Fault("remote_start_profile_ignored", "starts the transaction of a RemoteStartTransaction but drops the "
          "chargingProfile that came with it", ("TC_059_CS step 3",)),
    # the security extension (2.24): connection security and certificate management
    Fault("authorization_key_sent_as_hex", "sends the AuthorizationKey's hexadecimal text as the HTTP Basic "
          "password instead of the key's bytes", ("TC_085_CS step 1",)),
    Fault("tls_without_gcm_suites", "connects with a TLS 1.2-only stack that offers CBC cipher suites only (none "
          "of the AES-GCM suites the whitepaper requires)", ("TC_086_CS step 2",)),
    Fault("authorization_key_change_not_applied", "accepts a new AuthorizationKey and reconnects, but keeps "
          "sending the old password", ("TC_073_CS step 3",)),
    Fault("security_profile_upgrade_rejected", "refuses an upgrade to security profile 2 unless it already has a "
          "client certificate (a prerequisite of profile 3 only)", ("TC_083_CS step 2",)),
    Fault("security_profile_downgrade_accepted", "accepts a lower SecurityProfile over OCPP (and reconnects with "
          "it)", ("TC_084_CS step 2",)),
    Fault("expired_root_certificate_installed", "installs a root certificate without checking its validity "
          "period", ("TC_078_CS step 2",)),
    Fault("certificate_name_hash_of_text", "computes the issuerNameHash of CertificateHashData over the issuer "
          "name's text instead of its DER encoding (and matches DeleteCertificate on that)",
          ("TC_075_1_CS step 4", "TC_075_2_CS step 4", "TC_076_CS step 4")),
    Fault("install_certificate_type_ignored", "stores every installed root certificate as a "
          "CentralSystemRootCertificate, whatever certificateType says", ("TC_075_1_CS step 4",)),
    Fault("delete_certificate_ignored", "answers DeleteCertificate with Accepted but keeps the certificate",
          ("TC_076_CS step 6",)),
    Fault("certificate_signed_without_reconnect", "installs a new ChargePointCertificate but keeps its connection "
          "(and the old certificate) until the next reboot", ("TC_074_CS step 7",)),
    Fault("certificate_chain_not_verified", "accepts a CertificateSigned chain without verifying it against its "
          "Central System roots (a certificate from another CA is taken)", ("TC_077_CS step 6",)),
    # a fault no case step catches: a hung charger is the bench's to recover (benchctl/run/idle.py power-cycles it
    # through `mains`), so it fails no step of its own; tests/run/test_hung_charger.py shows the recovery
    Fault("requests_hang_until_power_cycle", "its request handler hangs from the first boot: the connection stays "
          "up and its own messages still go out, but no request of the Central System is answered until the "
          "station is power-cycled", ()),
    # the same for a charger a lost connection leaves offline: tests/run/test_offline_charger.py
    Fault("reconnect_stuck_until_power_cycle", "once its connection to the Central System is lost, its WebSocket "
          "client never dials again until the station is power-cycled", ()),
    Fault("csr_common_name_is_model", "puts its model name instead of its serial number in the commonName of the "
          "certificate signing request", ("TC_087_CS step 4",)),
    # defects beyond the document: the case passes with a WARN finding (`warns`), never a FAIL
    Fault("data_transfer_accepted", "answers every DataTransfer with Accepted, also for a vendorId it does not "
          "support (the document allows it but wants the vendor warned)", (), ("TC_062_CS document",)),
    Fault("meter_values_transaction_energy", "reports the energy of the transaction so far as the "
          "Energy.Active.Import.Register of its sampled MeterValues, so the register seems to fall below meterStart",
          (), ("TC_070_CS energy-register-backwards",)),
    Fault("energy_register_saved_rarely", "writes its energy register to flash every 100 Wh only: after a power "
          "loss it resumes from the last save, below the meterStart it already reported", (),
          ("TC_032_2_CS energy-register-backwards",)),
    Fault("energy_register_per_transaction", "reports a counter that restarts from zero with every transaction as "
          "its energy register: each meterStart is below the previous transaction's meterStop", (),
          ("TC_046_1_CS energy-register-backwards after TC_008_CS",)),
    Fault("rtc_not_synchronised", "stamps StatusNotification and MeterValues from a clock it never sets from "
          "BootNotification.conf's currentTime, ten minutes fast", (), ("TC_003_CS clock-skew",)),
    Fault("energy_register_overcounts", "its energy register advances 1.5 times the energy delivered (a current "
          "transformer ratio set wrong): meterStop - meterStart disagrees with the reference meter", (),
          ("TC_070_CS meter-disagrees",)),
]}


def unknown_faults(names: list[str]) -> list[str]:
    return [n for n in names if n not in FAULTS]


def unknown_faults_message(names: list[str]) -> str | None:
    """What is wrong with fault names the simulator does not have, each with the fault it probably means; None
    when it has them all."""
    from benchctl.config.suggest import did_you_mean_aside  # words only: no checking code of the tool side

    bad = unknown_faults(names)
    if not bad:
        return None
    return (f"unknown fault{'s' if len(bad) > 1 else ''} "
            + ", ".join(f"{name!r}{did_you_mean_aside(name, FAULTS)}" for name in bad) + "; see `benchctl faults`")


class FaultSet:
    """The faults switched on for one simulated station."""

    def __init__(self, names: list[str] | tuple[str, ...] = ()) -> None:
        problem = unknown_faults_message(list(names))
        if problem:
            raise ValueError(problem)
        self.names = set(names)

    def active(self, name: str) -> bool:
        if name not in FAULTS:
            raise KeyError(f"fault {name!r} is not declared in hil_sim.faults.FAULTS")
        return name in self.names
