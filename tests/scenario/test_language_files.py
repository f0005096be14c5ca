"""Language features of the file transfer cases: `file_server: true` (the file server's values in the case),
the `file` step (a transfer judged on the server's record), `${case_start}`, and `each_connector` members inside
`any_order` (every connector reported again after a reboot, in any order with the BootNotification)."""

from __future__ import annotations

import asyncio
import shutil
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from benchctl.config import ConfigError
from benchctl.csms.capture import TO_CHARGER, TO_CSMS, CapturedFrame
from benchctl.csms.frames import CALL, CALLRESULT, Frame
from benchctl.csms.link import ChargerLink, Received
from benchctl.csms.responder import Responder
from benchctl.paths import SCENARIOS
from benchctl.scenario.engine import CaseRunner
from benchctl.scenario.model import load_scenario
from benchctl.transfer.records import TransferLog, TransferRecord

VALUES = {"message_timeout_s": 0.4, "timing_tolerance_s": 1.0, "connector_id": 1}


def scenario(tmp_path: Path, steps: str, file_server: bool = True):
    if not (tmp_path / "states").exists():
        shutil.copytree(SCENARIOS / "states", tmp_path / "states")
    path = tmp_path / "TC_900_CS.yaml"
    head = "id: TC_900_CS\ntitle: t\nsection: '9.9'\n" + ("file_server: true\n" if file_server else "")
    path.write_text(head + "steps:\n" + steps, encoding="utf-8")
    return load_scenario(path)


def bench(connectors: int = 1) -> Any:
    return SimpleNamespace(values=dict(VALUES), config=SimpleNamespace(connectors=connectors),
                           steplog=SimpleNamespace(listeners=[]), has=lambda role: True)


def files(**values: Any) -> Any:
    return SimpleNamespace(values={"diagnostics_url": "ftp://127.0.0.1:2121/upload/diagnostics/", **values},
                           log=TransferLog())


def record(name: str, complete: bool = True, direction: str = "received", size: int = 10) -> TransferRecord:
    return TransferRecord(direction, "ftp", f"/upload/diagnostics/{name}", name, size, "0" * 64,
                          "2024-04-01T10:00:00.000Z", complete)


async def deliver(link: ChargerLink, messages: tuple[tuple[str, dict[str, Any]], ...]) -> None:
    await asyncio.sleep(0.05)
    for n, (action, payload) in enumerate(messages):
        uid = f"u{n}"
        request = CapturedFrame(2 * n, 0.0, float(n), TO_CSMS, "CP", Frame("", CALL, uid, action, payload), None)
        link.answers[uid] = CapturedFrame(2 * n + 1, 0.0, float(n), TO_CHARGER, "CP",
                                          Frame("", CALLRESULT, uid, action, {}), None)
        await link.received(Received(action, payload, request, {}))


async def run(tmp_path: Path, steps: str, *messages: tuple[str, dict[str, Any]], server: Any = None,
              connectors: int = 1, transfers: tuple[TransferRecord, ...] = ()):
    """Run the steps; the charger's messages and the server's `transfers` arrive once the case has started."""
    link = ChargerLink("CP", Responder(VALUES))
    runner = CaseRunner(scenario(tmp_path, steps), bench(connectors), link, files=server)

    async def transfer() -> None:
        await asyncio.sleep(0.05)
        for item in transfers:
            server.log.add(item)

    result, _, _ = await asyncio.gather(runner.run(), deliver(link, messages), transfer())
    return result, runner


# ---------------------------------------------------------------------------------------------- file
FILE_STEP = """\
  - file: received
    step: 5
    match: {name: "${expected}", complete: true}
    save: {size_seen: size}
"""


async def test_a_file_step_takes_the_record_that_matches_and_saves_from_it(tmp_path: Path) -> None:
    server = files(expected="diag.log")
    result, runner = await run(tmp_path, FILE_STEP, server=server,
                               transfers=(record("other.log"), record("diag.log", size=1234)))
    assert result.verdict == "PASS", result.reason
    assert runner.vars["size_seen"] == 1234
    assert [(c.step, c.ok) for c in result.checks] == [(5, True), (5, True)]


