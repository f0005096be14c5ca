"""The MQTT relay driver against simulated Tasmota / Shelly devices, through a REAL mosquitto broker (no mocks).

Every test gets its own broker on 127.0.0.1 and a free port (see tests/mosquitto.py). Without the mosquitto
binary these tests fail, on purpose: `./dev test` installs it.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import AsyncIterator, Iterator

import aiomqtt
import pytest

from drivers.errors import DriverError
from drivers.relay.mqtt import MQTTOutput
from drivers.relay.protocol import PowerSwitch
from drivers.relay.settings import MqttRelaySettings
from hil_sim.gear.mqtt_relay import SimMQTTRelay
from hil_sim.world import World

from support.mosquitto import Mosquitto, make_tls_files, mosquitto_or_fail

FAST = {"timeout_s": 0.3, "retries": 1}  # two tries
DEVICE = "bench-relay"
FLAVOURS = ["tasmota", "shelly_gen1", "shelly_gen2"]
USER, PASSWORD = "bench", "s3cret"



@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """An anonymous broker."""
    with mosquitto_or_fail(tmp_path / "broker") as running:
        yield running


@pytest.fixture
def auth_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A broker that wants a username and password (password file made with mosquitto_passwd -b)."""
    with mosquitto_or_fail(tmp_path / "auth-broker", users={USER: PASSWORD}) as running:
        yield running


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
async def devices(broker: Mosquitto, world: World) -> AsyncIterator:
    """Simulated devices started by a test on the anonymous broker, stopped after it."""
    started: list[SimMQTTRelay] = []

    async def make(flavour: str, device: str = DEVICE, wiring: dict[int, str] | None = None) -> SimMQTTRelay:
        sim = SimMQTTRelay(world, broker.host, broker.port, device, flavour=flavour, wiring=wiring)
        await sim.start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        await sim.stop()


@pytest.fixture
async def outputs(broker: Mosquitto) -> AsyncIterator:
    """Drivers made by a test (on the anonymous broker unless told otherwise), closed after it."""
    opened: list[MQTTOutput] = []

    def make(role: str, flavour: str, channel: int = 0, **kwargs) -> MQTTOutput:
        kwargs = {"host": broker.host, "port": broker.port, "device": DEVICE, **FAST, **kwargs}
        output = MQTTOutput(role, MqttRelaySettings(flavour=flavour, channel=channel, **kwargs))
        opened.append(output)
        return output

    yield make
    for output in opened:
        await output.close()


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_set_and_get_drive_the_world(devices, outputs, world: World, flavour: str) -> None:
    await devices(flavour)
    mains, network = outputs("mains", flavour, 0), outputs("network", flavour, 1)
    await mains.connect()
    await mains.set(False)
    assert world.mains_on is False
    await network.set(False)
    assert (world.mains_on, world.network_up) == (False, False)
    assert [await mains.get(), await network.get()] == [False, False]
    await mains.set(True)
    assert (world.mains_on, world.network_up) == (True, False)
    world.set("network_up", True)  # changed by someone else, e.g. a fault injection: get reads it live
    assert await network.get() is True
    assert [s.command for s in mains.steplog.steps] == ["connect", "set", "get", "set"]


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_any_boolean_world_field_can_be_wired(devices, outputs, world: World, flavour: str) -> None:
    await devices(flavour, wiring={0: "connector1.plugged_ev_side", 3: "lock_failure"})
    ev_side, lock_failure = outputs("ev_side", flavour, 0), outputs("lock_failure", flavour, 3)
    await asyncio.gather(ev_side.set(True), lock_failure.set(True))
    assert (world.connector(1).plugged_ev_side, world.connector(1).lock_failure) == (True, True)


