"""MQTT software gear (drivers/software/mqtt.py) against hil_sim's MQTT control surface through a REAL mosquitto
broker: publishes per action, read-backs from retained state and from a request, and what fails."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import pytest

from drivers.errors import DriverError
from drivers.software.mqtt import MQTTCardPresenter, MQTTEVEmulator, MQTTMeter, MQTTOutput
from drivers.software.settings import MqttEvSettings, MqttGearSettings, MqttOutputSettings
from hil_sim.gear.control_mqtt import MQTTControl
from hil_sim.world import World

from support.mosquitto import Mosquitto, free_port, mosquitto_or_fail

P = "lab/fw"
EV_ACTIONS: dict[str, Any] = {
    "plug": {"topic": P + "/connector/{connector_id}/ev/plugged/set", "payload": "1"},
    "unplug": {"topic": P + "/connector/{connector_id}/ev/plugged/set", "payload": "0"},
    "cp_state": {"topic": P + "/connector/{connector_id}/ev/state/set", "payload": "{state}"},
    "diode_fault": {"topic": P + "/connector/{connector_id}/ev/diode_fault/set", "payload": "{fault}"},
    "pp_rating": {"topic": P + "/connector/{connector_id}/ev/pp_rating/set", "payload": "{amps}"},
    "measure": {"topic": P + "/connector/{connector_id}/cp", "fields": {"state": "state", "duty_pct": "duty_pct"}},
}


def switch_actions(name: str) -> dict[str, Any]:
    return {"on": {"topic": f"{P}/switch/{name}/set", "payload": "ON"},
            "off": {"topic": f"{P}/switch/{name}/set", "payload": "OFF"},
            "get": {"topic": f"{P}/switch/{name}", "fields": {"level": ""}}}


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    with mosquitto_or_fail(tmp_path / "broker") as running:
        yield running


@pytest.fixture
async def control(world: World, broker: Mosquitto) -> AsyncIterator[MQTTControl]:
    surface = MQTTControl(world, broker.host, broker.port, prefix=P)
    await surface.start()
    yield surface
    await surface.stop()


async def until(condition: Any, timeout_s: float = 2.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.01)


async def test_ev_publishes_move_the_world_and_measure_reads_the_retained_state(
        world: World, broker: Mosquitto, control: MQTTControl, opened: list[Any]) -> None:
    ev = MQTTEVEmulator("ev", MqttEvSettings(host=broker.host, port=broker.port, actions=EV_ACTIONS, timeout_s=1.0))
    opened.append(ev)
    world.connectors[0].plugged_charger_side = True
    await ev.set_cp_state("C")
    await ev.set_plug(True)
    await ev.set_pp_rating(13)
    await until(lambda: world.connectors[0].ev_connected and world.connectors[0].pp_rating_a == 13)
    world.set("pwm_duty_pct", 16.0, connector_id=1)  # the charger offers 9.6 A: published retained at once
    await until(lambda: control.panel.cp(1)["duty_pct"] == 16.0)
    await asyncio.sleep(0.1)
    reading = await ev.measure()
    assert (reading.state, reading.duty_pct) == ("C", 16.0)
    assert reading.current_limit_a == pytest.approx(9.6)
    await ev.safe_state()
    await until(lambda: not world.connectors[0].plugged_ev_side and world.connectors[0].ev_state == "A")


async def test_card_and_switches(world: World, broker: Mosquitto, control: MQTTControl, opened: list[Any]) -> None:
    card = MQTTCardPresenter("card", MqttGearSettings(host=broker.host, port=broker.port, actions={
        "present": {"topic": f"{P}/reader/card/set", "payload": "{uid}"},
        "remove": {"topic": f"{P}/reader/card/set", "payload": ""}}))
    network = MQTTOutput("network", MqttOutputSettings(host=broker.host, port=broker.port,
                                                       actions=switch_actions("network"), safe_level=True))
    opened += [card, network]
    await card.present("04D4E5F6")
    await until(lambda: world.card_uid == "04D4E5F6")
    await card.remove()
    await until(lambda: world.card_uid is None)
    await network.set(False)
    await until(lambda: not world.network_up)
    await asyncio.sleep(0.1)  # the state topic follows the World
    assert await network.get() is False
    await network.safe_state()
    await until(lambda: world.network_up)


async def test_meter_asks_and_takes_only_an_answer_newer_than_its_request(
        world: World, broker: Mosquitto, control: MQTTControl, opened: list[Any]) -> None:
    meter = MQTTMeter("meter", MqttGearSettings(host=broker.host, port=broker.port, actions={"read": {
        "topic": P + "/connector/{connector_id}/meter",
        "request": {"topic": P + "/connector/{connector_id}/meter/get", "payload": ""},
        "fields": {"voltage_v": "voltage_v", "current_a": "current_a", "power_w": "power_w",
                   "energy_wh": "energy_wh"}}}))
    opened.append(meter)
    world.connectors[0].energy_wh = 100.0
    assert (await meter.read()).energy_wh == 100.0
    world.connectors[0].energy_wh = 250.0
    assert (await meter.read()).energy_wh == 250.0  # not the message of the first read


async def test_a_state_topic_nobody_publishes_fails_with_the_topic(broker: Mosquitto, opened: list[Any]) -> None:
    relay = MQTTOutput("cable", MqttOutputSettings(host=broker.host, port=broker.port, actions=switch_actions("cable"),
                                               timeout_s=0.3))
    opened.append(relay)
    with pytest.raises(DriverError, match=rf"no message on {P}/switch/cable within 0.3 s"):
        await relay.get()


async def test_no_broker_is_a_driver_error_naming_it(opened: list[Any]) -> None:
    port = free_port()
    relay = MQTTOutput("mains", MqttOutputSettings(host="127.0.0.1", port=port, actions=switch_actions("mains"),
                                               timeout_s=0.5))
    opened.append(relay)
    with pytest.raises(DriverError, match=rf"cannot reach the MQTT broker 127.0.0.1:{port}"):
        await relay.set(True)


def test_a_port_that_is_no_number_is_refused_when_the_driver_is_made() -> None:
    with pytest.raises(ValueError, match=r"port must be 1..65535, not '\$\{sim.mqtt_port\}'"):
        MQTTOutput("mains", MqttOutputSettings(host="127.0.0.1", port="${sim.mqtt_port}",
                                               actions=switch_actions("mains")))


async def test_a_restarted_broker_is_reconnected_on_the_next_action(tmp_path: Path, world: World,
                                                                    opened: list[Any]) -> None:
    with mosquitto_or_fail(tmp_path / "b1") as first:
        port = first.port
        relay = MQTTOutput("mains", MqttOutputSettings(host=first.host, port=port, actions={
            "on": {"topic": "x/set", "payload": "ON"}, "off": {"topic": "x/set", "payload": "OFF"}}))
        opened.append(relay)
        await relay.set(True)
    with mosquitto_or_fail(tmp_path / "b2", port=port) as second:
        assert second.port == port
        await relay.set(False)  # the first try finds the old connection gone, the second connects again


async def test_a_set_output_returns_once_its_read_back_shows_the_level(
        world: World, broker: Mosquitto, control: MQTTControl, opened: list[Any]) -> None:
    """A command published is not yet a command done: the next step (a tool request the fault must change the
    answer to, TC_030's UnlockConnector) may only run once the device shows it."""
    lock_fault = MQTTOutput("lock_fault", MqttOutputSettings(host=broker.host, port=broker.port,
                                                             actions=switch_actions("lock_failure")))
    opened.append(lock_fault)
    for level in (True, False, True):
        await lock_fault.set(level)
        assert world.connectors[0].lock_failure is level  # no waiting here: set came back once it was so


async def test_a_read_back_that_does_not_follow_the_set_is_a_driver_error(broker: Mosquitto,
                                                                        opened: list[Any]) -> None:
    import aiomqtt

    async with aiomqtt.Client(broker.host, broker.port) as stuck:  # a device whose state topic never moves
        await stuck.publish(f"{P}/switch/mains", "ON", qos=1, retain=True)
    relay = MQTTOutput("mains", MqttOutputSettings(host=broker.host, port=broker.port, actions=switch_actions("mains"),
                                                   timeout_s=0.3))
    opened.append(relay)
    with pytest.raises(DriverError, match=r"set to off, its read-back still shows on after 0.3 s"):
        await relay.set(False)
