"""The E3372h stick-mode (AT) driver against the simulated stick, over real pseudo-terminals."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from drivers.dongle.e3372_at import E3372ATDongle, ModemError, parse_csq, parse_hcsq, parse_syscfgex
from drivers.dongle.protocol import Signal, generation_for_acq_order
from drivers.dongle.settings import E3372AtSettings
from drivers.errors import DriverError
from drivers.steplog import StepLog
from hil_sim.gear.cellular import CellSignal, CellularLink
from hil_sim.gear.e3372_at import SimE3372AT
from hil_sim.world import World

TIMEOUT_S = 0.2
RETRIES = 1


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def cellular(world: World) -> CellularLink:
    return CellularLink.of(world)


@pytest.fixture
async def sim(world: World) -> AsyncIterator[SimE3372AT]:
    stick = SimE3372AT(world)
    await stick.start()
    yield stick
    await stick.stop()


@pytest.fixture
async def driver(sim: SimE3372AT) -> AsyncIterator[E3372ATDongle]:
    drv = E3372ATDongle("modem", E3372AtSettings(port=sim.modem_port, timeout_s=TIMEOUT_S, retries=RETRIES), steplog=StepLog())
    await drv.connect()
    yield drv
    await drv.close()


# generation ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("gen, order", [("2G", "01"), ("3G", "02"), ("4G", "03"), ("auto", "00")])
async def test_set_and_get_generation(driver: E3372ATDongle, sim: SimE3372AT, cellular: CellularLink,
                                      gen: str, order: str) -> None:
    start = "3G" if gen != "3G" else "4G"
    cellular.set_generation(start)
    await driver.set_generation(gen)
    assert cellular.generation == gen
    assert f'AT^SYSCFGEX="{order}",3FFFFFFF,1,2,7FFFFFFFFFFFFFFF,,' in sim.commands
    assert await driver.get_generation() == gen
    assert sim.commands[-1] == "AT^SYSCFGEX?"


async def test_get_generation_reads_what_the_stick_is_set_to(driver: E3372ATDongle, cellular: CellularLink) -> None:
    for gen in ("2G", "4G", "auto", "3G"):
        cellular.set_generation(gen)
        assert await driver.get_generation() == gen


async def test_generation_names_are_checked_before_the_wire(driver: E3372ATDongle, sim: SimE3372AT) -> None:
    before = list(sim.commands)
    with pytest.raises(ValueError, match="generation"):
        await driver.set_generation("5G")
    assert sim.commands == before
    await driver.set_generation("4g")
    assert await driver.get_generation() == "4G"


@pytest.mark.parametrize("order, gen", [("00", "auto"), ("01", "2G"), ("02", "3G"), ("03", "4G"),
                                        ("030201", "auto"), ('"03"', "4G")])
def test_acquisition_orders(order: str, gen: str) -> None:
    assert generation_for_acq_order(order) == gen


@pytest.mark.parametrize("order", ["0302", "04", "", "99", "0x"])
def test_acquisition_orders_that_are_no_single_choice(order: str) -> None:
    with pytest.raises(ValueError):
        generation_for_acq_order(order)


def test_parse_syscfgex() -> None:
    assert parse_syscfgex('^SYSCFGEX: "02",3FFFFFFF,1,2,7FFFFFFFFFFFFFFF,,') == "02"
    with pytest.raises(ValueError):
        parse_syscfgex("+CSQ: 1,99")


# signal parsing (pure) ----------------------------------------------------------------------------

HCSQ_TABLE = [
    ('^HCSQ: "LTE",53,45,162,18', Signal("4G", rssi_dbm=-67, rsrp_dbm=-95, sinr_db=12.4, rsrq_db=-10.5)),
    ('^HCSQ: "LTE",0,0,0,0', Signal("4G", rssi_dbm=-120, rsrp_dbm=-140, sinr_db=-20, rsrq_db=-19.5)),
    ('^HCSQ: "LTE",96,97,251,34', Signal("4G", rssi_dbm=-24, rsrp_dbm=-43, sinr_db=30.2, rsrq_db=-2.5)),
    ('^HCSQ: "LTE",40,255,255,255', Signal("4G", rssi_dbm=-80)),
    ('^HCSQ: "WCDMA",49,37,51', Signal("3G", rssi_dbm=-71, rscp_dbm=-83, ecio_db=-6.5)),
    ('^HCSQ: "WCDMA",30,20,0', Signal("3G", rssi_dbm=-90, rscp_dbm=-100, ecio_db=-32)),
    ('^HCSQ:"GSM",41', Signal("2G", rssi_dbm=-79)),
    ('^HCSQ: "GSM",255', Signal("2G")),
    ('^HCSQ: "NOSERVICE"', Signal(None)),
]


@pytest.mark.parametrize("line, expected", HCSQ_TABLE)
def test_parse_hcsq(line: str, expected: Signal) -> None:
    assert parse_hcsq(line) == expected


@pytest.mark.parametrize("line", ['^HCSQ: "LTE",53,45', '^HCSQ: "CDMA",20', "+CSQ: 20,99", '^HCSQ: "GSM",x'])
def test_parse_hcsq_rejects(line: str) -> None:
    with pytest.raises(ValueError):
        parse_hcsq(line)


@pytest.mark.parametrize("line, csq", [("+CSQ: 20,99", 20), ("+CSQ: 0,0", 0), ("+CSQ:31,99", 31),
                                       ("+CSQ: 99,99", None)])
def test_parse_csq(line: str, csq: int | None) -> None:
    assert parse_csq(line) == csq


@pytest.mark.parametrize("line", ["+CSQ: 32,99", "+CSQ: 20", "^RSSI: 20"])
def test_parse_csq_rejects(line: str) -> None:
    with pytest.raises(ValueError):
        parse_csq(line)


# signal through the modem -------------------------------------------------------------------------

SIGNAL_TABLE = [
    ("4G", CellSignal(rssi_dbm=-67, rsrp_dbm=-95, sinr_db=12.4, rsrq_db=-10.5),
     Signal("4G", csq=23, rssi_dbm=-67, rsrp_dbm=-95, sinr_db=12.4, rsrq_db=-10.5)),
    ("4G", CellSignal(rssi_dbm=-90, rsrp_dbm=-118, sinr_db=-3.0, rsrq_db=-16.0),
     Signal("4G", csq=11, rssi_dbm=-90, rsrp_dbm=-118, sinr_db=-3.0, rsrq_db=-16.0)),
    ("3G", CellSignal(rssi_dbm=-71, rscp_dbm=-83, ecio_db=-6.5),
     Signal("3G", csq=21, rssi_dbm=-71, rscp_dbm=-83, ecio_db=-6.5)),
    ("2G", CellSignal(rssi_dbm=-79), Signal("2G", csq=17, rssi_dbm=-79)),
    ("2G", CellSignal(rssi_dbm=-113), Signal("2G", csq=0, rssi_dbm=-113)),
]


@pytest.mark.parametrize("gen, cell, expected", SIGNAL_TABLE)
async def test_signal_per_generation(driver: E3372ATDongle, cellular: CellularLink,
                                     gen: str, cell: CellSignal, expected: Signal) -> None:
    cellular.set_signal(gen, cell)
    await driver.set_generation(gen)
    assert await driver.signal() == expected


async def test_signal_without_service(driver: E3372ATDongle, cellular: CellularLink) -> None:
    cellular.set_coverage()
    assert await driver.signal() == Signal(None)
    cellular.set_coverage("2G", "3G")
    await driver.set_generation("auto")
    assert (await driver.signal()).generation == "3G"  # auto camps on the best generation there is


async def test_unsolicited_lines_and_echo_do_not_confuse_the_driver(driver: E3372ATDongle, sim: SimE3372AT) -> None:
    for unsolicited, echo in [(True, True), (True, False), (False, True), (False, False)]:
        sim.unsolicited, sim.echo = unsolicited, echo
        await driver.set_generation("3G")
        reading = await driver.signal()
        assert reading.generation == "3G" and reading.rscp_dbm is not None


async def test_self_test(driver: E3372ATDongle, sim: SimE3372AT) -> None:
    result = await driver.self_test()
    assert result["model"] == "E3372" and result["manufacturer"] == "huawei"
    assert result["generation"] == "auto" and result["signal"]["generation"] == "4G"
    assert result["port"] == sim.modem_port


async def test_safe_state_is_auto(driver: E3372ATDongle, cellular: CellularLink) -> None:
    await driver.set_generation("2G")
    await driver.safe_state()
    assert cellular.generation == "auto"


async def test_steps_are_logged(driver: E3372ATDongle) -> None:
    await driver.set_generation("2G")
    await driver.signal()
    records = [s.as_record() for s in driver.steplog.steps]
    assert records[0]["command"] == "set_generation" and records[0]["args"] == {"gen": "2G"}
    assert records[1]["command"] == "signal" and records[1]["result"]["generation"] == "2G"


# errors -------------------------------------------------------------------------------------------

async def test_cme_error_is_a_driver_error_with_the_code(driver: E3372ATDongle, sim: SimE3372AT) -> None:
    sim.failures["^SYSCFGEX"] = "+CME ERROR: 30"
    with pytest.raises(DriverError) as info:
        await driver.set_generation("2G")
    assert isinstance(info.value, ModemError) and info.value.code == 30
    assert info.value.role == "modem" and info.value.backend == "AT" and info.value.address == sim.modem_port
    assert "+CME ERROR: 30" in str(info.value) and "no network service" in str(info.value)


async def test_plain_error_is_a_driver_error(driver: E3372ATDongle, sim: SimE3372AT) -> None:
    sim.failures["+CSQ"] = "ERROR"
    with pytest.raises(ModemError, match="AT\\+CSQ answered 'ERROR'") as info:
        await driver.signal()
    assert info.value.code is None


async def test_bad_parameters_are_refused_by_the_modem(driver: E3372ATDongle) -> None:
    with pytest.raises(ModemError) as info:
        await driver._command('AT^SYSCFGEX="07",3FFFFFFF,1,2,7FFFFFFFFFFFFFFF,,')
    assert info.value.code == 50


async def test_silent_modem_names_role_backend_and_port(driver: E3372ATDongle, sim: SimE3372AT) -> None:
    sim.silent = True
    with pytest.raises(DriverError) as info:
        await driver.get_generation()
    err = info.value
    assert (err.role, err.backend, err.address) == ("modem", "AT", sim.modem_port)
    assert "no answer to AT^SYSCFGEX?" in err.message and "2 attempts" in err.message
    assert str(err).startswith(f"modem: AT {sim.modem_port}: ")
    sim.silent = False
    assert await driver.get_generation() == "auto"  # it answers again: the driver goes on


async def test_unplugged_stick(driver: E3372ATDongle, sim: SimE3372AT) -> None:
    await sim.stop()
    with pytest.raises(DriverError) as info:
        await driver.signal()
    assert info.value.address == sim.modem_port


# port probing -------------------------------------------------------------------------------------

@pytest.mark.parametrize("modem_index", [0, 1, 2])
async def test_probe_finds_the_modem_among_silent_ports(world: World, modem_index: int) -> None:
    stick = SimE3372AT(world, ports=3, modem_index=modem_index)
    await stick.start()
    drv = E3372ATDongle("modem", E3372AtSettings(port=stick.port_names, timeout_s=TIMEOUT_S, retries=RETRIES))
    try:
        await drv.connect()
        assert drv.port == stick.modem_port == stick.port_names[modem_index]
        assert drv.address == stick.modem_port
        await drv.set_generation("3G")
        assert await drv.get_generation() == "3G"
        probe = [s for s in drv.steplog.steps if s.command == "probe_port"]
        assert probe and probe[0].result == stick.modem_port
    finally:
        await drv.close()
        await stick.stop()


async def test_probe_port_directly(sim: SimE3372AT) -> None:
    drv = E3372ATDongle("modem", E3372AtSettings(port=sim.port_names, timeout_s=TIMEOUT_S))
    assert await drv.probe_port(sim.port_names) == sim.modem_port


async def test_probe_asks_once_more_with_more_patience_when_no_port_answered(world: World) -> None:
    """A loaded host (or a USB hub waking up) answers after the first round's half second: a second round finds
    the modem, and a bench opens where one round would have failed."""
    stick = SimE3372AT(world, ports=2)
    await stick.start()
    stick.silent = True  # the first round's AT goes unanswered

    async def wake() -> None:
        await asyncio.sleep(0.2)
        stick.silent = False

    drv = E3372ATDongle("modem", E3372AtSettings(port=stick.port_names, timeout_s=3.0))  # rounds of 0.5 s, then 2 s
    waking = asyncio.create_task(wake())
    try:
        assert await drv.probe_port(stick.port_names) == stick.modem_port
    finally:
        await waking
        await stick.stop()


async def test_probe_tells_what_each_port_did(world: World, tmp_path) -> None:
    stick = SimE3372AT(world, ports=2)
    await stick.start()
    stick.silent = True
    missing = str(tmp_path / "ttyUSB9")
    candidates = [*stick.port_names, missing]
    drv = E3372ATDongle("modem", E3372AtSettings(port=candidates, timeout_s=TIMEOUT_S))
    try:
        with pytest.raises(DriverError) as info:
            await drv.connect()
    finally:
        await stick.stop()
    err = info.value
    assert (err.role, err.backend) == ("modem", "AT")
    assert err.address == ",".join(candidates)
    for name in stick.port_names:
        assert f"{name}: no answer within" in err.message
    assert f"{missing}: cannot open" in err.message


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError):
        E3372ATDongle("modem", E3372AtSettings(port=[]))
    with pytest.raises(ValueError):
        E3372ATDongle("modem", E3372AtSettings(port="/dev/ttyUSB0", timeout_s=0))
    with pytest.raises(ValueError):
        E3372ATDongle("modem", E3372AtSettings(port="/dev/ttyUSB0", link_endpoint="nohost"))
