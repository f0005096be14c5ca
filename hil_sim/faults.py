"""Named charger bugs and gear failures, switched on per run, so every check is shown to be able to fail.

Each fault says what it breaks and which test case step should catch it. They are data: the simulated
charger asks `faults.active(name)` at the point where real firmware would misbehave.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    name: str
    description: str
    caught_by: tuple[str, ...]  # the test case steps that must turn FAIL ("TC_003_CS step 1")


FAULTS: dict[str, Fault] = {f.name: f for f in [
    Fault("skip_preparing", "never reports StatusNotification(Preparing) when a cable is plugged in",
          ("TC_003_CS step 1",)),
    Fault("no_start_transaction", "authorizes the idTag but never sends StartTransaction",
          ("TC_003_CS step 5", "TC_004_1_CS step 3")),
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
    Fault("wrong_connector_id", "reports connectorId+1 in every StatusNotification of a connector in use (not Available)",
          ("TC_010_CS step 3",)),
]}


def unknown_faults(names: list[str]) -> list[str]:
    return [n for n in names if n not in FAULTS]


class FaultSet:
    """The faults switched on for one simulated station."""

    def __init__(self, names: list[str] | tuple[str, ...] = ()) -> None:
        bad = unknown_faults(list(names))
        if bad:
            raise ValueError(f"unknown fault(s): {', '.join(bad)}; known: {', '.join(sorted(FAULTS))}")
        self.names = set(names)

    def active(self, name: str) -> bool:
        if name not in FAULTS:
            raise KeyError(f"fault {name!r} is not declared in hil_sim.faults.FAULTS")
        return name in self.names
