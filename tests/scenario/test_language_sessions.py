"""Language features added for the session cases (2.1-2.4, 2.10): a ChangeConfiguration `send` carries its value
as a string; `absent` watches several actions (`also`) from an earlier frame on (`since_step`); a reusable
state has its own Configuration State(s) and its answers see its parameters; the answer of a step skipped by
`when:` is withdrawn. Each runs a scenario against a scripted charger on a real WebSocket."""

from __future__ import annotations

import asyncio
from pathlib import Path

from benchctl.bench.config import BenchConfig

from support.scripted import ScriptedCharger, run_scripted


async def test_change_configuration_value_from_a_number_goes_out_as_a_string(tmp_path: Path,
                                                                            sim_config: BenchConfig) -> None:
    charger = ScriptedCharger({"ChangeConfiguration": {"status": "Accepted"}})
    result = await run_scripted(tmp_path, sim_config, """\
steps:
  - send: ChangeConfiguration
    step: 5
    payload: {key: MeterValueSampleInterval, value: "${meter_value_interval_s}"}
    response: {status: Accepted}
    response_step: 6
""", charger)
    assert (result.verdict, result.reason) == ("PASS", "")
    assert charger.calls == [("ChangeConfiguration", {"key": "MeterValueSampleInterval",
                                                      "value": str(sim_config.values["meter_value_interval_s"])})]


ABSENT = """\
steps:
  - send: ClearCache
    step: 1
    response_step: 2
  - absent: Authorize
    also: [Heartbeat]
    step: 3
    since_step: 2
    for_s: 0.5
"""


async def test_absent_counts_any_of_its_actions_sent_since_the_step(tmp_path: Path, sim_config: BenchConfig) -> None:
    # the Heartbeat leaves right behind the ClearCache.conf, possibly before the absent step starts
    charger = ScriptedCharger({"ClearCache": {"status": "Accepted"}},
                              after={"ClearCache": [[2, "hb", "Heartbeat", {}]]})
    result = await run_scripted(tmp_path, sim_config, ABSENT, charger)
    assert (result.verdict, result.step) == ("FAIL", 3), result.reason
    assert "Heartbeat" in result.reason


async def test_absent_passes_when_none_of_its_actions_comes(tmp_path: Path, sim_config: BenchConfig) -> None:
    charger = ScriptedCharger({"ClearCache": {"status": "Accepted"}},
                              after={"ClearCache": [[2, "dt", "DataTransfer", {"vendorId": "probe"}]]})
    result = await run_scripted(tmp_path, sim_config, ABSENT, charger)
    assert (result.verdict, result.reason) == ("PASS", ""), result.reason


STATE = """\
state: Probe
section: '9.9'
params:
  info: {status: Accepted}
configuration:
  HeartbeatInterval: "${heartbeat_interval_s}"
steps:
  - expect: Authorize
    step: 1
    when: {var: no_such_flag, equals: "true"}
    answer: {idTagInfo: {status: Blocked}}
  - expect: Authorize
    step: 2
    answer: {idTagInfo: "${info}"}
    answer_step: 3
"""


async def test_a_state_sets_its_configuration_and_answers_with_its_parameters(tmp_path: Path,
                                                                              sim_config: BenchConfig) -> None:
    (tmp_path / "states").mkdir()
    (tmp_path / "states" / "Probe.yaml").write_text(STATE)
    charger = ScriptedCharger({"ChangeConfiguration": {"status": "Accepted"}})

    async def authorize_once_configured() -> None:
        for _ in range(100):
            if charger.calls:
                break
            await asyncio.sleep(0.05)
        await charger.send([2, "au", "Authorize", {"idTag": "04A1B2C3"}])

    result = await run_scripted(tmp_path, sim_config, """\
steps:
  - state: Probe
    with: {info: {status: Expired}}
""", charger, authorize_once_configured)
    assert (result.verdict, result.reason) == ("PASS", ""), result.reason
    assert charger.calls == [("ChangeConfiguration", {"key": "HeartbeatInterval",
                                                      "value": str(sim_config.values["heartbeat_interval_s"])})]
    # not the skipped step's Blocked, not the default Accepted: the state's parameter as the scenario set it
    assert charger.results["au"] == {"idTagInfo": {"status": "Expired"}}