async def test_a_file_step_waits_for_a_transfer_still_going_on(tmp_path: Path) -> None:
    server = files(expected="late.log")
    threading.Timer(0.25, lambda: server.log.add(record("late.log"))).start()  # from the server's own thread
    result, _ = await run(tmp_path, FILE_STEP, server=server)
    assert result.verdict == "PASS", result.reason


@pytest.mark.parametrize("what", ["incomplete", "before the case", "downloaded"])
async def test_a_file_step_fails_at_its_step_naming_what_the_server_saw(tmp_path: Path, what: str) -> None:
    server = files(expected="diag.log")
    during: tuple[TransferRecord, ...] = ()
    if what == "before the case":
        server.log.add(record("diag.log"))  # a transfer of an earlier case is not this case's
    else:
        during = (record("diag.log", complete=what != "incomplete",
                         direction="served" if what == "downloaded" else "received"),)
    result, _ = await run(tmp_path, FILE_STEP, server=server, transfers=during)
    assert (result.verdict, result.step) == ("FAIL", 5)
    assert "no file received" in result.reason
    if what == "incomplete":
        assert "diag.log (10 bytes, complete=False" in result.reason


def test_a_file_step_needs_the_file_server(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file_server: true") as info:
        scenario(tmp_path, FILE_STEP, file_server=False)
    assert info.value.line == 5  # the step, not the scenario


def test_a_file_step_knows_only_two_directions(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="received"):
        scenario(tmp_path, "  - file: uploaded\n")


async def test_the_file_servers_values_and_the_case_start_reach_the_steps(tmp_path: Path) -> None:
    steps = "  - expect: Heartbeat\n    save: {unused: x}\n"
    result, runner = await run(tmp_path, steps, ("Heartbeat", {}), server=files())
    assert result.verdict == "PASS", result.reason
    assert runner.vars["diagnostics_url"].startswith("ftp://")
    assert runner.vars["case_start"].endswith("Z") and "T" in runner.vars["case_start"]
    assert scenario(tmp_path, steps).file_server and not scenario(tmp_path, steps, file_server=False).file_server


# ---------------------------------------------------------------------------------------------- each_connector
REBOOT = """\
  - any_order:
      - expect: BootNotification
        step: 9
      - expect: StatusNotification
        step: 11
        each_connector: true
        match: {status: Available}
      - expect: FirmwareStatusNotification
        step: 13
        match: {status: Installed}
"""


def status(connector_id: int, value: str) -> tuple[str, dict[str, Any]]:
    return "StatusNotification", {"connectorId": connector_id, "errorCode": "NoError", "status": value}


async def test_each_connector_inside_any_order_wants_every_connector_in_any_order(tmp_path: Path) -> None:
    messages = (("FirmwareStatusNotification", {"status": "Installed"}), status(2, "Available"),
                ("BootNotification", {}), status(0, "Available"), status(1, "Available"))
    result, _ = await run(tmp_path, REBOOT, *messages, connectors=2)
    assert result.verdict == "PASS", result.reason
    assert sorted(c.observed for c in result.checks if "connectorId" in c.description) == [0, 1, 2]


async def test_each_connector_inside_any_order_fails_for_a_connector_not_reported(tmp_path: Path) -> None:
    messages = (("BootNotification", {}), status(1, "Available"), ("FirmwareStatusNotification",
                                                                    {"status": "Installed"}))
    result, _ = await run(tmp_path, REBOOT, *messages)
    assert (result.verdict, result.step) == ("FAIL", 11)
    assert "connectorId 0" in result.reason


async def test_statuses_in_a_group_with_a_boot_get_the_reboot_allowance_of_appendix_d(tmp_path: Path) -> None:
    # "Before downloading the firmware the Charge Point MAY set all connectors to Unavailable": reported before the
    # reboot, then Available after it - Appendix D lets Unavailable come before an expected Available after a boot
    messages = (status(0, "Unavailable"), status(1, "Unavailable"), ("BootNotification", {}),
                status(0, "Available"), status(1, "Available"), ("FirmwareStatusNotification", {"status": "Installed"}))
    result, _ = await run(tmp_path, REBOOT, *messages)
    assert result.verdict == "PASS", (result.reason, result.status_rules)
    rules = {f["rule"] for f in result.status_rules["findings"]} if result.status_rules else set()
    assert "D.unavailable-before-boot-available" in rules
