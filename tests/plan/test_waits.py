"""The mandated waits of a case (benchctl.plan.waits): real scenarios of the plan with the sim bench's values, and
one constructed scenario per rule."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from benchctl.bench.config import load_bench
from benchctl.plan.waits import mandated_wait_s, wait_breakdown
from benchctl.scenario.model import Scenario, load_scenario, load_scenarios

ROOT = Path(__file__).resolve().parents[2]
SIM = load_bench(ROOT / "bench_configs" / "sim.yaml")
BOOT_S = 0.3  # the sim bench's simulator.station.boot_delay_s

VALUES: dict[str, Any] = {
    "heartbeat_interval_s": 3, "boot_retry_interval_s": 2, "meter_value_interval_s": 5, "clock_aligned_interval_s": 3,
    "connection_timeout_s": 4, "reservation_expiry_s": 3, "power_off_s": 1.0, "transaction_duration_s": 3.0,
    "ev_ready_delay_s": 0.3, "operator_pause_s": 0.2, "timing_tolerance_s": 1.0, "connector_id": 1,
    "valid_id_tag": "04A1B2C3",
}


def real(case: str) -> Scenario:
    return load_scenario(ROOT / "scenarios" / f"{case}.yaml")


def rules(scenario: Scenario, values: dict[str, Any] = VALUES, **kw: Any) -> list[tuple[str, float]]:
    return [(w.rule, w.seconds) for w in wait_breakdown(scenario, values, **kw)]


def test_the_sim_bench_values_are_the_ones_these_tests_assume() -> None:
    for name, value in VALUES.items():
        assert SIM.values[name] == value, name
    assert SIM.simulator is not None and SIM.simulator.station.boot_delay_s == BOOT_S


def test_cold_boot_power_cycle_boot_retry_and_two_heartbeats() -> None:
    assert rules(real("TC_001_CS"), boot_s=BOOT_S) == [
        ("power_off", 1.0), ("boot", 0.3), ("boot_retry", 2.0), ("heartbeat", 3.0), ("heartbeat", 3.0)]
    assert mandated_wait_s(real("TC_001_CS"), VALUES, boot_s=BOOT_S) == pytest.approx(9.3)


def test_offline_transaction_waits_and_the_charging_state_s_plug_in() -> None:
    waits = wait_breakdown(real("TC_036_CS"), VALUES)
    assert [(w.rule, w.seconds) for w in waits] == [
        ("ev_ready", 0.3), ("operator_pause", 0.2), ("wait", 5.0), ("wait", 5.0), ("wait", 5.0), ("wait", 1.0)]
    assert waits[0].state == "Charging" and waits[0].where.endswith("states/Charging.yaml:26")
    assert waits[2].state == "" and waits[2].where.endswith("TC_036_CS.yaml:16")


def test_reservation_expiry() -> None:
    assert rules(real("TC_047_CS")) == [("reservation_expiry", 3.0), ("ev_ready", 0.3)]


def test_minimum_status_duration_holds_preparing_from_the_plug_in() -> None:
    """TC_023: Preparing comes 10 s after the cable went in; the EV's 0.3 s to state C run inside those 10 s."""
    assert rules(real("TC_023_CS")) == [
        ("ev_ready", 0.3), ("minimum_status_duration", 9.7), ("operator_pause", 0.2), ("absent", 3.0)]


def test_a_memory_state_counts_where_the_pics_says_the_station_has_it() -> None:
    """TC_037_1 fills the authorization cache "(if implemented)": a `when: {var: pics.*}` the values decide once the
    PICS answers are among them (the cache state plugs in, charges and unplugs: its pauses)."""
    without = rules(real("TC_037_1_CS"))
    assert without == [("ev_ready", 0.3), ("wait", 1.0)]
    cached = rules(real("TC_037_1_CS"), VALUES | {"pics.authorization_cache": True, "pics.local_auth_list": False})
    assert cached == [("ev_ready", 0.3)] + [("operator_pause", 0.2)] * 3 + without


