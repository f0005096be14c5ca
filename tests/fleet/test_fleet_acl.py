"""The ACL of docs/fleet.md, as written there, on a real mosquitto: the fleet works under it, and a bench cannot
queue a job or speak for another bench."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Iterator

import pytest

from benchctl.fleet.broker import BrokerSettings, FleetConnection
from benchctl.fleet.jobs import JobSpec
from benchctl.fleet.ledger import DONE
from benchctl.paths import ROOT

from support.fleet import Fleet, Watcher
from support.mosquitto import Mosquitto, mosquitto_or_fail

USERS = {"bench-a": "pw-a", "bench-b": "pw-b", "ci": "pw-ci", "viewer": "pw-v"}


def documented_acl() -> str:
    text = (ROOT / "docs" / "fleet.md").read_text(encoding="utf-8")
    found = re.search(r"```acl\n(.*?)```", text, re.S)
    assert found, "docs/fleet.md has no ```acl block"
    return found.group(1)


@pytest.fixture
def acl_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    with mosquitto_or_fail(tmp_path / "broker", users=USERS, acl=documented_acl()) as running:
        yield running


def settings(broker: Mosquitto, user: str) -> BrokerSettings:
    return BrokerSettings(broker.host, broker.port, username=user, password=USERS[user])


async def test_the_documented_acl(acl_broker: Mosquitto, tmp_path: Path) -> None:
    fleet = Fleet(acl_broker, tmp_path, USERS)
    try:
        fleet.start_agent("bench-a", user="bench-a")
        done = fleet.submit("--cases", "003", "--wait", user="ci")
        assert done.returncode in (0, 1) and "job" in done.stdout and "on bench-a" in done.stdout, \
            done.stdout + fleet.logs()

        async with FleetConnection(settings(acl_broker, "viewer"), "benchctl-fleet-viewer") as viewer:
            watcher = Watcher(viewer)
            (job,) = viewer.ledger.job_ids()
            assert viewer.ledger.state(job).state == DONE and viewer.ledger.statuses["bench-a"].online
            # the viewer may look, not queue
            await viewer.publish(viewer.topics.job("from-viewer"), JobSpec("from-viewer", 1.0).as_payload(), True)
            async with FleetConnection(settings(acl_broker, "bench-b"), "benchctl-agent-bench-b") as bench_b:
                # a bench can neither queue a job nor speak for another bench; its own topics are fine
                await bench_b.publish(bench_b.topics.job("forged"), JobSpec("forged", 1.0).as_payload(), True)
                await bench_b.publish(bench_b.topics.status("bench-a"),
                                      {"state": "offline", "session": "forged", "tags": []}, True)
                await bench_b.publish(bench_b.topics.seen("bench-b"), 12345.0, True)
                await watcher.until(lambda led: led.seen.get("bench-b") == 12345.0, 10, "bench-b's own heartbeat")
                await bench_b.sync()
            await viewer.sync()
            await asyncio.sleep(0.2)
            assert viewer.ledger.job_ids() == [job]
            assert viewer.ledger.statuses["bench-a"].session != "forged"
    finally:
        fleet.close()