async def test_single_relay_tasmota_answers_as_power(devices, outputs, world: World, broker: Mosquitto) -> None:
    # a one-relay Tasmota names its relay POWER (not POWER1) in stat/…/RESULT and stat/…/POWER
    await devices("tasmota", wiring={0: "mains"})
    seen: list[tuple[str, bytes]] = []
    async with aiomqtt.Client(broker.host, broker.port) as spy:
        await spy.subscribe(f"stat/{DEVICE}/#")
        mains = outputs("mains", "tasmota")
        await mains.set(False)
        assert world.mains_on is False
        assert await mains.get() is False
        async with asyncio.timeout(2):
            async for message in spy.messages:
                seen.append((message.topic.value, message.payload))
                if len(seen) == 4:
                    break
    assert (f"stat/{DEVICE}/RESULT", b'{"POWER": "OFF"}') in seen
    assert (f"stat/{DEVICE}/POWER", b"OFF") in seen


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_inversion(devices, outputs, world: World, flavour: str) -> None:
    await devices(flavour)
    network = outputs("network", flavour, 1, invert=True)  # wired normally closed: energised = link cut
    await network.set(True)
    assert world.network_up is False
    assert await network.get() is True
    await network.set(False)
    assert world.network_up is True
    assert await network.get() is False
    assert await network.self_test() == {
        "flavour": flavour, "device": DEVICE, "channel": 1, "raw": True, "level": False, "invert": True
    }


@pytest.mark.parametrize(
    "invert, safe_level, expected_raw",
    [(False, False, False), (False, True, True), (True, False, True), (True, True, False)],
)
async def test_safe_state_drives_the_safe_level(
    devices, outputs, world: World, invert: bool, safe_level: bool, expected_raw: bool
) -> None:
    await devices("shelly_gen2")
    mains = outputs("mains", "shelly_gen2", invert=invert, safe_level=safe_level)
    await mains.set(not safe_level)
    await mains.safe_state()
    assert world.mains_on is expected_raw
    assert await mains.get() is safe_level


async def test_power_switch_cycle_over_mqtt(devices, outputs, world: World) -> None:
    await devices("tasmota")
    events: list[tuple[str, object]] = []
    world.subscribe(lambda name, value: events.append((name, value)))
    switch = PowerSwitch(outputs("mains", "tasmota"), off_time_s=0.05)
    await switch.cycle()
    assert events == [("mains_on", False), ("mains_on", True)]
    assert [s.command for s in switch.steplog.steps] == ["set", "set", "cycle"]


async def test_retained_state_is_not_taken_for_an_answer(devices, outputs, world: World, broker: Mosquitto) -> None:
    # a stale retained report (e.g. from before a power cut) must not pass for the device's answer
    async with aiomqtt.Client(broker.host, broker.port) as other:
        await other.publish(f"stat/{DEVICE}/POWER1", b"OFF", qos=1, retain=True)
        await other.publish(f"stat/{DEVICE}/RESULT", b'{"POWER1":"OFF"}', qos=1, retain=True)
    sim = await devices("tasmota")
    sim.silent = True
    mains = outputs("mains", "tasmota")
    with pytest.raises(DriverError, match="no answer after 2 tries"):
        await mains.get()
    sim.silent = False
    assert await mains.get() is True  # the world's mains_on, not the retained OFF


@pytest.mark.parametrize(
    "flavour, address",
    [("tasmota", "tasmota/bench-relay POWER1"), ("shelly_gen1", "shelly_gen1/bench-relay relay 0"),
     ("shelly_gen2", "shelly_gen2/bench-relay switch:0")],
)
async def test_silent_device_gives_driver_error_in_bounded_time(
    devices, outputs, world: World, broker: Mosquitto, flavour: str, address: str
) -> None:
    sim = await devices(flavour)
    mains = outputs("mains", flavour)
    assert await mains.get() is True
    sim.silent = True
    started = time.monotonic()
    with pytest.raises(DriverError) as caught:
        await mains.set(False)
    elapsed = time.monotonic() - started
    err = caught.value
    assert (err.role, err.backend, err.address) == ("mains", "MQTT", f"127.0.0.1:{broker.port} {address}")
    assert str(err) == f"mains: MQTT 127.0.0.1:{broker.port} {address}: no confirmation after 2 tries of 0.3 s"
    assert 0.5 < elapsed < 1.5  # two tries of 0.3 s
    with pytest.raises(DriverError, match=r"no answer after 2 tries"):
        await mains.get()
    sim.silent = False
    assert world.mains_on is True  # the silent device did not act on the command
    assert await mains.get() is True


