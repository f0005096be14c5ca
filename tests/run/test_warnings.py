"""The WARN detectors (benchctl/run/warnings.py) on captures built from real OCPP-J frames."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest

from benchctl.csms.capture import TO_CHARGER, TO_CSMS, CapturedFrame
from benchctl.csms.frames import parse
from benchctl.run.warnings import BACKWARDS, CLOCK, METER, MeterRead, RunWatch, register_value

T0 = 1_800_000_000.0


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Wire:
    """Frames as the Central System captures them: requests from the charger, its answers to them."""

    def __init__(self) -> None:
        self.frames: list[CapturedFrame] = []
        self.pending: dict[str, str] = {}
        self.t = T0

    def _add(self, direction: str, message: list[Any], at: float | None = None) -> CapturedFrame:
        self.t = self.t + 1.0 if at is None else at
        frame = parse(json.dumps(message), self.pending)
        assert frame.error is None, frame.error
        captured = CapturedFrame(len(self.frames), self.t, self.t, direction, "CP-1", frame, "TC_X")
        self.frames.append(captured)
        return captured

    def call(self, action: str, payload: dict[str, Any], answer: dict[str, Any] | None = None,
             at: float | None = None) -> int:
        uid = f"u{len(self.frames)}"
        request = self._add(TO_CSMS, [2, uid, action, payload], at)
        self._add(TO_CHARGER, [3, uid, answer or {}], request.wall + 0.01)
        return request.index

    def start(self, meter_start: int, transaction_id: int, connector: int = 1, stamp: float | None = None) -> int:
        return self.call("StartTransaction", {"connectorId": connector, "idTag": "04A1B2C3", "meterStart": meter_start,
                                              "timestamp": _iso(self.t + 1 if stamp is None else stamp)},
                         {"idTagInfo": {"status": "Accepted"}, "transactionId": transaction_id})

    def meter_values(self, transaction_id: int | None, *sampled: dict[str, Any], stamp: float | None = None) -> int:
        payload: dict[str, Any] = {"connectorId": 1, "meterValue": [
            {"timestamp": _iso(self.t + 1 if stamp is None else stamp), "sampledValue": list(sampled)}]}
        if transaction_id is not None:
            payload["transactionId"] = transaction_id
        return self.call("MeterValues", payload)

    def stop(self, meter_stop: int, transaction_id: int, data: list[dict[str, Any]] | None = None) -> int:
        payload: dict[str, Any] = {"transactionId": transaction_id, "meterStop": meter_stop,
                                   "timestamp": _iso(self.t + 1)}
        if data is not None:
            payload["transactionData"] = [{"timestamp": _iso(self.t + 1), "sampledValue": data}]
        return self.call("StopTransaction", payload)

    def status(self, stamp: float, at: float | None = None) -> int:
        return self.call("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Available",
                                                "timestamp": _iso(stamp)}, at=at)


@pytest.mark.parametrize(("sampled", "expected"), [
    ({"value": "12345"}, (12345.0, 1.0)),  # no measurand: Energy.Active.Import.Register, unit Wh
    ({"value": "12.34", "unit": "kWh"}, (12340.0, 10.0)),
    ({"value": "12.345", "unit": "kWh", "measurand": "Energy.Active.Import.Register"}, (12345.0, 1.0)),
    ({"value": "7400", "measurand": "Power.Active.Import", "unit": "W"}, None),
    ({"value": "4100", "phase": "L1"}, None),
    ({"value": "12345", "location": "Inlet"}, None),
    ({"value": "c2lnbmVk", "format": "SignedData"}, None),
    ({"value": "12", "unit": "varh"}, None),
])
def test_register_value_applies_the_ocpp_defaults(sampled: dict[str, Any], expected: Any) -> None:
    assert register_value(sampled) == expected


def test_a_register_falling_below_meter_start_within_a_transaction() -> None:
    wire, watch = Wire(), RunWatch()
    start = wire.start(12345, 7)
    wire.meter_values(7, {"value": "12350"})
    falling = wire.meter_values(7, {"value": "15"})  # the transaction's energy, labelled as the register
    (warn,) = watch.scan(wire.frames)
    assert warn.kind == BACKWARDS and warn.frames == [start + 2, falling]
    assert "15 Wh" in warn.message and "12350 Wh" in warn.message


def test_kwh_at_a_coarser_resolution_is_not_a_fall_but_a_real_fall_in_kwh_is() -> None:
    wire, watch = Wire(), RunWatch()
    wire.start(12345, 7)
    wire.meter_values(7, {"value": "12.34", "unit": "kWh"})  # 12340 Wh, written to 10 Wh
    assert watch.scan(wire.frames) == []
    wire.meter_values(7, {"value": "12.2", "unit": "kWh"})
    (warn,) = watch.scan(wire.frames[len(wire.frames) - 2:])
    assert warn.kind == BACKWARDS and "12200 Wh" in warn.message


def test_meter_stop_and_transaction_data_below_the_last_reading() -> None:
    wire, watch = Wire(), RunWatch()
    wire.start(100, 1)
    wire.meter_values(1, {"value": "150"})
    stop = wire.stop(140, 1, data=[{"value": "160"}])
    (warn,) = watch.scan(wire.frames)
    assert warn.kind == BACKWARDS and warn.frames[-1] == stop and "meterStop 140 Wh" in warn.message


def test_meter_start_below_the_previous_meter_stop_across_cases() -> None:
    wire, watch = Wire(), RunWatch()
    wire.start(100, 1)
    stop = wire.stop(180, 1)
    assert watch.scan(wire.frames) == []  # the first case
    first = len(wire.frames)
    start = wire.start(0, 2)  # a register kept in RAM, lost by a reboot
    (warn,) = watch.scan(wire.frames[first:])  # the next case
    assert warn.kind == BACKWARDS and warn.frames == [stop, start]
    other = len(wire.frames)
    wire.start(0, 3, connector=2)  # another connector has its own register
    assert watch.scan(wire.frames[other:]) == []


def test_a_healthy_transaction_has_no_warning() -> None:
    wire, watch = Wire(), RunWatch()
    wire.start(12345, 1)
    wire.meter_values(1, {"value": "12350", "context": "Sample.Periodic"}, {"value": "7400", "unit": "W",
                                                                           "measurand": "Power.Active.Import"})
    wire.meter_values(None, {"value": "12.36", "unit": "kWh", "context": "Sample.Clock"})
    wire.stop(12360, 1, data=[{"value": "12360"}])
    wire.start(12360, 2)
    assert watch.scan(wire.frames) == []


def test_clock_ahead_or_behind_while_the_link_is_up() -> None:
    wire, watch = Wire(), RunWatch(clock_warning_s=60)
    ok = wire.status(T0 + 1 - 30)  # 30 s off: within the bench value
    ahead = wire.status(wire.t + 1 + 600)
    behind = wire.meter_values(None, {"value": "1"}, stamp=wire.t + 1 - 3600)
    also_ahead = wire.status(wire.t + 1 + 600)
    warns = watch.scan(wire.frames)
    assert [w.kind for w in warns] == [CLOCK, CLOCK]
    by_action = {w.message.partition(" ")[0]: w for w in warns}
    assert by_action["StatusNotification"].frames == [ahead, also_ahead]
    assert "ahead of the bench clock" in by_action["StatusNotification"].message
    assert by_action["MeterValues"].frames == [behind] and "behind" in by_action["MeterValues"].message
    assert ok not in by_action["StatusNotification"].frames


def test_a_message_queued_before_the_reconnect_is_not_a_wrong_clock() -> None:
    wire, watch = Wire(), RunWatch(clock_warning_s=60)
    reconnected = T0 + 1000.0
    watch.attached_at = [T0 - 10, reconnected]
    queued = wire.status(T0 + 400, at=reconnected + 0.5)  # stamped while offline: sent after the reconnect
    stale = wire.status(reconnected + 1, at=reconnected + 200)  # stamped after the reconnect, link up since
    (warn,) = watch.scan(wire.frames)
    assert warn.frames == [stale] and queued not in warn.frames


def _metered(wire: Wire, watch: RunWatch, index: int, energy_wh: float, power_w: float = 0.0,
             after_s: float = 0.0) -> None:
    """The reference meter read `after_s` after frame `index` came."""
    watch.meter_reads[index] = MeterRead(energy_wh, power_w, wire.frames[index].wall + after_s)


def test_charger_energy_against_the_reference_meter() -> None:
    wire, watch = Wire(), RunWatch(meter_accuracy_pct=2.0, meter_connector=1)
    start = wire.start(18517, 1)
    stop = wire.stop(18563, 1)  # 46 Wh by the charger
    _metered(wire, watch, start, 12345.0)
    _metered(wire, watch, stop, 12375.8)  # 30.8 Wh through the meter
    (warn,) = watch.scan(wire.frames)
    assert warn.kind == METER and warn.frames == [start, stop]
    assert "46 Wh" in warn.message and "30.8 Wh" in warn.message


def test_energy_within_the_accuracy_class_and_the_register_resolution() -> None:
    wire, watch = Wire(), RunWatch(meter_accuracy_pct=2.0, meter_connector=1)
    start = wire.start(12345, 1)
    sample = wire.meter_values(1, {"value": "12375"})
    _metered(wire, watch, start, 12345.06)
    # read 0.5 s after the frame at 7400 W: 1 Wh flowed meanwhile, which is not the charger's error
    _metered(wire, watch, sample, 12376.9, power_w=7400.0, after_s=0.5)
    assert watch.scan(wire.frames) == []


def test_a_sample_sent_later_than_it_was_taken_is_judged_at_its_own_timestamp() -> None:
    """A clock-aligned sample waits behind other messages: the meter read on arrival has counted 2 s more."""
    wire, watch = Wire(), RunWatch(meter_accuracy_pct=2.0, meter_connector=1)
    start = wire.start(12345, 1)
    sample = wire.meter_values(1, {"value": "12375", "context": "Sample.Clock"}, stamp=wire.t + 1 - 2.0)
    _metered(wire, watch, start, 12345.0)
    _metered(wire, watch, sample, 12379.1, power_w=7400.0)
    assert watch.scan(wire.frames) == []


def test_an_open_transaction_is_judged_on_its_latest_reading_once() -> None:
    wire, watch = Wire(), RunWatch(meter_accuracy_pct=2.0, meter_connector=1)
    start = wire.start(1000, 1)
    sample = wire.meter_values(1, {"value": "1100"})
    _metered(wire, watch, start, 1000.0)
    _metered(wire, watch, sample, 1050.0)
    (warn,) = watch.scan(wire.frames)
    assert warn.kind == METER and warn.frames == [start, sample]
    first = len(wire.frames)
    stop = wire.stop(1200, 1)
    _metered(wire, watch, stop, 1100.0)
    assert watch.scan(wire.frames[first:]) == []  # warned about already


def test_no_meter_comparison_for_another_connector_or_a_start_queued_offline() -> None:
    wire, watch = Wire(), RunWatch(meter_connector=1)
    start = wire.start(0, 1, connector=2)
    stop = wire.stop(500, 1)
    _metered(wire, watch, start, 0.0)
    _metered(wire, watch, stop, 10.0)
    assert watch.scan(wire.frames) == []
    first = len(wire.frames)
    watch.attached_at = [wire.t + 0.5]
    queued = wire.start(500, 2, stamp=wire.t - 100)  # started offline, reported after the reconnect
    stop = wire.stop(900, 2)
    _metered(wire, watch, queued, 10.0)
    _metered(wire, watch, stop, 20.0)
    assert watch.scan(wire.frames[first:]) == []


def test_meter_values_queued_offline_are_not_compared_with_the_meter() -> None:
    """The meter is read when a queued sample arrives, not when it was taken: no comparison on it."""
    wire, watch = Wire(), RunWatch(meter_accuracy_pct=2.0, meter_connector=1)
    start = wire.start(1000, 1)
    _metered(wire, watch, start, 1000.0)
    taken = wire.t + 5
    watch.attached_at = [T0 - 10, wire.t + 50]
    wire.t += 60
    queued = wire.meter_values(1, {"value": "1010"}, stamp=taken)  # taken offline, arrives after the reconnect
    _metered(wire, watch, queued, 1100.0)  # what flowed until it arrived
    assert watch.scan(wire.frames) == []
