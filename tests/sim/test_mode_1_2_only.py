"""A Mode 1/2-only station (the PICS's product subtype): a socket without Control Pilot. It sees the plug in its
socket and the current the EV draws, never the CP state, so it offers no PWM limit and cannot notice that the
cable was pulled at the EV side."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from benchctl.bench.config import load_bench
from benchctl.config import ConfigError
from benchctl.paths import DEFAULT_BENCH
from hil_sim.settings import SimSettings, StationSettings
from support.station import Session

mode12 = pytest.mark.parametrize(
    "station_settings", [SimSettings(StationSettings(boot_delay_s=0.05, fixed_cable=False, mode_1_2_only=True), [])])


def _statuses(session: Session, mark: int) -> list[str]:
    return [i.payload["status"] for i in session.link.inbox[mark:] if i.action == "StatusNotification"]


@mode12
async def test_charging_follows_the_current_not_a_pilot(session: Session) -> None:
    session.world.set("plugged_charger_side", True, connector_id=1)
    await session.charging()
    assert session.world.connector(1).pwm_duty_pct == 100.0, "no pilot, so no PWM limit offered"
    mark = session.mark()
    session.world.set("ev_state", "B", connector_id=1)  # the EV stops asking for energy
    await session.next("StatusNotification", lambda p: p["status"] == "SuspendedEV", after=mark)


@mode12
async def test_an_ev_side_unplug_goes_unnoticed(session: Session) -> None:
    session.world.set("plugged_charger_side", True, connector_id=1)
    await session.charging()
    assert (await session.call("ChangeConfiguration", {"key": "StopTransactionOnEVSideDisconnect",
                                                       "value": "true"}))["status"] == "Accepted"
    mark = session.mark()
    session.world.set("plugged_ev_side", False, connector_id=1)
    await session.next("StatusNotification", lambda p: p["status"] == "SuspendedEV", after=mark)
    await asyncio.sleep(1.0)
    assert not [i for i in session.link.inbox[mark:] if i.action == "StopTransaction"], \
        "the station cannot see the EV side, so the transaction goes on"
    assert "Finishing" not in _statuses(session, mark)


def test_a_tethered_mode_1_2_station_is_a_config_error(tmp_path: Path) -> None:
    text = DEFAULT_BENCH.read_text().replace("fixed_cable: false", "fixed_cable: true\n    mode_1_2_only: true")
    bench = tmp_path / "bench.yaml"
    bench.write_text(text)
    with pytest.raises(ConfigError, match="mode_1_2_only.*socket"):
        load_bench(bench)