def test_an_optional_reboot_is_not_mandated() -> None:
    """TC_044_3: the station may reboot after a failed installation; a station that does not is not slower."""
    assert ("boot", BOOT_S) not in rules(real("TC_044_3_CS"), boot_s=BOOT_S)
    assert ("boot", BOOT_S) in rules(real("TC_044_1_CS"), boot_s=BOOT_S)


def test_every_scenario_is_read_quickly_and_the_same_way_twice() -> None:
    import time

    scenarios = load_scenarios(ROOT / "scenarios")
    t0 = time.perf_counter()
    first = [mandated_wait_s(s, SIM.values, boot_s=BOOT_S) for s in scenarios]
    elapsed = time.perf_counter() - t0
    assert first == [mandated_wait_s(s, SIM.values, boot_s=BOOT_S) for s in scenarios]
    assert elapsed < 0.5, f"{len(scenarios)} scenarios took {elapsed:.3f} s"
    assert all(w >= 0 for w in first) and sum(first) > 100


# ---------------------------------------------------------------- one constructed scenario per rule
def scenario(tmp_path: Path, steps: str, head: str = "", states: dict[str, str] | None = None) -> Scenario:
    (tmp_path / "states").mkdir(exist_ok=True)
    for name, text in (states or {}).items():
        (tmp_path / "states" / f"{name}.yaml").write_text(textwrap.dedent(text))
    file = tmp_path / "TC_900_CS.yaml"
    file.write_text(f"id: TC_900_CS\ntitle: t\nsection: '9.9'\n{textwrap.dedent(head)}steps:\n"
                    + textwrap.indent(textwrap.dedent(steps), "  "))
    return load_scenario(file)


@pytest.mark.parametrize("steps, expected", [
    ("- wait: 2.5\n", [("wait", 2.5)]),
    ("- wait: '${meter_value_interval_s}'\n", [("wait", 5.0)]),
    ("- absent: StartTransaction\n  for_s: 2\n", [("absent", 2.0)]),
    ("- absent: StartTransaction\n  for_s: '${transaction_duration_s}'\n", [("transaction_duration", 3.0)]),
    ("- action: power_cycle\n", [("power_off", 1.0)]),
    ("- action: power_cycle\n  with: {off_s: 4}\n", [("power_off", 4.0)]),
    ("- action: plug_in\n", [("ev_ready", 0.3)]),
    ("- action: plug_in\n  with: {ready: false}\n", []),
    ("- expect: BootNotification\n", [("boot", 0.5)]),
    ("- expect: BootNotification\n  optional: true\n", []),
    ("- expect: Heartbeat\n", []),  # one the case triggers comes at once
    ("- expect: Authorize\n- action: present_id\n  with: {id_tag: x}\n", [("operator_pause", 0.2)]),
    ("- send: ClearCache\n- action: present_id\n  with: {id_tag: x}\n", []),  # no pause after a request
])
def test_each_rule(tmp_path: Path, steps: str, expected: list[tuple[str, float]]) -> None:
    assert rules(scenario(tmp_path, steps), boot_s=0.5) == expected


@pytest.mark.parametrize("name, rule", [
    ("heartbeat_interval_s", "heartbeat"), ("meter_value_interval_s", "meter_values"),
    ("clock_aligned_interval_s", "clock_aligned"), ("reservation_expiry_s", "reservation_expiry"),
    ("connection_timeout_s", "connection_timeout"), ("boot_retry_interval_s", "boot_retry"),
    ("timing_tolerance_s", "after"),
])
def test_an_interval_after_a_frame_is_named_after_its_value(tmp_path: Path, name: str, rule: str) -> None:
    s = scenario(tmp_path, f"""\
        - send: ClearCache
          step: 1
        - expect: StatusNotification
          step: 2
          after: {{step: 1, seconds: "${{{name}}}"}}
        """)
    assert rules(s) == [(rule, float(VALUES[name]))]


