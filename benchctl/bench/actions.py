"""Bench actions: the verbs of the test case document's manual steps, composed from roles.

Each action names the roles it needs, so a scenario that uses it can be reported as not runnable on a
bench that lacks them, instead of failing half-way.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from drivers.rfid.uid import uid_for_id_tag

from .bench import Bench

ActionFunc = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class ActionSpec:
    name: str
    roles: tuple[str, ...]
    func: ActionFunc
    help: str


ACTIONS: dict[str, ActionSpec] = {}


def action(name: str, roles: tuple[str, ...], help: str) -> Callable[[ActionFunc], ActionFunc]:
    def register(func: ActionFunc) -> ActionFunc:
        ACTIONS[name] = ActionSpec(name, roles, func, help)
        return func
    return register


@action("plug_in", ("ev",), "plug the cable in at both sides; the EV goes to state B, then C (ready)")
async def plug_in(bench: Bench, ready: bool = True) -> None:
    if bench.has("cable"):
        await bench.output("cable").set(True)
    await bench.ev.set_cp_state("B")
    await bench.ev.set_plug(True)
    if ready:
        await asyncio.sleep(bench.values["ev_ready_delay_s"])
        await bench.ev.set_cp_state("C")


async def _leave(bench: Bench, pull: Callable[[], Awaitable[None]]) -> None:
    """Pull the plug out as a driver does: on a Type 1 coupler the thumb presses the latch release first and holds
    it while the coupler comes out (S3 open tells vehicle and station to stop the current before the pins part);
    the release is let go even when the pull fails, so the bench is never left with the button held."""
    if bench.ev.plug != "type1":
        await pull()
        return
    await bench.ev.set_latch(True)
    try:
        await asyncio.sleep(bench.values["latch_press_s"])
        await pull()
    finally:
        await bench.ev.set_latch(False)


@action("unplug", ("ev",), "unplug the cable at both sides (a Type 1 coupler: latch pressed, unplugged, released)")
async def unplug(bench: Bench) -> None:
    async def pull() -> None:
        await bench.ev.set_plug(False)
        await bench.ev.set_cp_state("A")
    await _leave(bench, pull)
    if bench.has("cable"):
        await bench.output("cable").set(False)


@action("ev_side_disconnect", ("ev",), "unplug at the EV side only (a Type 1 coupler: with its latch pressed)")
async def ev_side_disconnect(bench: Bench) -> None:
    await _leave(bench, lambda: bench.ev.set_plug(False))


@action("present_id", ("card",), "hold the card for an idTag in front of the reader")
async def present_id(bench: Bench, id_tag: str, hold_s: float = 1.0) -> None:
    await bench.card.present(uid_for_id_tag(str(id_tag), bench.config.cards), hold_s=hold_s)


@action("remove_card", ("card",), "take the card away from the reader")
async def remove_card(bench: Bench) -> None:
    await bench.card.remove()


@action("power_cycle", ("mains",), "switch mains off, wait, switch it on again")
async def power_cycle(bench: Bench, off_s: float | None = None) -> None:
    await bench.power("mains").cycle(off_s)


@action("power_off", ("mains",), "switch mains off")
async def power_off(bench: Bench) -> None:
    await bench.power("mains").off()


@action("power_on", ("mains",), "switch mains on")
async def power_on(bench: Bench) -> None:
    await bench.power("mains").on()


@action("network_down", ("network",), "cut the charger's network link")
async def network_down(bench: Bench) -> None:
    await bench.output("network").set(False)


@action("network_up", ("network",), "restore the charger's network link")
async def network_up(bench: Bench) -> None:
    await bench.output("network").set(True)


@action("set_faulted", ("fault",), "put the station in a fault state (the fault relay trips the connector's "
                                   "residual current monitor), or clear it with faulted: false")
async def set_faulted(bench: Bench, faulted: bool = True) -> None:
    await bench.output("fault").set(faulted)


@action("lock_failure", ("lock_fault",), "make the connector's plug lock fail (on), or work again (on: false)")
async def lock_failure(bench: Bench, on: bool = True) -> None:
    await bench.output("lock_fault").set(on)


@action("local_list_failure", ("local_list_fault",), "prepare the station so that storing a local authorization "
                                                     "list fails (on), or works again (on: false)")
async def local_list_failure(bench: Bench, on: bool = True) -> None:
    await bench.output("local_list_fault").set(on)


@action("set_cp_state", ("ev",), "set the EV emulator's CP state (A-F)")
async def set_cp_state(bench: Bench, state: str) -> None:
    await bench.ev.set_cp_state(state)


def missing_roles(bench: Bench, roles: list[str]) -> list[str]:
    return [r for r in roles if not bench.has(r)]
