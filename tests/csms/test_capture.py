"""The capture streams to capture.jsonl and holds only the latest frames of the current label in memory; whatever
is no longer held is read back from the file, by index, as it was captured."""

from __future__ import annotations

import json
from pathlib import Path

from benchctl.csms.capture import CHECKPOINT, TO_CHARGER, TO_CSMS, Capture, CapturedFrame
from benchctl.csms.frames import Frame, parse


def meter_values(i: int) -> str:
    return json.dumps([2, f"m{i}", "MeterValues", {"connectorId": 1, "transactionId": 7, "meterValue": [
        {"timestamp": "2025-01-01T00:00:00Z", "sampledValue": [{"value": str(i)}]}]}])


def test_memory_holds_at_most_keep_frames_while_the_file_has_them_all(tmp_path: Path) -> None:
    path = tmp_path / "capture.jsonl"
    capture, pending = Capture(path, keep=100), {}
    capture.case = "TC_X_CS"
    n = 3 * CHECKPOINT + 17  # past a few checkpoints, so a lookup starts from one in the middle of the file
    for i in range(n):
        capture.add(TO_CSMS, "CP-1", parse(meter_values(i), pending))
        assert len(capture.held) <= 100
    assert len(capture.held) == 100 and capture.count == n and capture.invalid == 0
    assert len(path.read_text().splitlines()) == n
    old = capture.frame_at(CHECKPOINT + 5)  # long gone from memory: from the file
    assert old is not None and old.index == CHECKPOINT + 5 and old.case == "TC_X_CS"
    assert old.frame.payload["meterValue"][0]["sampledValue"][0]["value"] == str(CHECKPOINT + 5)
    assert capture.frame_at(n - 1) is capture.held[-1]  # a held one is not read back
    assert capture.frame_at(n) is None
    every = capture.read()
    assert [f.index for f in every] == list(range(n)) and every[-1] is capture.held[-1]
    assert [f.index for f in capture.read(n - 150, n - 50)] == list(range(n - 150, n - 50))  # file, then memory
    assert [f.index for f in capture.frames_of_case("TC_X_CS")] == list(range(n))


def test_a_frame_read_back_is_the_frame_captured(tmp_path: Path) -> None:
    capture, pending = Capture(tmp_path / "capture.jsonl", keep=1), {}
    raws = ['[2,"a","Heartbeat",{}]', '[3,"a",{"currentTime":"2025-01-01T00:00:00Z"}]', '[3,"zz",{}]',
            '[4,"b","NotImplemented","",{}]', '[2,"c","Heartbeat"]', '[2,7,"Heartbeat",{}]', "not json",
            '[2,"d","StatusNotification",{"connectorId":1}]']
    sent = [capture.add(TO_CSMS if i % 2 == 0 else TO_CHARGER, "CP-1", parse(raw, pending), i)
            for i, raw in enumerate(raws)]
    sent.append(capture.add(TO_CHARGER, "CP-1", parse(b"\x00binary", pending)))
    sent.append(capture.add(TO_CSMS, "CP-1", Frame("", error="over the limit", oversize=True, size=70000)))
    sent.append(capture.event("CP-1", "connection #3 opened", {"connection": 3, "event": "opened"}))
    back = capture.read()
    assert [b.as_record() for b in back] == [s.as_record() for s in sent]
    for b, s in zip(back, sent):
        assert (b.frame, b.connection, b.direction, b.case) == (s.frame, s.connection, s.direction, s.case)
        assert abs(b.wall - s.wall) < 1e-6 and abs(b.mono - s.mono) < 1e-6
    assert capture.invalid == sum(s.frame.error is not None for s in sent) == 7


def test_the_frames_of_a_case_are_those_of_its_last_attempt(tmp_path: Path) -> None:
    capture, pending = Capture(tmp_path / "capture.jsonl", keep=5), {}

    def frames(label: str, k: int) -> list[CapturedFrame]:
        capture.case = label
        return [capture.add(TO_CSMS, "CP-1", parse('[2,"h","Heartbeat",{}]', pending)) for _ in range(k)]

    frames("TC_A_CS:reset", 3)
    frames("TC_A_CS", 8)  # more than memory holds
    reset = frames("TC_A_CS:reset", 2)
    again = frames("TC_A_CS", 4)
    assert [f.index for f in capture.frames_of_case("TC_A_CS")] == [f.index for f in again]
    assert [f.index for f in capture.frames_of_case("TC_A_CS:reset")] == [f.index for f in reset]  # from the file
    assert list(capture.held) == again and capture.frames_of_case("TC_B_CS") == []


def test_a_resumed_capture_goes_on_with_the_indices_and_reads_the_earlier_frames_back(tmp_path: Path) -> None:
    path = tmp_path / "capture.jsonl"
    first, pending = Capture(path, keep=10), {}
    for i in range(25):
        first.add(TO_CSMS, "CP-1", parse(meter_values(i), pending))
    first.close()
    resumed = Capture(path, keep=10)
    added = resumed.add(TO_CSMS, "CP-1", parse(meter_values(25), pending))
    assert (added.index, resumed.first_index, resumed.count) == (25, 25, 1)
    assert [f.index for f in resumed.read()] == [25]  # this session's frames
    assert [f.index for f in resumed.read(0)] == list(range(26))  # and the earlier ones, asked for
    old = resumed.frame_at(3)
    assert old is not None and old.frame.payload["meterValue"][0]["sampledValue"][0]["value"] == "3"


def test_without_a_file_only_the_held_frames_remain(tmp_path: Path) -> None:
    capture, pending = Capture(None, keep=4), {}
    for _ in range(10):
        capture.add(TO_CSMS, "CP-1", parse('[2,"h","Heartbeat",{}]', pending))
    assert [f.index for f in capture.read()] == [6, 7, 8, 9] and capture.frame_at(2) is None
    assert capture.count == 10


def test_the_benches_of_a_run_share_the_file_and_indices_but_not_their_frames(tmp_path: Path) -> None:
    first = Capture(tmp_path / "capture.jsonl", bench=1, keep=3)
    second = first.sibling(bench=2)
    pending: dict[str, str] = {}
    first.case = second.case = "TC_A_CS"
    for i in range(10):  # interleaved: neither bench's indices are consecutive
        (first if i % 2 == 0 else second).add(TO_CSMS, "CP-1", parse(meter_values(i), pending))
    assert [f.index for f in first.read()] == [0, 2, 4, 6, 8] and [f.index for f in second.read()] == [1, 3, 5, 7, 9]
    assert [f.index for f in first.frames_of_case("TC_A_CS")] == [0, 2, 4, 6, 8]  # two from the file, three held
    assert first.frame_at(1) is None and first.frame_at(6) is first.held[1]
    old = second.frame_at(1)
    assert old is not None and old.bench == 2 and old.frame.payload["meterValue"][0]["sampledValue"][0]["value"] == "1"
    assert (first.count, second.count, second.next_index) == (5, 5, 10)