def test_an_interval_counts_only_what_the_waits_since_its_frame_do_not_cover(tmp_path: Path) -> None:
    s = scenario(tmp_path, """\
        - send: ClearCache
          step: 1
        - wait: 1.5
        - expect: Heartbeat
          step: 2
          after: {step: 1, seconds: 3}
        - absent: Authorize
          since_step: 1
          for_s: 2
        """)
    # an absent window is watched in full from when it runs: its since_step only lets earlier frames count
    assert rules(s) == [("wait", 1.5), ("after", 1.5), ("absent", 2.0)]


def test_an_interval_from_an_answer_step(tmp_path: Path) -> None:
    s = scenario(tmp_path, """\
        - expect: BootNotification
          step: 1
          answer: {status: Accepted}
          answer_step: 2
        - wait: 1
        - expect: Heartbeat
          step: 3
          after: {step: 2, seconds: 3}
        """)
    assert rules(s, boot_s=0.5) == [("boot", 0.5), ("wait", 1.0), ("after", 2.0)]


def test_an_any_order_group_costs_its_longest_member(tmp_path: Path) -> None:
    s = scenario(tmp_path, """\
        - send: ClearCache
          step: 1
        - any_order:
            - expect: Heartbeat
              step: 2
              after: {step: 1, seconds: 3}
            - expect: BootNotification
              step: 3
            - expect: MeterValues
              step: 4
              after: {step: 1, seconds: 2}
        - expect: StatusNotification
          after: {step: 4, seconds: 2}
        """)
    # the group: max(3, 0.5, 2) = 3; then 2 s from step 4's frame, which came 1 s before the group ended
    assert rules(s, boot_s=0.5) == [("after", 3.0), ("after", 1.0)]


def test_when_counts_only_what_the_values_decide(tmp_path: Path) -> None:
    s = scenario(tmp_path, """\
        - wait: 1
          when: {var: connector_id, equals: "1"}
        - wait: 2
          when: {var: connector_id, not_equals: "1"}
        - wait: 4
          when: {var: saved_on_the_way, equals: "x"}
        - wait: 8
          when: {order: [1, 2]}
        """)
    assert rules(s) == [("wait", 1.0)]


def test_a_state_with_its_parameters_once_or_for_every_other_connector(tmp_path: Path) -> None:
    states = {"Pause": """\
        state: Pause
        section: "2.25"
        params: {pause_s: 1, skip: "no"}
        steps:
          - wait: "${pause_s}"
          - wait: 10
            when: {var: skip, equals: "yes"}
        """}
    s = scenario(tmp_path, """\
        - state: Pause
        - state: Pause
          with: {pause_s: 2, skip: "yes"}
        - state: Pause
          each_other_connector: true
        """, states=states)
    assert rules(s) == [("wait", 1.0), ("wait", 2.0), ("wait", 10.0)]
    assert rules(s, connectors=3) == [("wait", 1.0), ("wait", 2.0), ("wait", 10.0), ("wait", 1.0), ("wait", 1.0)]


def test_minimum_status_duration_of_the_case_or_a_state(tmp_path: Path) -> None:
    states = {"Slow": """\
        state: Slow
        section: "2.25"
        configuration: {MinimumStatusDuration: 6}
        steps:
          - expect: StatusNotification
        """}
    steps = """\
        - action: plug_in
        - expect: StatusNotification
        - wait: 1
        - expect: StatusNotification
        - expect: StatusNotification
          optional: true
        """
    # held from the plug-in (its 0.3 s count), then from the previous status (the wait of 1 s counts)
    assert rules(scenario(tmp_path, steps, head="configuration: {MinimumStatusDuration: 4}\n")) == [
        ("ev_ready", 0.3), ("minimum_status_duration", 3.7), ("wait", 1.0), ("minimum_status_duration", 3.0)]
    assert rules(scenario(tmp_path, steps)) == [("ev_ready", 0.3), ("wait", 1.0)]
    assert rules(scenario(tmp_path, "- state: Slow\n", states=states)) == [("minimum_status_duration", 6.0)]


def test_a_value_the_bench_does_not_give_mandates_nothing(tmp_path: Path) -> None:
    s = scenario(tmp_path, "- wait: '${not_a_value}'\n- absent: Authorize\n  for_s: '${nor_this}'\n")
    assert rules(s) == []