async def test_shelly_gen2_error_answer_fails_at_once(devices, outputs) -> None:
    await devices("shelly_gen2")  # wired channels 0 and 1 only
    ghost = outputs("ghost", "shelly_gen2", 5, timeout_s=2.0)
    started = time.monotonic()
    with pytest.raises(DriverError, match=r"Switch.Set failed on the device: Argument 'id', value 5 not found! "
                                          r"\(code -105\)"):
        await ghost.set(True)
    assert time.monotonic() - started < 1.0  # no waiting for a timeout, no retry


async def test_broker_down_gives_driver_error(tmp_path: Path) -> None:
    with mosquitto_or_fail(tmp_path / "gone") as gone:
        pass  # stopped at once: nothing listens on its port any more
    mains = MQTTOutput("mains", MqttRelaySettings(host=gone.host, port=gone.port, device=DEVICE, **FAST))
    started = time.monotonic()
    with pytest.raises(DriverError) as caught:
        await mains.set(True)
    assert str(caught.value).startswith(
        f"mains: MQTT 127.0.0.1:{gone.port} tasmota/{DEVICE} POWER1: "
        f"cannot connect to MQTT broker 127.0.0.1:{gone.port} after 2 tries of 0.3 s ("
    )
    with pytest.raises(DriverError, match=f"cannot connect to MQTT broker 127.0.0.1:{gone.port}"):
        await mains.connect()
    assert time.monotonic() - started < 2.0
    await mains.close()
    await mains.close()  # closing twice never raises


async def test_broker_lost_and_back(tmp_path: Path, world: World) -> None:
    broker = mosquitto_or_fail(tmp_path / "b1")
    sim = SimMQTTRelay(world, broker.host, broker.port, DEVICE)
    mains = MQTTOutput("mains", MqttRelaySettings(host=broker.host, port=broker.port, device=DEVICE, **FAST))
    try:
        await sim.start()
        await mains.set(False)
        broker.stop()
        with pytest.raises(DriverError, match=f"cannot connect to MQTT broker 127.0.0.1:{broker.port}"):
            await mains.set(True)
        await sim.stop()
        broker = mosquitto_or_fail(tmp_path / "b2", port=broker.port)  # the same address comes back
        await sim.start()
        await mains.set(True)  # the driver connects again by itself
        assert world.mains_on is True
    finally:
        await mains.close()
        await sim.stop()
        broker.stop()


async def test_auth(auth_broker: Mosquitto, world: World) -> None:
    host, port = auth_broker.host, auth_broker.port
    sim = SimMQTTRelay(world, host, port, DEVICE, flavour="shelly_gen1", username=USER, password=PASSWORD)
    await sim.start()
    made: list[MQTTOutput] = []

    def output(**kwargs) -> MQTTOutput:
        made.append(MQTTOutput("mains", MqttRelaySettings(host=host, port=port, device=DEVICE, flavour="shelly_gen1", **FAST, **kwargs)))
        return made[-1]

    try:
        for kwargs in ({"username": USER, "password": "wrong"}, {}):
            started = time.monotonic()
            with pytest.raises(DriverError) as caught:
                await output(**kwargs).set(False)
            assert str(caught.value).startswith(
                f"mains: MQTT 127.0.0.1:{port} shelly_gen1/{DEVICE} relay 0: "
                f"MQTT broker 127.0.0.1:{port} refused the connection: "
            )
            assert "username and password" in str(caught.value)
            assert time.monotonic() - started < 1.0  # refused is final: no retry
        assert world.mains_on is True
        good = output(username=USER, password=PASSWORD)
        await good.set(False)
        assert world.mains_on is False
        assert await good.get() is False
    finally:
        for o in made:
            await o.close()
        await sim.stop()


