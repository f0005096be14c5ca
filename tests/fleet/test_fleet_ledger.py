"""The claim protocol's decisions, fed message by message as a client would receive them (no broker here)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from benchctl.fleet.jobs import JobSpec
from benchctl.fleet.ledger import CLAIMING, DONE, INVALID, LOST, QUEUED, RUNNING, Ledger
from benchctl.fleet.topics import Topics

T = Topics()


def spec(job: str, at: float = 1.0, **kw: Any) -> dict[str, Any]:
    return JobSpec(job, at, cases=["003"], **kw).as_payload()


class Feed:
    """One client's view, fed messages with their retained flag."""

    def __init__(self) -> None:
        self.ledger = Ledger(T)

    def send(self, topic: str, payload: Any, retained: bool = False) -> None:
        self.ledger.feed(topic, b"" if payload is None else json.dumps(payload).encode(), retained)

    def status(self, bench: str, session: str, state: str = "idle", retained: bool = False, **data: Any) -> None:
        self.send(T.status(bench), {"state": state, "session": session, "tags": data.pop("tags", []), **data},
                  retained)

    def record(self, bench: str, job: str, status: str, attempt: int, session: str, retained: bool = False,
               **data: Any) -> None:
        self.send(T.record(bench, job), {"status": status, "attempt": attempt, "session": session, "at": 1.0,
                                         **data}, retained)


@pytest.fixture
def view() -> Feed:
    feed = Feed()
    feed.send(T.job("j1"), spec("j1"), retained=True)
    feed.status("a", "sa")
    feed.status("b", "sb")
    return feed


def test_a_new_job_is_queued_at_attempt_1(view: Feed) -> None:
    state = view.ledger.state("j1")
    assert (state.state, state.attempt) == (QUEUED, 1)
    assert [s.job for s in view.ledger.claimable(set())] == ["j1"]


def test_the_first_claim_the_broker_handled_wins_for_everyone(view: Feed) -> None:
    view.record("a", "j1", "claimed", 1, "sa")
    assert view.ledger.arbitration("j1", 1, "b", "sb") is None  # our own claim has not come back yet
    view.record("b", "j1", "claimed", 1, "sb")
    assert view.ledger.arbitration("j1", 1, "a", "sa") is True
    assert view.ledger.arbitration("j1", 1, "b", "sb") is False
    state = view.ledger.state("j1")
    assert state.state == CLAIMING and state.candidates == [("a", "sa")]
    assert view.ledger.claimable(set()) == []


def test_a_claim_that_was_on_the_broker_before_we_subscribed_beats_ours(view: Feed) -> None:
    view.record("a", "j1", "claimed", 1, "sa", retained=True)
    view.record("b", "j1", "claimed", 1, "sb")
    assert view.ledger.arbitration("j1", 1, "b", "sb") is False


def test_a_retained_claim_alone_is_no_win_for_its_own_bench_either(view: Feed) -> None:
    # a client that reconnected sees its earlier claim come back retained: it cannot know it was first
    view.record("b", "j1", "claimed", 1, "sb", retained=True)
    assert view.ledger.arbitration("j1", 1, "b", "sb") is False


def test_someone_else_running_the_attempt_means_we_lost(view: Feed) -> None:
    view.record("b", "j1", "claimed", 1, "sb")
    view.record("a", "j1", "running", 1, "sa")
    assert view.ledger.arbitration("j1", 1, "b", "sb") is False


def test_running_on_a_live_session_is_running(view: Feed) -> None:
    view.record("a", "j1", "claimed", 1, "sa")
    view.record("a", "j1", "running", 1, "sa", run_dir="/runs/x")
    state = view.ledger.state("j1")
    assert state.state == RUNNING and state.holder is not None and state.holder.bench == "a"


def test_a_dead_holder_requeues_the_job_at_the_next_attempt(view: Feed) -> None:
    view.record("a", "j1", "running", 1, "sa", on_death="requeue")
    view.status("a", "sa", "offline", reason="connection lost (last will)")
    state = view.ledger.state("j1")
    assert (state.state, state.attempt) == (QUEUED, 2)
    assert "bench a went offline" in state.note and "last will" in state.note
    assert [s.attempt for s in view.ledger.claimable(set())] == [2]
    # the next attempt is claimed and run like the first; the dead record no longer decides
    view.record("b", "j1", "claimed", 2, "sb")
    assert view.ledger.arbitration("j1", 2, "b", "sb") is True
    view.record("b", "j1", "running", 2, "sb")
    assert view.ledger.state("j1").state == RUNNING


def test_a_dead_holder_with_on_death_report_loses_the_job(view: Feed) -> None:
    view.record("a", "j1", "running", 1, "sa", on_death="report")
    view.status("a", "sa", "offline")
    state = view.ledger.state("j1")
    assert state.state == LOST and "bench a went offline" in state.note
    assert view.ledger.claimable(set()) == []


def test_a_restarted_agent_is_a_new_session_so_the_old_one_is_dead(view: Feed) -> None:
    view.record("a", "j1", "running", 1, "sa")
    view.status("a", "sa-restarted")
    state = view.ledger.state("j1")
    assert (state.state, state.attempt) == (QUEUED, 2) and "restarted" in state.note


def test_a_bench_that_vanished_from_the_broker_is_dead(view: Feed) -> None:
    view.record("a", "j1", "running", 1, "sa")
    view.send(T.status("a"), None)
    assert view.ledger.state("j1").state == QUEUED


