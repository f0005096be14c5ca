"""The fleet for real: `benchctl agent` processes on simulated benches, a real mosquitto, `benchctl submit` and
`benchctl fleet` as a user runs them. Jobs are one or two fast cases, except where an agent must be killed
during a run (TC_001_CS, about 9 s)."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

from benchctl.fleet.ledger import DONE, LOST, QUEUED, RUNNING, Ledger
from benchctl.paths import SCENARIOS
from benchctl.run.lock import BenchLock
from benchctl.run.rundir import read_results

from support.fleet import Fleet, Watcher

KILL_CASE = "001"  # long enough (a reboot) to kill its agent in the middle of it


def job_id(out: subprocess.CompletedProcess[str] | str) -> str:
    text = out if isinstance(out, str) else out.stdout
    found = re.search(r"queued job (\S+):", text)
    assert found, text
    return found.group(1)


def run_meta(run_dir: Path) -> dict:
    return json.loads((run_dir / "run.json").read_text())


def running_case(ledger: Ledger, job: str, case: str) -> str | None:
    """The bench running `job`, once it is inside `case` (not merely starting the bench)."""
    state = ledger.state(job)
    if state.state != RUNNING or state.holder is None:
        return None
    progress = ledger.progress.get(state.holder.bench) or {}
    if progress.get("job") == job and progress.get("case") == case:
        return state.holder.bench
    return None


def wait_for_case(fleet: Fleet, agent_name: str, case: str = "TC_001_CS") -> None:
    deadline = time.monotonic() + 60
    while f"] {case} " not in fleet.agents[agent_name].output():
        assert time.monotonic() < deadline, fleet.logs()
        time.sleep(0.1)


async def test_two_agents_share_one_queue_and_run_each_job_once(fleet: Fleet, watcher: Watcher) -> None:
    agents = [fleet.start_agent("sim-a"), fleet.start_agent("sim-b")]
    jobs = []
    for _ in range(4):
        out = fleet.submit("--cases", "003")
        assert out.returncode == 0, out.stdout + out.stderr
        jobs.append(job_id(out))
    await watcher.until(lambda led: all(led.state(j).state == DONE for j in jobs), 120, "every job done", fleet.logs)

    ran: dict[str, list[tuple[str, Path]]] = {}
    for agent in agents:
        for run_dir in agent.run_dirs():
            ran.setdefault(run_meta(run_dir)["fleet"]["job"], []).append((agent.name, run_dir))
    assert sorted(ran) == sorted(jobs), fleet.logs()
    assert all(len(runs) == 1 for runs in ran.values()), ran  # no job ran twice
    for job in jobs:
        (bench, run_dir), = ran[job]
        holder = watcher.ledger.state(job).holder
        assert holder is not None and holder.bench == bench and holder.data["run_dir"] == str(run_dir.resolve())
        assert [r["id"] for r in read_results(run_dir)] == ["TC_003_CS"]
        # the bench that did not run it yielded (or never claimed): nothing else
        others = [r for r in watcher.ledger.job_records(job) if r.bench != bench]
        assert all(r.status == "yielded" for r in others), others
    assert {bench for runs in ran.values() for bench, _ in runs} == {"sim-a", "sim-b"}, "one bench did it all"
    for agent in agents:  # one job at a time per bench
        spans = sorted((m["started"], m["finished"]) for m in map(run_meta, agent.run_dirs()))
        assert all(end <= next_start for (_, end), (next_start, _) in zip(spans, spans[1:])), spans


async def test_a_killed_agent_goes_offline_and_the_other_finishes_its_job(fleet: Fleet, watcher: Watcher) -> None:
    fleet.start_agent("sim-a")
    fleet.start_agent("sim-b")
    waiting = fleet.submit_in_background("--cases", KILL_CASE, "--wait")
    job = await watcher.until(lambda led: next(iter(led.specs), None), 20, "the job on the queue", fleet.logs)
    victim_name = await watcher.until(lambda led: running_case(led, job, "TC_001_CS"), 60, "the case running",
                                      fleet.logs)
    victim = fleet.agents[victim_name]
    survivor = next(a for a in fleet.agents.values() if a is not victim)
    victim.process.send_signal(signal.SIGKILL)
    victim.process.wait(timeout=10)

    status = await watcher.until(lambda led: led.statuses[victim_name].state == "offline" and led.statuses[victim_name],
                                 20, "the last will", fleet.logs)
    assert "last will" in status.data["reason"]
    await watcher.until(lambda led: led.state(job).state == DONE, 90, "the job done by the survivor", fleet.logs)
    final = watcher.ledger.state(job)
    assert final.holder is not None and final.holder.bench == survivor.name and final.attempt == 2

    out, _ = waiting.communicate(timeout=30)
    assert waiting.returncode == final.holder.data["exit_status"], out
    assert f"queued, attempt 2 (requeued: bench {victim_name} went offline" in out
    assert f"running on {survivor.name} (attempt 2)" in out
    # the killed run stopped inside the case; the survivor's run holds the one result
    (killed_run,) = victim.run_dirs()
    assert read_results(killed_run) == []
    (finished_run,) = survivor.run_dirs()
    assert [r["id"] for r in read_results(finished_run)] == ["TC_001_CS"]
    assert run_meta(finished_run)["fleet"]["attempt"] == 2

    listing = fleet.fleet_json()
    bench = next(b for b in listing["benches"] if b["name"] == victim_name)
    assert bench["status"] == "offline"


async def test_with_on_death_report_the_job_of_a_killed_agent_is_lost(fleet: Fleet, watcher: Watcher) -> None:
    agent = fleet.start_agent("sim-a", "--on-death", "report")
    waiting = fleet.submit_in_background("--cases", KILL_CASE, "--wait")
    job = await watcher.until(lambda led: next(iter(led.specs), None), 20, "the job on the queue", fleet.logs)
    await watcher.until(lambda led: running_case(led, job, "TC_001_CS"), 60, "the case running", fleet.logs)
    agent.process.send_signal(signal.SIGKILL)
    agent.process.wait(timeout=10)

    out, _ = waiting.communicate(timeout=30)
    assert waiting.returncode == 5, out
    assert f"job {job} lost: bench sim-a went offline" in out and "partial run directory" in out
    await watcher.until(lambda led: led.state(job).state == LOST, 10, "the job lost for the watcher too", fleet.logs)

    # back under the same name, the bench says so itself and does not run the job again
    old_session = watcher.ledger.statuses["sim-a"].session
    fleet.start_agent("sim-a", "--on-death", "report")
    record = await watcher.until(
        lambda led: (r := led.records.get(("sim-a", job))) and r.status == LOST and r.session != old_session and r,
        20, "the restarted agent's lost record", fleet.logs)
    assert "went offline" in record.data["reason"]
    assert watcher.ledger.state(job).state == LOST
    assert len(agent.run_dirs()) == 1


def test_submit_wait_exits_with_the_runs_status(fleet: Fleet) -> None:
    fleet.start_agent("sim-a", message_timeout_s=4)
    failing = fleet.submit("--cases", "003", "--sim-fault", "skip_preparing", "--wait")
    assert failing.returncode == 1, failing.stdout + fleet.logs()
    assert re.search(r"TC_003_CS\s+│ FAIL\s+│ 1 ", failing.stdout), failing.stdout
    assert "0 passed, 1 not passed, of 1" in failing.stdout

    passing = fleet.submit("--cases", "003", "--wait")
    run_dir = Path(re.search(r"run directory: (\S+)", passing.stdout).group(1))
    results = read_results(run_dir)
    assert [r["id"] for r in results] == ["TC_003_CS"]
    assert passing.returncode == (0 if results[0]["verdict"] == "PASS" else 1), passing.stdout
    assert run_meta(run_dir)["simulator"]["faults"] == []  # the fault was the other job's alone


async def test_a_job_no_bench_meets_stays_queued_and_fleet_shows_it(fleet: Fleet, watcher: Watcher) -> None:
    agent = fleet.start_agent("sim-a", "--tags", "type2,socket")
    stuck = fleet.submit("--cases", "003", "--require", "ccs2")
    assert stuck.returncode == 0 and "no bench with ccs2 is online" in stuck.stdout
    stuck_id = job_id(stuck)
    taken = fleet.submit("--cases", "003", "--require", "type2", "--wait")
    assert taken.returncode in (0, 1), taken.stdout + fleet.logs()
    taken_id = job_id(taken)

    # the bench was idle with the ccs2 job queued all along, and left it alone
    assert watcher.ledger.state(stuck_id).state == QUEUED
    assert watcher.ledger.job_records(stuck_id) == []
    assert len(agent.run_dirs()) == 1
    table = fleet.benchctl("fleet", "--broker", fleet.url)
    assert table.returncode == 0, table.stdout + table.stderr
    stuck_row = next(line for line in table.stdout.splitlines() if stuck_id in line)
    assert "ccs2" in stuck_row and "queued; no online bench has ccs2" in stuck_row
    taken_row = next(line for line in table.stdout.splitlines() if taken_id in line)
    assert "done on sim-a" in taken_row
    bench_row = next(line for line in table.stdout.splitlines() if line.startswith("│ sim-a"))
    assert "socket, type2" in bench_row and "idle" in bench_row and "ago" in bench_row


def test_an_agent_refuses_a_bench_name_already_online(fleet: Fleet) -> None:
    fleet.start_agent("sim-a")
    twin = fleet.start_agent("sim-a", wait=False)
    assert twin.process.wait(timeout=30) == 4
    assert "bench name 'sim-a' is already online" in twin.output()


def test_a_stopped_agent_ends_its_run_cleanly_and_says_what_became_of_the_job(fleet: Fleet) -> None:
    agent = fleet.start_agent("sim-a", "--on-death", "report")
    waiting = fleet.submit_in_background("--cases", KILL_CASE, "--wait")
    wait_for_case(fleet, "sim-a")
    assert agent.stop() == 0, agent.output()  # SIGTERM
    out, _ = waiting.communicate(timeout=30)
    assert waiting.returncode == 5 and "the agent was stopped" in out, out
    (run_dir,) = agent.run_dirs()
    assert (run_dir / "report.json").is_file(), "the cut-off run has its reports"
    bench = next(b for b in fleet.fleet_json()["benches"] if b["name"] == "sim-a")
    assert (bench["status"], bench["reason"]) == ("offline", "stopped")


def test_a_broker_crash_does_not_stop_the_run(persistent_fleet: Fleet) -> None:
    fleet = persistent_fleet
    agent = fleet.start_agent("sim-a")
    waiting = fleet.submit_in_background("--cases", KILL_CASE, "--wait")
    wait_for_case(fleet, "sim-a")
    fleet.wait_for_autosave()  # the broker's disk holds the running record
    fleet.restart_broker(crash=True)  # SIGKILL: no will is published, the agent's session lives on
    out, _ = waiting.communicate(timeout=60)
    (run_dir,) = agent.run_dirs()
    results = read_results(run_dir)
    assert [r["id"] for r in results] == ["TC_001_CS"], out + fleet.logs()
    assert waiting.returncode == (0 if results[0]["verdict"] == "PASS" else 1), out
    assert "reconnecting" in agent.output() and "stopped" not in agent.output()
    (job,) = fleet.fleet_json()["jobs"]
    assert (job["state"], job["bench"], job["attempt"]) == ("done", "sim-a", 1)


def test_a_broker_restart_counts_as_a_death_and_the_job_is_requeued(persistent_fleet: Fleet) -> None:
    # mosquitto publishes every client's will when it shuts down: the fleet takes the agent for dead
    fleet = persistent_fleet
    agent = fleet.start_agent("sim-a")
    waiting = fleet.submit_in_background("--cases", KILL_CASE, "--wait")
    wait_for_case(fleet, "sim-a")
    fleet.restart_broker(crash=False)
    out, _ = waiting.communicate(timeout=90)
    assert "queued, attempt 2 (requeued: bench sim-a went offline" in out, out + fleet.logs()
    cut_off, finished = agent.run_dirs()
    assert read_results(cut_off) == [] and run_meta(cut_off)["fleet"]["attempt"] == 1
    results = read_results(finished)
    assert [r["id"] for r in results] == ["TC_001_CS"] and run_meta(finished)["fleet"]["attempt"] == 2
    assert waiting.returncode == (0 if results[0]["verdict"] == "PASS" else 1), out
    (job,) = fleet.fleet_json()["jobs"]
    assert (job["state"], job["attempt"]) == ("done", 2)


async def test_a_bench_held_by_another_run_takes_no_job_until_it_is_free(fleet: Fleet, watcher: Watcher) -> None:
    agent = fleet.start_agent("sim-a")
    manual = BenchLock("sim-a", purpose="benchctl run by hand", lock_dir=fleet.tmp / "locks-sim-a")
    manual.acquire()
    try:
        job = job_id(fleet.submit("--cases", "003"))
        status = await watcher.until(
            lambda led: (s := led.statuses.get("sim-a")) is not None and "in use by" in str(s.data.get("note")) and s,
            20, "the agent noticing the lock", fleet.logs)
        assert "benchctl run by hand" in status.data["note"]
        assert watcher.ledger.state(job).state == QUEUED and watcher.ledger.job_records(job) == []
    finally:
        manual.release()
    await watcher.until(lambda led: led.state(job).state == DONE, 30, "the job run once the bench is free", fleet.logs)
    assert len(agent.run_dirs()) == 1


def test_an_agent_cut_off_longer_than_its_keepalive_gives_its_run_up(persistent_fleet: Fleet) -> None:
    fleet = persistent_fleet
    config = fleet.tmp / "fleet.yaml"
    config.write_text("broker:\n  keepalive_s: 2\n")
    agent = fleet.start_agent("sim-a", "--fleet-config", str(config))
    waiting = fleet.submit_in_background("--cases", KILL_CASE, "--wait")
    wait_for_case(fleet, "sim-a")
    time.sleep(1.5)  # past the broker's next autosave
    fleet.restart_broker(crash=True, down_s=4)  # a crash publishes no will: only the lease can tell the agent
    out, _ = waiting.communicate(timeout=90)
    assert "out of touch with the broker for more than 2 s" in agent.output(), agent.output()
    assert "queued, attempt 2 (requeued: bench sim-a restarted during attempt 1)" in out, out
    cut_off, finished = agent.run_dirs()
    assert read_results(cut_off) == [] and run_meta(finished)["fleet"]["attempt"] == 2
    results = read_results(finished)
    assert waiting.returncode == (0 if [r["verdict"] for r in results] == ["PASS"] else 1), out


def test_a_job_the_bench_cannot_run_as_asked_ends_with_exit_2_and_why(fleet: Fleet) -> None:
    # this bench's scenario folder has TC_010_CS only: a job for TC_003_CS (valid where it was submitted) fails
    scenarios = fleet.tmp / "bench-scenarios"
    scenarios.mkdir()
    shutil.copyfile(SCENARIOS / "TC_010_CS.yaml", scenarios / "TC_010_CS.yaml")
    shutil.copytree(SCENARIOS / "states", scenarios / "states")
    agent = fleet.start_agent("sim-a", "--scenarios", str(scenarios))
    out = fleet.submit("--cases", "003", "--wait")
    assert out.returncode == 2, out.stdout + fleet.logs()
    assert f"unknown case '003' (003) in {scenarios}" in out.stdout
    assert agent.run_dirs() == []
    (job,) = fleet.fleet_json()["jobs"]
    assert (job["state"], job["exit_status"]) == ("done", 2)
    assert "waiting for jobs" in agent.output().rsplit("done, exit 2", 1)[1]  # and the agent carries on
