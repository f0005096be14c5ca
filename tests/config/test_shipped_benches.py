"""Every bench config in bench_configs/ loads, and the lab examples use the gear the docs describe."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchctl.bench.config import load_bench
from benchctl.paths import BENCH_CONFIGS


@pytest.mark.parametrize("path", sorted(BENCH_CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_bench_validates(path: Path) -> None:
    config = load_bench(path)
    assert config.roles["ev"]


def test_raspberry_pi_bench() -> None:
    config = load_bench(BENCH_CONFIGS / "rpi-lab.yaml")
    drivers = {name: role.driver for name, role in config.roles.items()}
    assert drivers == {"ev": "modbus_ev", "card": "chameleon", "modem": "e3372_at", "cable": "gpio_relay",
                       "mains": "gpio_relay", "network": "gpio_relay"}
    assert config.roles["mains"].settings["min_off_s"] == 5.0


def test_modbus_only_bench() -> None:
    config = load_bench(BENCH_CONFIGS / "modbus-lab.yaml")
    assert {role.driver for role in config.roles.values()} <= {"modbus_ev", "modbus_coil", "modbus_meter",
                                                               "chameleon"}
    rs485 = {r.settings["serial_port"] for r in config.roles.values() if r.settings.get("transport") == "rtu-serial"}
    assert rs485 == {"/dev/ttyUSB0"}
