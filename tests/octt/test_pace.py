"""The prompt poll's pace: quick for a while after each event, then backing off to the idle pace."""

from __future__ import annotations

import asyncio
import time

import pytest

from benchctl.octt.pace import Pace


async def looks(pace: Pace, seconds: float, on_the_way: dict[float, None] | None = None) -> list[float]:
    """When the poll would look during `seconds` (from now); busy() at the times in `on_the_way`."""
    never = asyncio.get_running_loop().create_future()
    t0, times = time.monotonic(), []
    events = sorted(on_the_way or {})
    while time.monotonic() - t0 < seconds:
        await pace.sleep(never)
        now = time.monotonic() - t0
        times.append(now)
        while events and now >= events[0]:
            events.pop(0)
            pace.busy()
    return times


async def test_the_quick_pace_holds_after_the_start_then_backs_off_to_idle() -> None:
    pace = Pace(0.01, 0.2, quick_for_s=0.3)
    times = await looks(pace, 1.0)
    quick = [t for t in times if t < 0.3]
    # at the quick pace all the hold long (a pace backing off at once would look 3 times: 10, 40, 130 ms)
    assert len(quick) >= 15, times
    gaps = [b - a for a, b in zip(times, times[1:]) if a >= 0.3]
    assert gaps and max(gaps) == pytest.approx(0.2, abs=0.06), times  # then up to the idle pace
    assert len([t for t in times if t >= 0.3]) <= 8, times


async def test_an_event_brings_the_quick_pace_back_for_the_hold() -> None:
    pace = Pace(0.01, 0.2, quick_for_s=0.2)
    times = await looks(pace, 1.2, {0.7: None})
    # idle before the event, quick for the hold after it
    assert len([t for t in times if 0.4 <= t < 0.7]) <= 3, times
    assert len([t for t in times if 0.75 <= t < 0.9]) >= 8, times

