"""Fixtures of the fleet tests: a real mosquitto on loopback, a fleet of `benchctl agent` processes on it
(support/fleet.py), and a watcher that mirrors the broker in the test for waiting on states."""

from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator, Iterator

import pytest

from benchctl.fleet.broker import BrokerSettings, FleetConnection, new_client_id

from support.fleet import Fleet, Watcher
from support.mosquitto import Mosquitto, mosquitto_or_fail


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    with mosquitto_or_fail(tmp_path / "broker") as running:
        yield running


@pytest.fixture
def persistent_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A broker that keeps its retained messages across a restart, as a lab's should."""
    with mosquitto_or_fail(tmp_path / "broker", persistent=True) as running:
        yield running


@pytest.fixture
def fleet(broker: Mosquitto, tmp_path: Path) -> Iterator[Fleet]:
    running = Fleet(broker, tmp_path)
    try:
        yield running
    finally:
        running.close()


@pytest.fixture
def persistent_fleet(persistent_broker: Mosquitto, tmp_path: Path) -> Iterator[Fleet]:
    running = Fleet(persistent_broker, tmp_path)
    try:
        yield running
    finally:
        running.close()


@pytest.fixture
async def watcher(broker: Mosquitto) -> AsyncIterator[Watcher]:
    # a long keepalive: the test's own loop stops while it waits on a command or an agent's start (seconds each on
    # a busy machine), and a broker that heard no ping for 1.5 keepalives would drop the watcher, not the agents
    settings = BrokerSettings(broker.host, broker.port, keepalive_s=600)
    async with FleetConnection(settings, new_client_id("test")) as conn:
        yield Watcher(conn)
