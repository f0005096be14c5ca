"""HTTP software gear (drivers/software/http.py) against hil_sim's REST control surface, over real loopback HTTP:
each role's actions and read-backs, and the failures a bench action must report (status, timeout, URL)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from aiohttp import web

from benchctl.bench.config import load_bench
from benchctl.config.errors import ConfigError
from drivers.errors import DriverError
from drivers.relay.protocol import PowerSwitch
from drivers.software.http import HTTPCardPresenter, HTTPEVEmulator, HTTPMeter, HTTPOutput
from drivers.software.settings import HttpEvSettings, HttpGearSettings, HttpOutputSettings
from hil_sim.gear.control_http import HTTPControl
from hil_sim.world import World

EV_ACTIONS: dict[str, Any] = {
    "plug": {"method": "POST", "url": "/api/connectors/{connector_id}/ev/plug", "status": 204},
    "unplug": {"method": "POST", "url": "/api/connectors/{connector_id}/ev/unplug", "status": 204},
    "cp_state": {"method": "PUT", "url": "/api/connectors/{connector_id}/ev/state", "body": {"state": "{state}"},
                 "status": 204},
    "diode_fault": {"method": "PUT", "url": "/api/connectors/{connector_id}/ev/diode_fault",
                    "body": {"fault": "{fault}"}, "status": 204},
    "pp_rating": {"method": "PUT", "url": "/api/connectors/{connector_id}/ev/pp_rating", "body": {"amps": "{amps}"},
                  "status": 204},
    "measure": {"method": "GET", "url": "/api/connectors/{connector_id}/cp",
                "fields": {"state": "state", "duty_pct": "duty_pct"}},
}


def switch_actions(name: str) -> dict[str, Any]:
    put = {"method": "PUT", "url": f"/api/switches/{name}", "body": {"on": "{level}"}, "status": 204}
    return {"on": put, "off": put, "get": {"method": "GET", "url": f"/api/switches/{name}", "fields": {"level": "on"}}}


@pytest.fixture
async def control(world: World) -> AsyncIterator[HTTPControl]:
    surface = HTTPControl(world)
    await surface.start()
    yield surface
    await surface.stop()


async def test_ev_actions_move_the_world_and_measure_reads_the_cp_line(world: World, control: HTTPControl,
                                                                      opened: list[Any]) -> None:
    ev = HTTPEVEmulator("ev", HttpEvSettings(base_url=control.url, actions=EV_ACTIONS, timeout_s=1.0))
    opened.append(ev)
    world.connectors[0].plugged_charger_side = True
    await ev.set_cp_state("B")
    await ev.set_plug(True)
    assert world.connectors[0].plugged_ev_side and world.connectors[0].ev_state == "B"
    await ev.set_pp_rating(20)
    await ev.set_diode_fault(True)
    assert world.connectors[0].pp_rating_a == 20 and world.connectors[0].diode_fault
    await ev.set_diode_fault(False)
    world.connectors[0].pwm_duty_pct = 53.3  # the charger offers 32 A
    reading = await ev.measure()
    assert (reading.state, reading.duty_pct, reading.frequency_hz) == ("B", 53.3, 1000.0)
    assert reading.current_limit_a == pytest.approx(32.0, abs=0.1)
    assert reading.high_v == 9.0 and reading.low_v == -12.0  # derived from the state, as the map leaves them out
    await ev.safe_state()
    assert not world.connectors[0].plugged_ev_side and world.connectors[0].ev_state == "A"
    assert (await ev.self_test())["state"] == "A"


async def test_card_presenter_presents_and_removes_after_the_hold(world: World, control: HTTPControl,
                                                                  opened: list[Any]) -> None:
    card = HTTPCardPresenter("card", HttpGearSettings(base_url=control.url, actions={
        "present": {"method": "PUT", "url": "/api/reader/card", "body": {"uid": "{uid}"}, "status": 204},
        "remove": {"method": "DELETE", "url": "/api/reader/card", "status": 204},
        "probe": {"method": "GET", "url": "/api/reader"}}))
    opened.append(card)
    await card.present("04a1b2c3", hold_s=0.2)
    assert world.card_uid == "04A1B2C3"
    await asyncio.sleep(0.4)
    assert world.card_uid is None
    assert await card.self_test() == {"probe": "answered"}


async def test_switch_on_off_get_and_a_power_cycle(world: World, control: HTTPControl, opened: list[Any]) -> None:
    mains = HTTPOutput("mains", HttpOutputSettings(base_url=control.url, actions=switch_actions("mains"),
                                                   safe_level=True))
    opened.append(mains)
    await mains.set(False)
    assert not world.mains_on and await mains.get() is False
    await mains.set(True)
    seen = []
    world.subscribe(lambda name, value: seen.append((name, value)))
    await PowerSwitch(mains, off_time_s=0.05).cycle()
    assert seen == [("mains_on", False), ("mains_on", True)]
    await mains.set(False)
    await mains.safe_state()
    assert world.mains_on


async def test_meter_reads_lists_and_numbers_from_json_paths(world: World, control: HTTPControl,
                                                            opened: list[Any]) -> None:
    world.connectors[0].energy_wh = 1500.0
    meter = HTTPMeter("meter", HttpGearSettings(base_url=control.url, actions={"read": {
        "method": "GET", "url": "/api/connectors/1/meter", "fields": {
            "voltage_v": "voltage_v", "current_a": "current_a", "power_w": "power_w", "energy_wh": "energy_wh",
            "frequency_hz": "frequency_hz"}}}))
    opened.append(meter)
    reading = await meter.read()
    assert reading.voltage_v == [230.0] * 3 and reading.energy_wh == 1500.0 and reading.frequency_hz == 50.0


async def test_an_unexpected_status_names_the_url_and_the_status(control: HTTPControl, opened: list[Any]) -> None:
    relay = HTTPOutput("fault", HttpOutputSettings(base_url=control.url, actions=switch_actions("no_such_switch")))
    opened.append(relay)
    with pytest.raises(DriverError) as caught:
        await relay.set(True)
    assert f"PUT {control.url}/api/switches/no_such_switch: status 404, expected 204" in str(caught.value)
    assert caught.value.role == "fault"


async def test_a_request_not_answered_in_time_fails_with_the_url(opened: list[Any]) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.Response(status=204)

    app = web.Application()
    app.router.add_put("/slow", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        put = {"method": "PUT", "url": "/slow", "status": 204, "timeout_s": 0.2}
        relay = HTTPOutput("network", HttpOutputSettings(base_url=url, actions={"on": put, "off": put}))
        opened.append(relay)
        with pytest.raises(DriverError, match=rf"PUT {url}/slow: no answer within 0.2 s \(no status\)"):
            await relay.set(True)
    finally:
        await runner.cleanup()


async def test_nothing_listening_is_a_driver_error_naming_the_url(opened: list[Any]) -> None:
    ev = HTTPEVEmulator("ev", HttpEvSettings(base_url="http://127.0.0.1:9", actions=EV_ACTIONS, timeout_s=0.5))
    opened.append(ev)
    with pytest.raises(DriverError, match=r"POST http://127.0.0.1:9/api/connectors/1/ev/plug: .*\(no status\)"):
        await ev.set_plug(True)


def _bench_with(tmp_path: Path, roles: str) -> Path:
    text = (Path(__file__).parents[2] / "bench_configs" / "sim-http.yaml").read_text()
    head = text.split("\nroles:\n")[0].replace("pics: ../pics/sim.yaml", "pics: null")
    path = tmp_path / "bench.yaml"
    path.write_text(head + "\nroles:\n" + roles)
    return path


def test_a_template_naming_an_unknown_value_is_a_config_error_at_its_line(tmp_path: Path) -> None:
    path = _bench_with(tmp_path, """\
  ev:
    driver: http_ev
    base_url: ${sim.control.url}
    actions:
      plug: {url: /ev/plug}
      unplug: {url: /ev/unplug}
      cp_state:
        method: PUT
        url: "/ev/{connector_id}/state/{stat}"
      measure: {url: /cp, fields: {state: s, duty_pct: d}}
""")
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "{stat}" in text)
    with pytest.raises(ConfigError) as caught:
        load_bench(path)
    assert f"{path}:{line}: roles.ev.actions.cp_state.url:" in str(caught.value)
    assert "unknown value {stat}" in str(caught.value) and "{state}" in str(caught.value)


def test_a_body_template_and_a_missing_action_are_config_errors(tmp_path: Path) -> None:
    path = _bench_with(tmp_path, """\
  ev:
    driver: http_ev
    base_url: ${sim.control.url}
    actions:
      plug: {url: /ev/plug, body: {uid: "{uid}"}}
      unplug: {url: /ev/unplug}
      measure: {url: /cp, fields: {state: s, duty_pct: d, volts: v}}
""")
    with pytest.raises(ConfigError) as caught:
        load_bench(path)
    message = str(caught.value)
    assert "roles.ev.actions.plug.body: unknown value {uid}" in message
    assert "roles.ev.actions.measure.fields: unknown field volts" in message
