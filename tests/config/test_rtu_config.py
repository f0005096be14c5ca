"""Bench configs for Modbus gear on RS-485: transport settings, the meter role, and building the drivers."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchctl.bench import registry
from benchctl.bench.config import load_bench
from benchctl.config import ConfigError
from drivers.meter.modbus_meter import ModbusEnergyMeter
from drivers.steplog import StepLog

HEAD = "bench: {name: lab}\ndut: {charge_point_id: CP-7}\nroles:\n  ev: {driver: modbus_ev, host: 192.168.1.20}\n"


def load(tmp_path: Path, roles: str):
    path = tmp_path / "bench.yaml"
    path.write_text(HEAD + roles, encoding="utf-8")
    return load_bench(path)


def test_meter_and_relay_on_one_rs485_adapter(tmp_path: Path) -> None:
    config = load(tmp_path, (
        "  meter:\n    driver: modbus_meter\n    transport: rtu-serial\n    serial_port: /dev/ttyUSB0\n"
        "    device_id: 3\n    registers: {energy: 0x0048}\n"
        "  mains:\n    driver: modbus_coil\n    transport: rtu-serial\n    serial_port: /dev/ttyUSB0\n"
        "    device_id: 2\n    coil: 0\n"))
    meter = registry.spec("modbus_meter").build("meter", config.roles["meter"].settings, StepLog())
    assert isinstance(meter, ModbusEnergyMeter)
    assert meter.address == "RTU /dev/ttyUSB0 9600 8N1 device 3"
    assert meter.map.energy == 0x0048 and meter.map.voltage_v == (0, 2, 4)
    mains = registry.spec("modbus_coil").build("mains", config.roles["mains"].settings, StepLog())
    assert mains.address == "RTU /dev/ttyUSB0 9600 8N1 device 2 coil 0"
    ev = registry.spec("modbus_ev").build("ev", config.roles["ev"].settings, StepLog())
    assert ev.address == "192.168.1.20:502 device 1"  # TCP as before


@pytest.mark.parametrize(
    "role, field, fragment",
    [
        ("  meter: {driver: modbus_meter, transport: rtu-serial}\n", "roles.meter", "missing key 'serial_port'"),
        ("  meter: {driver: modbus_meter}\n", "roles.meter", "missing key 'host': required with transport tcp"),
        ("  meter: {driver: modbus_meter, transport: rtu-serial, serial_port: /dev/ttyUSB0, host: h}\n",
         "roles.meter.host", "host: not used with transport rtu-serial"),
        ("  meter: {driver: modbus_meter, host: h, parity: even}\n", "roles.meter.parity", "not one of: N, E, O"),
        ("  meter: {driver: modbus_meter, host: h, map: sdm120}\n", "roles.meter.map", "not one of: sdm630"),
    ],
)
def test_bad_transport_settings(tmp_path: Path, role: str, field: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, role)
    assert info.value.field == field
    assert fragment in info.value.message
