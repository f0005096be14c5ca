"""A check reads an omitted field as OCPP 1.6 defines it: a MeterValues sampledValue without measurand is
Energy.Active.Import.Register (and Wh, Sample.Periodic, Raw, Outlet), so a conforming charger that leaves them
out passes TC_070-like checks. The capture keeps the frame as sent."""

from __future__ import annotations

from pathlib import Path

from benchctl.bench.config import BenchConfig
from benchctl.csms.defaults import with_ocpp_defaults

from support.scripted import ScriptedCharger, run_scripted

STEPS = """\
steps:
  - expect: MeterValues
    step: 3
    match:
      "meterValue[0].sampledValue[*].measurand": {contains_all: [Energy.Active.Import.Register]}
      "meterValue[0].sampledValue[*].context": {every: Sample.Periodic}
      "meterValue[0].sampledValue[0].unit": Wh
"""

BARE = {"connectorId": 1, "transactionId": 7,
        "meterValue": [{"timestamp": "2026-12-06T10:00:00Z", "sampledValue": [{"value": "1250"}]}]}


async def test_an_omitted_measurand_is_the_energy_register(tmp_path: Path, fast_sim_config: BenchConfig) -> None:
    charger = ScriptedCharger({})

    async def send() -> None:
        await charger.send([2, "m1", "MeterValues", BARE])

    result = await run_scripted(tmp_path, fast_sim_config, STEPS, charger, send)
    assert (result.verdict, result.reason) == ("PASS", ""), result.reason


def test_defaults_fill_only_what_is_missing_and_leave_the_payload_as_sent() -> None:
    sent = {"transactionId": 7, "meterStop": 10, "timestamp": "2026-12-06T10:00:00Z", "transactionData": [
        {"timestamp": "2026-12-06T10:00:00Z", "sampledValue": [{"value": "3", "unit": "kWh"}]}]}
    completed = with_ocpp_defaults("StopTransaction", sent)
    assert completed["transactionData"][0]["sampledValue"][0] == {
        "value": "3", "unit": "kWh", "context": "Sample.Periodic", "format": "Raw",
        "measurand": "Energy.Active.Import.Register", "location": "Outlet"}
    assert sent["transactionData"][0]["sampledValue"][0] == {"value": "3", "unit": "kWh"}
    assert with_ocpp_defaults("Heartbeat", {}) == {}