async def test_tls_with_ca_file(tmp_path: Path, world: World) -> None:
    try:
        tls = make_tls_files(tmp_path / "tls")
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    with mosquitto_or_fail(tmp_path / "tls-broker", tls=tls) as broker:
        sim = SimMQTTRelay(world, broker.host, broker.port, DEVICE, flavour="shelly_gen2")  # on the plain listener
        await sim.start()
        secure = MQTTOutput("mains", MqttRelaySettings(host=broker.host, port=broker.tls_port, device=DEVICE, flavour="shelly_gen2", tls_ca=str(tls.ca), **FAST))
        plain_ca = tmp_path / "other-ca.crt"  # a CA that did not sign the broker's certificate
        plain_ca.write_bytes(make_tls_files(tmp_path / "other").ca.read_bytes())
        untrusting = MQTTOutput("mains", MqttRelaySettings(host=broker.host, port=broker.tls_port, device=DEVICE, flavour="shelly_gen2", tls_ca=str(plain_ca), **FAST))
        try:
            await secure.set(False)
            assert world.mains_on is False
            with pytest.raises(DriverError, match=r"cannot connect to MQTT broker .*certificate verify failed"):
                await untrusting.connect()
        finally:
            await secure.close()
            await untrusting.close()
            await sim.stop()


async def test_sim_answers_the_documented_topics(devices, broker: Mosquitto, world: World) -> None:
    """The simulated devices speak the firmware's own layout, checked with a bare MQTT client."""
    await devices("shelly_gen1", device="shelly1-0001")
    await devices("shelly_gen2", device="shellyplus2pm-0002")
    async with aiomqtt.Client(broker.host, broker.port, identifier="probe") as probe:
        await probe.subscribe([("shellies/shelly1-0001/relay/+", 1), ("probe/rpc", 1),
                               ("shellyplus2pm-0002/status/#", 1)])
        await probe.publish("shellies/shelly1-0001/relay/1/command", b"off")
        request = {"id": 7, "src": "probe", "method": "Switch.Toggle", "params": {"id": 0}}
        await probe.publish("shellyplus2pm-0002/rpc", json.dumps(request).encode())
        got: dict[str, object] = {}
        async with asyncio.timeout(2):
            async for message in probe.messages:
                got[message.topic.value] = message.payload
                if len(got) == 3:
                    break
    assert got["shellies/shelly1-0001/relay/1"] == b"off"
    assert json.loads(got["probe/rpc"]) == {"id": 7, "src": "shellyplus2pm-0002", "dst": "probe",
                                             "result": {"was_on": True}}
    assert json.loads(got["shellyplus2pm-0002/status/switch:0"])["output"] is False
    assert (world.mains_on, world.network_up) == (False, False)


def test_bad_arguments(tmp_path: Path) -> None:
    ok = {"host": "127.0.0.1", "device": DEVICE}
    for kwargs, fragment in [
        ({"flavour": "sonoff"}, "flavour"),
        ({"channel": -1}, "channel"),
        ({"channel": 32}, "channel"),
        ({"device": "a/+"}, "device"),
        ({"device": ""}, "device"),
        ({"port": 0}, "port"),
        ({"timeout_s": 0}, "timeout_s"),
        ({"retries": -1}, "retries"),
        ({"invert": "yes"}, "invert"),
        ({"password": "x"}, "username"),
        ({"tls_ca": str(tmp_path / "missing.crt")}, "tls_ca"),
    ]:
        with pytest.raises(ValueError, match=fragment):
            MQTTOutput("mains", MqttRelaySettings(**{**ok, **kwargs}))
    with pytest.raises(ValueError, match="loopback"):
        SimMQTTRelay(World(), "0.0.0.0", 1883, DEVICE)
    with pytest.raises(ValueError, match="kettle"):
        SimMQTTRelay(World(), "127.0.0.1", 1883, DEVICE, wiring={0: "kettle"})


async def test_bad_level_is_refused_before_any_io() -> None:
    mains = MQTTOutput("mains", MqttRelaySettings(host="127.0.0.1", port=9, device=DEVICE, **FAST))  # nothing to talk to: the check comes first
    with pytest.raises(ValueError, match="level"):
        await mains.set("on")  # type: ignore[arg-type]
