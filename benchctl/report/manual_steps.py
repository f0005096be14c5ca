"""The section "Manual steps done by the bench": each physical action a tester would have done by hand (plug in,
unplug, present a card, power cycle, cut the network, ...), counted, with the cases that needed it.

The action log (actions.jsonl) holds driver commands; a command is a manual step when it changes something a
person could: the plug, a card, mains, the network, a fault input. Putting the gear at rest before a case
(the return to idle sets every output to its resting level) is the bench's housekeeping, not a step a lab
would do, so only its moves away from rest, a power cycle, the plug and cards count there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from benchctl.record.run import RunRecord

from .cases import CaseRow
from .timeline import ACTION, EV, RESET, case_timeline

# the level each output rests at between cases (benchctl/run/idle.py); a `set` there is housekeeping
_REST = {"mains": True, "network": True}
_SET = {
    ("mains", True): "switch mains on", ("mains", False): "switch mains off",
    ("network", True): "restore the network link", ("network", False): "cut the network link",
    ("fault", True): "trip the fault input", ("fault", False): "clear the fault input",
    ("lock_fault", True): "make the plug lock fail", ("lock_fault", False): "make the plug lock work again",
    ("local_list_fault", True): "make storing a local list fail",
    ("local_list_fault", False): "make storing a local list work again",
    ("security_reset", True): "security reset input on", ("security_reset", False): "security reset input off",
}


@dataclass
class ManualStep:
    what: str
    count: int = 0
    cases: dict[str, int] = field(default_factory=dict)  # case (or "<case>:reset") -> how often


def manual_steps(record: RunRecord, rows: list[CaseRow]) -> list[ManualStep]:
    steps: dict[str, ManualStep] = {}
    for row in rows:
        if row.result is None:
            continue
        for event in case_timeline(record, row):
            if event.kind not in (ACTION, EV) or event.action is None or event.action.get("error"):
                continue
            what = physical(event.action, at_reset=event.phase == RESET)
            if what is None:
                continue
            owner = f"{row.id}:reset" if event.phase == RESET else row.id
            step = steps.setdefault(what, ManualStep(what))
            step.count += 1
            step.cases[owner] = step.cases.get(owner, 0) + 1
    return sorted(steps.values(), key=lambda s: (-s.count, s.what))


def physical(action: dict[str, Any], at_reset: bool = False) -> str | None:
    """The manual step a logged driver command stands for, or None for one no person would do."""
    role, command = action.get("role"), action.get("command")
    given = action.get("args")
    args: dict[str, Any] = given if isinstance(given, dict) else {}
    if role == "ev" and command == "set_plug":
        return "plug the cable in" if args.get("connected") else "unplug the cable"
    if role == "ev" and command == "set_cp_state" and not at_reset:
        return f"EV to CP state {args.get('state', '?')}"
    if role == "card" and command == "present":
        return "present a card"
    if role == "mains" and command == "cycle":
        return "power cycle"
    if command == "set" and isinstance(args.get("level"), bool):
        if at_reset and args["level"] == _REST.get(str(role), False):
            return None
        return _SET.get((str(role), args["level"]))
    return None
