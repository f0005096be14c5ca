"""The simulated charger on a Type 1 (SAE J1772) coupler: it reads the latch circuit on PP and, while the latch
release is held during charging, delivers no current, as a J1772 station wired to S3 does before the unplug."""

from __future__ import annotations

import asyncio

import pytest

from support.station import Session, _settings, status

type1_station = pytest.mark.parametrize("station_settings", [_settings(fixed_cable=True, plug="type1")])


def energy_wh(session: Session) -> float:
    session.sim.station.energy.integrate()
    return session.world.connector(1).energy_wh


@type1_station
async def test_pressed_latch_stops_the_current_until_released(session: Session) -> None:
    station, world = session.sim.station, session.world
    assert world.connector(1).plug == "type1"
    assert station.hardware.pp_ohms(1) is None  # the coupler hangs on the station, not in the inlet
    await session.charging()
    assert station.hardware.pp_ohms(1) == 150.0
    assert station.energy.power_w(1) > 0
    mark = session.mark()

    world.set("latch_pressed", True, connector_id=1)
    assert station.hardware.pp_ohms(1) == 480.0
    assert station.hardware.latch_open(1)
    assert station.energy.power_w(1) == 0.0
    before = energy_wh(session)
    await asyncio.sleep(0.4)
    assert energy_wh(session) == pytest.approx(before, abs=1e-9)  # nothing flows while it is held
    # the session and its reported status are untouched: only the unplug that follows ends it
    assert station.connector_runtime(1).transaction is not None
    assert not [i for i in session.link.inbox[mark:] if i.action in ("StatusNotification", "StopTransaction")]

    world.set("latch_pressed", False, connector_id=1)  # the driver changed their mind: the current comes back
    assert station.energy.power_w(1) > 0

    world.set("latch_pressed", True, connector_id=1)
    world.set("plugged_ev_side", False, connector_id=1)
    world.set("ev_state", "A", connector_id=1)
    world.set("latch_pressed", False, connector_id=1)
    await session.next("StopTransaction", after=mark)
    await status(session, 1, "Available", mark)
    assert station.hardware.pp_ohms(1) is None


@pytest.mark.parametrize("station_settings", [_settings(fixed_cable=False)])
async def test_type2_socket_ignores_the_latch_and_reads_the_cable_rating(session: Session) -> None:
    station, world = session.sim.station, session.world
    world.set("plugged_charger_side", True, connector_id=1)
    world.set("pp_rating_a", 20, connector_id=1)
    await session.charging()
    assert station.hardware.pp_ohms(1) == 680.0
    assert station.hardware.cable_limit_a(1, 32.0) == 20.0  # the 680 ohm tester cable is a 20 A cable
    world.set("latch_pressed", True, connector_id=1)  # no S3 on a Type 2 plug: nothing changes
    assert not station.hardware.latch_open(1)
    assert station.energy.power_w(1) > 0
