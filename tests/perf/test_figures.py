"""The A.4 figures of synthetic captures: what counts, what does not, the statistics, the evidence and the verdict."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchctl.config import ConfigError
from benchctl.config.pics import PerformancePics
from benchctl.perf.a4 import a4, load_a4
from benchctl.perf.figures import EXCEEDED, NOT_DECLARED, NOT_MEASURED, WITHIN, Figure, acceptance, measure_figures
from benchctl.perf.timings import TRIGGERED, case_timings

from perf_wire import Wire

PAIRS = [p.request for p in a4().pairs]


def by_id(figures: list[Figure]) -> dict[str, Figure]:
    return {f.id: f for f in figures}


def declared(**overrides: float | None) -> PerformancePics:
    values = {"triggered_function_timeout_s": 1.0, "response_timeout_s": 0.5, "remote_start_response_time_s": 0.2,
              "communication_technology": "ethernet", "authorize_response_time_s": None}
    values.update(overrides)
    return PerformancePics(file="station.yaml", **values)  # type: ignore[arg-type]


def test_every_a4_figure_and_pair_is_listed_even_in_an_empty_capture() -> None:
    figures = by_id(measure_figures([]))
    assert list(figures) == (["triggered_function_timeout"] + [f"triggered_function_timeout/{p}" for p in PAIRS]
                             + ["response_timeout", "authorize_response_time", "remote_start_response_time"])
    assert PAIRS == ["CancelReservation", "ReserveNow", "ChangeAvailability", "RemoteStartTransaction",
                     "RemoteStopTransaction", "TriggerMessage"]
    for figure in figures.values():
        assert figure.verdict == NOT_MEASURED and figure.reason, figure.id
        assert figure.as_record()["max_ms"] is None
    assert figures["triggered_function_timeout/ReserveNow"].reason == "no ReserveNow in the capture"
    assert figures["authorize_response_time"].reason == "no Authorize from the charger in the capture"
    verdict = acceptance(list(figures.values()), None)
    assert verdict["all_measured"] is False and "response_timeout" in verdict["not_measured"]


def test_a_callerror_is_a_response_sample_but_promises_nothing() -> None:
    w = Wire()
    w.at(0.0).tool_call("a", "ReserveNow", {"connectorId": 1})
    w.at(0.040).charger_error("a", "ReserveNow")
    w.at(0.100).charger_call("b", "StatusNotification", {"connectorId": 1, "status": "Reserved"})
    figures = by_id(measure_figures(w.records))
    response = figures["response_timeout"]
    assert [(s.ms, s.frames, s.note) for s in response.samples] == [(pytest.approx(40.0), (0, 1), "CALLERROR")]
    pair = figures["triggered_function_timeout/ReserveNow"]
    assert pair.verdict == NOT_MEASURED
    assert pair.reason == "1 ReserveNow, none answered Accepted (1x CALLERROR)"


def test_a_rejected_remote_start_has_a_response_time_but_no_triggered_figure() -> None:
    w = Wire()
    w.at(0.0).tool_call("a", "RemoteStartTransaction", {"idTag": "X", "connectorId": 1})
    w.at(0.150).charger_answer("a", "RemoteStartTransaction", {"status": "Rejected"})
    w.at(0.300).charger_call("b", "StatusNotification", {"connectorId": 1, "status": "Preparing"})
    figures = by_id(measure_figures(w.records, declared()))
    remote = figures["remote_start_response_time"]
    assert remote.verdict == WITHIN and remote.extremes()["max"].ms == pytest.approx(150.0)
    pair = figures["triggered_function_timeout/RemoteStartTransaction"]
    assert pair.samples == [] and pair.verdict == NOT_MEASURED
    assert "Rejected" in pair.reason
    assert figures["triggered_function_timeout"].verdict == NOT_MEASURED
    assert acceptance(list(figures.values()), declared())["not_measured"] == ["triggered_function_timeout"]


def test_a_missing_triggered_message_is_reported_and_exceeds_a_shorter_declared_timeout() -> None:
    w = Wire()
    w.at(0.0).tool_call("a", "RemoteStopTransaction", {"transactionId": 1})
    w.at(0.010).charger_answer("a", "RemoteStopTransaction", {"status": "Accepted"})
    w.at(3.010).charger_call("h", "Heartbeat", {})  # the case goes on for 3 s without the StopTransaction
    w.at(3.5, case="TC_NEXT_CS").charger_call("b", "StopTransaction", {"transactionId": 1})  # another case's
    figures = by_id(measure_figures(w.records, declared(triggered_function_timeout_s=2.0)))
    pair = figures["triggered_function_timeout/RemoteStopTransaction"]
    assert pair.samples == []
    assert [(i.frames, round(i.waited_ms), i.case) for i in pair.incomplete] == [((0, 1), 3000, "TC_X_CS")]
    assert pair.verdict == NOT_MEASURED and "no StopTransaction followed" in pair.reason
    overall = figures["triggered_function_timeout"]
    assert overall.incomplete == pair.incomplete
    # with samples present, an exchange left waiting longer than declared is a timeout exceeded
    w.at(4.0, case="TC_X_CS").tool_call("c", "TriggerMessage", {"requestedMessage": "Heartbeat"})
    w.at(4.010).charger_answer("c", "TriggerMessage", {"status": "Accepted"})
    w.at(4.060).charger_call("d", "Heartbeat", {})
    overall = by_id(measure_figures(w.records, declared(triggered_function_timeout_s=2.0)))[
        "triggered_function_timeout"]
    assert overall.verdict == EXCEEDED and "not completed after waiting longer" in overall.reason
    assert by_id(measure_figures(w.records, declared(triggered_function_timeout_s=5.0)))[
        "triggered_function_timeout"].verdict == WITHIN


def test_a_message_sent_before_the_answer_counts_as_no_wait() -> None:
    w = Wire()
    w.at(0.0).tool_call("a", "ReserveNow", {"connectorId": 1, "reservationId": 7})
    w.at(0.002).charger_call("b", "StatusNotification", {"connectorId": 1, "status": "Reserved"})
    w.at(0.004).charger_answer("a", "ReserveNow", {"status": "Accepted"})
    sample, = by_id(measure_figures(w.records))["triggered_function_timeout/ReserveNow"].samples
    assert (sample.ms, sample.frames, sample.note) == (0.0, (0, 2, 1), "sent before the answer")
    # the per-case timings the run records agree
    assert [(t.name, t.ms, t.frames) for t in case_timings(w.records) if t.kind == TRIGGERED] == [
        ("ReserveNow -> StatusNotification(Reserved)", 0.0, (2, 1))]


def test_the_promised_message_must_be_for_the_requested_connector_and_charge_point() -> None:
    w = Wire()
    w.at(0.0).tool_call("a", "ChangeAvailability", {"connectorId": 2, "type": "Inoperative"})
    w.at(0.010).charger_answer("a", "ChangeAvailability", {"status": "Accepted"})
    w.at(0.020, cp="CP2").charger_call("x", "StatusNotification", {"connectorId": 2, "status": "Unavailable"})
    w.at(0.030, cp="CP1").charger_call("y", "StatusNotification", {"connectorId": 1, "status": "Available"})
    w.at(0.110).charger_call("z", "StatusNotification", {"connectorId": 2, "status": "Unavailable"})
    sample, = by_id(measure_figures(w.records))["triggered_function_timeout/ChangeAvailability"].samples
    assert sample.frames == (0, 1, 4) and sample.ms == pytest.approx(100.0)


def test_unique_ids_pair_per_charge_point() -> None:
    w = Wire()
    w.at(0.0, cp="CP1").tool_call("1", "GetConfiguration", {})
    w.at(0.001, cp="CP2").tool_call("1", "GetConfiguration", {})
    w.at(0.005, cp="CP2").charger_answer("1", "GetConfiguration", {})
    w.at(0.050, cp="CP1").charger_answer("1", "GetConfiguration", {})
    samples = by_id(measure_figures(w.records))["response_timeout"].samples
    assert sorted((s.cp, s.frames, round(s.ms)) for s in samples) == [("CP1", (0, 3), 50), ("CP2", (1, 2), 4)]


def test_trigger_message_waits_for_the_requested_message_only() -> None:
    w = Wire()
    w.at(0.0).tool_call("a", "TriggerMessage", {"requestedMessage": "MeterValues", "connectorId": 1})
    w.at(0.010).charger_answer("a", "TriggerMessage", {"status": "Accepted"})
    w.at(0.020).charger_call("b", "Heartbeat", {})
    w.at(0.025).charger_call("c", "MeterValues", {"connectorId": 2, "meterValue": []})
    w.at(0.310).charger_call("d", "MeterValues", {"connectorId": 1, "meterValue": []})
    sample, = by_id(measure_figures(w.records))["triggered_function_timeout/TriggerMessage"].samples
    assert sample.frames == (0, 1, 4) and sample.ms == pytest.approx(300.0)


def test_p95_and_median_are_nearest_rank_samples_with_their_frames() -> None:
    w = Wire()
    t = 0.0
    for n in range(1, 21):  # 20 calls answered after 1..20 ms, in shuffled order
        ms = (n * 7) % 20 + 1
        w.at(t).tool_call(f"u{n}", "GetConfiguration", {})
        w.at(t + ms / 1000).charger_answer(f"u{n}", "GetConfiguration", {})
        t += 1.0
    figure = by_id(measure_figures(w.records))["response_timeout"]
    record = figure.as_record()
    assert record["count"] == 20
    assert (record["min_ms"], record["median_ms"], record["p95_ms"], record["max_ms"]) == pytest.approx(
        (1.0, 10.0, 19.0, 20.0))
    for name, sample in figure.extremes().items():  # each statistic cites the call and answer it came from
        call, answer = sample.frames
        assert w.records[call]["type"] == "CALL" and w.records[answer]["id"] == w.records[call]["id"]
        assert record["extremes"][name]["frames"] == [call, answer]


def test_p95_of_few_samples_is_the_largest() -> None:
    w = Wire()
    for n, ms in enumerate((30, 10, 20)):
        w.at(n).tool_call(f"u{n}", "RemoteStartTransaction", {"idTag": "X"})
        w.at(n + ms / 1000).charger_answer(f"u{n}", "RemoteStartTransaction", {"status": "Accepted"})
    record = by_id(measure_figures(w.records))["remote_start_response_time"].as_record()
    assert (record["median_ms"], record["p95_ms"], record["max_ms"]) == pytest.approx((20.0, 30.0, 30.0))
    assert record["extremes"]["p95"]["frames"] == [0, 1]
    w = Wire()
    w.at(0).tool_call("only", "RemoteStartTransaction", {"idTag": "X"})
    w.at(0.005).charger_answer("only", "RemoteStartTransaction", {"status": "Accepted"})
    record = by_id(measure_figures(w.records))["remote_start_response_time"].as_record()
    assert record["min_ms"] == record["median_ms"] == record["p95_ms"] == record["max_ms"] == pytest.approx(5.0)


def test_pics_comparison_within_exceeded_and_not_declared() -> None:
    w = Wire()
    w.at(0.0).tool_call("a", "RemoteStartTransaction", {"idTag": "X", "connectorId": 1})
    w.at(0.300).charger_answer("a", "RemoteStartTransaction", {"status": "Accepted"})
    w.at(0.500).charger_call("b", "StartTransaction", {"connectorId": 1, "idTag": "X"})
    w.at(0.600).charger_call("c", "Authorize", {"idTag": "X"})
    w.at(0.650).csms_answer("c", "Authorize", {"idTagInfo": {"status": "Accepted"}})
    figures = by_id(measure_figures(w.records, declared(remote_start_response_time_s=0.2)))
    remote = figures["remote_start_response_time"]
    assert (remote.verdict, remote.declared_s) == (EXCEEDED, 0.2)
    assert remote.reason == "max 300.0 ms above the declared 0.2 s"
    assert figures["response_timeout"].verdict == WITHIN  # 300 ms against 0.5 s
    assert figures["triggered_function_timeout/RemoteStartTransaction"].verdict == WITHIN
    authorize = figures["authorize_response_time"]
    assert authorize.verdict == NOT_DECLARED and authorize.samples[0].frames == (3, 4)
    assert "does not declare performance.authorize_response_time_s" in authorize.reason
    # an undeclared parameter is not one the PICS asks to measure
    assert acceptance(list(figures.values()), declared()) == {
        "rule": "8.1.3: every performance parameter of the PICS is measured", "all_measured": True,
        "not_measured": [], "pairs_not_measured": [f"triggered_function_timeout/{p}" for p in PAIRS
                                                   if p != "RemoteStartTransaction"]}
    without_pics = by_id(measure_figures(w.records))["remote_start_response_time"]
    assert without_pics.verdict == NOT_DECLARED and "no PICS performance section" in without_pics.reason


def test_an_unanswered_call_is_incomplete_not_a_sample() -> None:
    w = Wire()
    w.at(0.0).tool_call("a", "Reset", {"type": "Soft"})
    w.at(2.0).charger_call("b", "Heartbeat", {})
    figure = by_id(measure_figures(w.records, declared(response_timeout_s=1.0)))["response_timeout"]
    assert figure.samples == [] and figure.verdict == NOT_MEASURED
    assert [(i.frames, round(i.waited_ms), i.reason) for i in figure.incomplete] == [
        ((0,), 2000, "no answer in the capture")]


def test_the_a4_file_is_checked_with_file_and_line(tmp_path: Path) -> None:
    text = (Path(__file__).parents[2] / "benchctl/perf/a4.yaml").read_text()
    bad = text.replace("pics: response_timeout_s", "pics: response_timeout")
    (tmp_path / "a4.yaml").write_text(bad)
    with pytest.raises(ConfigError) as info:
        load_a4(tmp_path / "a4.yaml")
    assert info.value.field == "figures[1].pics" and info.value.line == bad.splitlines().index(
        "    pics: response_timeout") + 1
