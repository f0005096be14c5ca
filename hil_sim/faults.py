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
          ("TC_003_CS step 5",)),
    Fault("ignore_boot_interval", "retries a rejected BootNotification at once instead of after the interval",
          ("TC_001_CS step 3",)),
    Fault("wrong_heartbeat_interval", "sends Heartbeat at twice the interval the Central System set",
          ("TC_001_CS step 7",)),
    Fault("reject_remote_start", "answers RemoteStartTransaction with Rejected", ("TC_010_CS step 6",)),
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