def test_a_winner_that_died_before_starting_requeues_whatever_the_policy(view: Feed) -> None:
    view.record("a", "j1", "claimed", 1, "sa", on_death="report")
    view.record("b", "j1", "claimed", 1, "sb")
    view.record("b", "j1", "yielded", 1, "sb")
    view.status("a", "sa", "offline")
    state = view.ledger.state("j1")
    assert (state.state, state.attempt) == (QUEUED, 2)


def test_a_late_observer_waits_while_any_retained_claimant_lives() -> None:
    late = Feed()
    late.send(T.job("j1"), spec("j1"), retained=True)
    late.status("a", "sa", retained=True)
    late.status("b", "sb", "offline", retained=True)
    late.record("a", "j1", "claimed", 1, "sa", retained=True)
    late.record("b", "j1", "claimed", 1, "sb", retained=True)
    state = late.ledger.state("j1")
    assert state.state == CLAIMING and sorted(state.candidates) == [("a", "sa"), ("b", "sb")]
    late.status("a", "sa", "offline")
    assert (late.ledger.state("j1").state, late.ledger.state("j1").attempt) == (QUEUED, 2)


def test_done_and_lost_end_the_job(view: Feed) -> None:
    view.record("a", "j1", "done", 1, "sa", exit_status=1, counts={"FAIL": 1})
    view.status("a", "sa", "offline")  # a bench going away after finishing changes nothing
    state = view.ledger.state("j1")
    assert state.state == DONE and state.holder is not None and state.holder.data["exit_status"] == 1
    view.send(T.job("j2"), spec("j2", 2.0), retained=True)
    view.record("b", "j2", "lost", 1, "sb", reason="the agent was stopped")
    assert view.ledger.state("j2").state == LOST and view.ledger.state("j2").note == "the agent was stopped"
    assert view.ledger.claimable(set()) == []


def test_requirements_are_matched_against_tags(view: Feed) -> None:
    view.send(T.job("j2"), spec("j2", 2.0, requires=["socket", "type2"]), retained=True)
    assert [s.job for s in view.ledger.claimable(set())] == ["j1"]
    assert [s.job for s in view.ledger.claimable({"type2", "socket", "ac"})] == ["j1", "j2"]
    assert view.ledger.benches_meeting(["type2"]) == []
    view.status("b", "sb", tags=["type2", "socket"])
    assert view.ledger.benches_meeting(["type2"]) == ["b"]


def test_oldest_job_first(view: Feed) -> None:
    view.send(T.job("j0"), spec("j0", 0.5), retained=True)
    assert [s.job for s in view.ledger.claimable(set())] == ["j0", "j1"]


def test_an_invalid_spec_is_shown_and_never_claimed(view: Feed) -> None:
    view.send(T.job("bad"), {"format": 1, "id": "bad", "submitted_at": 1.0, "retries": -1})
    state = view.ledger.state("bad")
    assert state.state == INVALID and "retries" in state.note
    view.send(T.job("other"), spec("not-other"))
    assert "does not match" in view.ledger.state("other").note
    assert [s.job for s in view.ledger.claimable(set())] == ["j1"]


def test_records_of_a_forgotten_job_are_orphans(view: Feed) -> None:
    view.record("a", "j1", "done", 1, "sa")
    assert view.ledger.orphan_records("a") == []
    view.send(T.job("j1"), None)
    assert view.ledger.orphan_records("a") == ["j1"]
    assert "j1" not in view.ledger.job_ids()


def test_messages_off_the_prefix_or_malformed_are_ignored(view: Feed) -> None:
    view.ledger.feed("other/jobs/x", b"{}", False)
    view.ledger.feed(T.job("x"), b"not json", False)
    view.send(T.record("a", "j1"), {"status": "running", "attempt": 0, "session": "sa"})
    view.send(T.status("c"), {"state": "sleeping", "session": "sc"})
    assert view.ledger.job_ids() == ["j1"] and view.ledger.state("j1").state == QUEUED
    assert "c" not in view.ledger.statuses


def test_a_watcher_cut_off_while_the_job_was_requeued_still_says_why(view: Feed) -> None:
    """The broker crashed: bench a restarted and claimed attempt 2 before the `submit --wait` watcher was back, so it
    never saw the queued state; it says it after the fact, with the reason, before the running one."""
    from types import SimpleNamespace

    from rich.console import Console

    from benchctl.fleet.jobs import JobSpec
    from benchctl.fleet.submit import Follower

    console = Console(record=True, width=200)
    follower = Follower(JobSpec("j1", 1.0, cases=["003"]), console)
    conn = SimpleNamespace(ledger=view.ledger)
    view.record("a", "j1", "running", 1, "sa")
    follower.show(view.ledger.state("j1"), conn)  # type: ignore[arg-type]
    view.status("a", "sa2")  # restarted: a new session
    assert view.ledger.state("j1").note == "requeued: bench a restarted during attempt 1"  # what the claimer saw
    view.record("a", "j1", "claimed", 2, "sa2", requeued="requeued: bench a restarted during attempt 1")
    view.record("a", "j1", "running", 2, "sa2", requeued="requeued: bench a restarted during attempt 1")
    follower.show(view.ledger.state("j1"), conn)  # type: ignore[arg-type]
    lines = console.export_text().splitlines()
    assert "job j1: queued, attempt 2 (requeued: bench a restarted during attempt 1)" in lines[1], lines
    assert "running on a (attempt 2)" in lines[2], lines
