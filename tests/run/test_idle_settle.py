"""How the return to idle knows the charger has nothing left to send (1.3): it asks for each connector's status
(TriggerMessage) and takes the answer's StatusNotification as the end of the queue; a charger that cannot be
asked gets the quiet window. The configuration a case changed goes back before anything changes a status."""

from __future__ import annotations

import pytest

from benchctl.bench.actions import plug_in
from benchctl.bench.config import BenchConfig
from benchctl.csms.capture import Capture
from benchctl.run import idle
from benchctl.run.configuration import read_configuration
from benchctl.run.idle import return_to_idle
from benchctl.run.session import open_bench


def _triggers(capture: Capture) -> list[dict[str, object]]:
    return [f.frame.payload for f in capture.read()
            if f.frame.action == "TriggerMessage" and f.frame.type_name == "CALL"]


async def test_the_return_to_idle_asks_each_connector_for_its_status(fast_sim_config: BenchConfig) -> None:
    async with open_bench(fast_sim_config, Capture(None)) as session:
        link = session.link
        assert await return_to_idle(session.bench, link, timeout=4) is None
        assert _triggers(session.csms.capture) == [{"requestedMessage": "StatusNotification", "connectorId": 1}]
        trigger = next(f for f in session.csms.capture.read() if f.frame.action == "TriggerMessage")
        after = [f for f in session.csms.capture.read(trigger.index) if f.frame.action == "StatusNotification"]
        assert after and after[0].frame.payload["connectorId"] == 1
        assert link not in idle._UNASKABLE


@pytest.mark.parametrize("charger", ["without the Remote Trigger profile", "triggered_status_not_resent"])
async def test_a_charger_that_cannot_be_asked_is_waited_for_quiet_and_not_asked_again(
        fast_sim_config: BenchConfig, charger: str) -> None:
    assert fast_sim_config.simulator is not None
    if charger.startswith("without"):
        station = fast_sim_config.simulator.station
        station.profiles = [p for p in station.profiles if p != "RemoteTrigger"]
    else:
        fast_sim_config.simulator.faults = [charger]
    async with open_bench(fast_sim_config, Capture(None)) as session:
        link = session.link
        assert await return_to_idle(session.bench, link, timeout=8) is None
        assert link in idle._UNASKABLE
        assert len(_triggers(session.csms.capture)) == 1
        assert await return_to_idle(session.bench, link, timeout=8) is None
        assert len(_triggers(session.csms.capture)) == 1  # the quiet window from then on


async def test_the_configuration_goes_back_before_the_statuses_are_waited_for(fast_sim_config: BenchConfig) -> None:
    """TC_023_CS leaves MinimumStatusDuration long: restored after the wait, the charger would hold Available back
    for that long when the EV is unplugged, past the return to idle's timeout. (hil_sim answers a TriggerMessage with
    the status it is in, held back or not: a charger without Remote Trigger shows the order.)"""
    assert fast_sim_config.simulator is not None
    station = fast_sim_config.simulator.station
    station.profiles = [p for p in station.profiles if p != "RemoteTrigger"]
    async with open_bench(fast_sim_config, Capture(None)) as session:
        link, bench = session.link, session.bench
        assert await return_to_idle(bench, link, timeout=4) is None
        baseline = await read_configuration(link)
        await plug_in(bench)
        assert await link.wait_until(lambda: link.statuses.get(1) == "Preparing", 4)
        response, _ = await link.call("ChangeConfiguration", {"key": "MinimumStatusDuration", "value": "10"})
        assert response["status"] == "Accepted"
        assert await return_to_idle(bench, link, timeout=4, baseline=baseline) is None
        assert link.statuses[1] == "Available"
        assert (await read_configuration(link))["MinimumStatusDuration"].value == baseline["MinimumStatusDuration"].value
        boots = [f for f in session.csms.capture.read() if f.frame.action == "BootNotification"]
        assert len(boots) == 2, "the return to idle had to power cycle the charger"  # a CALL and its answer


async def test_a_timer_the_case_left_running_ends_with_the_cases_value(fast_sim_config: BenchConfig) -> None:
    """TC_061_CS ends authorized without a cable, ConnectionTimeOut set short: the station leaves Preparing when
    that runs out. Set back to the baseline's minute first, the station would wait the minute and be power
    cycled; ConnectionTimeOut goes back once the station is idle."""
    from benchctl.bench.actions import present_id

    async with open_bench(fast_sim_config, Capture(None)) as session:
        link, bench = session.link, session.bench
        assert await return_to_idle(bench, link, timeout=4) is None
        baseline = await read_configuration(link)
        assert int(baseline["ConnectionTimeOut"].value or 0) > 10
        response, _ = await link.call("ChangeConfiguration", {"key": "ConnectionTimeOut", "value": "2"})
        assert response["status"] == "Accepted"
        await present_id(bench, fast_sim_config.values["valid_id_tag"])
        assert await link.wait_until(lambda: link.statuses.get(1) == "Preparing", 4)
        assert await return_to_idle(bench, link, timeout=8, baseline=baseline) is None
        boots = [f for f in session.csms.capture.read() if f.frame.action == "BootNotification"]
        assert len(boots) == 2, "the return to idle had to power cycle the charger"
        assert (await read_configuration(link))["ConnectionTimeOut"].value == baseline["ConnectionTimeOut"].value
