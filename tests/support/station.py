"""Scripted OCPP sessions against a simulated station, from a Central System of our own."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Callable

import pytest

from benchctl.csms.link import ChargerLink, Received
from benchctl.csms.server import CentralSystem
from hil_sim.bench import SimBench
from hil_sim.settings import SimSettings, StationSettings
from hil_sim.world import World

VALUES = {"heartbeat_interval_s": 60, "valid_id_tag": "04A1B2C3", "valid_id_tag_2": "04D4E5F6"}


@dataclass
class Session:
    sim: SimBench
    link: ChargerLink
    csms: CentralSystem

    @property
    def world(self) -> World:
        return self.sim.world

    async def next(self, action: str, where: Callable[[dict[str, Any]], bool] = lambda p: True,
                   after: int = 0, timeout: float = 10.0) -> Received:
        """The first `action` from the charger at inbox position >= after that satisfies `where`."""
        def find() -> list[Received]:
            return [i for i in self.link.inbox[after:] if i.action == action and where(i.payload)][:1]
        found = await self.link.wait_until(find, timeout)
        assert found, f"no {action} within {timeout} s; inbox: {[(i.action, i.payload) for i in self.link.inbox]}"
        return found[0]

    def mark(self) -> int:
        return len(self.link.inbox)

    async def call(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        response, _ = await self.link.call(action, payload)
        return response

    async def charging(self, connector_id: int = 1) -> int:
        """Plug in and remote-start; return the transaction id."""
        mark = self.mark()
        self.world.set("ev_state", "C", connector_id=connector_id)
        self.world.set("plugged_ev_side", True, connector_id=connector_id)
        assert (await self.call("RemoteStartTransaction", {"connectorId": connector_id, "idTag": "04A1B2C3"}))[
            "status"] == "Accepted"
        start = await self.next("StartTransaction", after=mark)
        await self.next("StatusNotification", lambda p: p["status"] == "Charging", after=mark)
        assert start.answer is not None
        return int(start.answer["transactionId"])


def _settings(**station: Any) -> SimSettings:
    return SimSettings(StationSettings(boot_delay_s=0.05, **station), [])


socket_station = pytest.mark.parametrize("station_settings", [_settings(fixed_cable=False)])


async def status(session: Session, connector_id: int, wanted: str, after: int, timeout: float = 5) -> None:
    """Wait for the connector's StatusNotification with that status, after inbox position `after`."""
    await session.next("StatusNotification", lambda p: p["connectorId"] == connector_id and p["status"] == wanted,
                       after=after, timeout=timeout)


async def present(session: Session, id_tag: str) -> None:
    """Hold a card in front of the reader for a moment, as a driver does."""
    session.world.set("card_uid", id_tag)
    await asyncio.sleep(0.3)
    session.world.set("card_uid", None)
