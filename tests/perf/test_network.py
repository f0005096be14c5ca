"""Link checks (8.2.2) through the simulated E3372h against the shaped link endpoint: per generation, judged
against the limits, and the dongle put back afterwards."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from benchctl.cli import main
from benchctl.paths import ROOT
from benchctl.perf.a4 import a4
from benchctl.perf.network import (
    MET,
    MISSED,
    SETUP_IMPROVE,
    SETUP_INCOMPLETE,
    SETUP_OK,
    UNMEASURED,
    check_technology,
    measure_links,
)
from drivers.dongle.e3372_at import E3372ATDongle
from drivers.dongle.settings import E3372AtSettings
from hil_sim.gear.cellular import DEFAULT_PROFILES, CellSignal, CellularLink, LinkShaping
from hil_sim.gear.e3372_at import SimE3372AT
from hil_sim.gear.link_endpoint import LinkEndpoint
from hil_sim.world import World

BYTES, PINGS = 3000, 2  # 0.6 s at the sim's 2G: enough to time, quick enough for the suite
LIMITS = a4().link_limits


@pytest.fixture
def cellular() -> CellularLink:
    return CellularLink.of(World())


@pytest.fixture
async def dongle(cellular: CellularLink) -> AsyncIterator[E3372ATDongle]:
    endpoint = LinkEndpoint(cellular)
    await endpoint.start()
    stick = SimE3372AT(World(), cellular=cellular)
    await stick.start()
    driver = E3372ATDongle("modem", E3372AtSettings(port=stick.port_names, timeout_s=0.5, link_endpoint=endpoint.address))
    await driver.connect()
    yield driver
    await driver.close()
    await stick.stop()
    await endpoint.stop()


def judged(check: object) -> dict[str, str]:
    return {j.parameter: j.result for j in check.judgments}  # type: ignore[attr-defined]


async def test_each_generation_is_measured_judged_and_the_dongle_set_back(dongle: E3372ATDongle,
                                                                         cellular: CellularLink) -> None:
    cellular.set_generation("3G")  # what the lab left it on
    report = await measure_links(dongle, "mobile", bytes_=BYTES, pings=PINGS)
    assert [(c.name, c.setting, c.serving) for c in report.checks] == [("2G", "2G", "2G"), ("3G", "3G", "3G"),
                                                                      ("4G", "4G", "4G")]
    g2, g3, g4 = report.checks
    for check in (g3, g4):
        assert judged(check) == {"bandwidth": MET, "latency": MET, "rssi": MET}
    # the shaping hil_sim gives each generation is what is measured
    for check in report.checks:
        shaping = DEFAULT_PROFILES[check.name].shaping
        assert shaping.latency_s * 1000 <= check.latency_ms < shaping.latency_s * 1000 + 200
        assert check.signal["rssi_dbm"] == DEFAULT_PROFILES[check.name].signal.rssi_dbm
    # hil_sim's 2G is shaped to exactly the 5 kB/s limit, and timers only make a link slower: whatever was
    # measured, the verdict follows the figure
    assert 4.0 < g2.bandwidth_kB_s <= 5.2
    expected = MET if g2.bandwidth_kB_s >= LIMITS.bandwidth_kB_s_min else MISSED
    assert judged(g2) == {"bandwidth": expected, "latency": MET, "rssi": MET}
    assert report.setup == (SETUP_OK if expected == MET else SETUP_IMPROVE)
    # the technology under test is the dongle as it was found
    assert (report.technology.setting, report.technology.serving) == ("3G", "3G")
    assert report.restored_to == "3G" and cellular.generation == "3G"
    record = json.loads(json.dumps(report.as_record()))
    assert [g["name"] for g in record["generations"]] == ["2G", "3G", "4G"] and record["setup"] == report.setup


async def test_a_poor_2g_cell_says_improve_the_setup_first(dongle: E3372ATDongle, cellular: CellularLink) -> None:
    cellular.set_shaping("2G", LinkShaping(latency_s=0.05, bandwidth_Bps=2_000))
    cellular.set_signal("2G", CellSignal(rssi_dbm=-95))
    report = await measure_links(dongle, None, bytes_=1000, pings=1)
    g2 = report.checks[0]
    assert judged(g2) == {"bandwidth": MISSED, "latency": MET, "rssi": MISSED}
    assert 1.5 < g2.bandwidth_kB_s < 2.1 and g2.signal["csq"] == 9
    assert report.setup == SETUP_IMPROVE
    assert report.advice.startswith("improve the setup first: 2G bandwidth ")
    assert "2G rssi -95 dBm (limit >= -81 dBm (CSQ 16))" in report.advice
    assert report.technology is None and "technology under test is not known" in report.notes[0]
    assert report.restored_to == "auto" and cellular.generation == "auto"


async def test_latency_over_the_limit_is_missed(dongle: E3372ATDongle) -> None:
    strict = dataclasses.replace(LIMITS, latency_ms_max=100.0, generations=("3G", "4G"))
    report = await measure_links(dongle, None, limits=strict, bytes_=1000, pings=1)
    assert [judged(c)["latency"] for c in report.checks] == [MISSED, MET]  # 3G's 150 ms, 4G's 40 ms
    assert "3G latency" in report.advice and "4G" not in report.advice


async def test_no_coverage_is_not_measured_and_the_dongle_still_goes_back(dongle: E3372ATDongle,
                                                                          cellular: CellularLink) -> None:
    cellular.set_coverage("2G", "4G")
    cellular.set_generation("4G")
    limits = dataclasses.replace(LIMITS, generations=("3G",))
    report = await measure_links(dongle, None, limits=limits, bytes_=1000, pings=1, attach_timeout_s=0.3)
    g3, = report.checks
    assert g3.figures is None and "does not serve 3G after 0.3 s (serving: no service)" in g3.error
    assert set(judged(g3).values()) == {UNMEASURED}
    assert report.setup == SETUP_INCOMPLETE and "not measured 3G bandwidth" in report.advice
    assert report.restored_to == "4G" and cellular.generation == "4G"


async def test_ethernet_and_wifi_are_measured_against_an_endpoint_on_the_charger_network() -> None:
    endpoint = LinkEndpoint()
    await endpoint.start()
    try:
        ethernet = await check_technology("ethernet", LIMITS, endpoint=endpoint.address, bytes_=1000, pings=1)
        wifi = await check_technology("wifi", LIMITS, endpoint=endpoint.address, bytes_=1000, pings=1)
    finally:
        await endpoint.stop()
    assert judged(ethernet) == {"bandwidth": MET, "latency": MET}  # RSSI does not apply to a cable
    assert judged(wifi) == {"bandwidth": MET, "latency": MET, "rssi": UNMEASURED}
    assert "no Wi-Fi signal reader" in wifi.judgments[-1].reason
    nowhere = await check_technology("ethernet", LIMITS, bytes_=1000, pings=1)
    assert nowhere.figures is None and "--link-endpoint" in (nowhere.error or "")
    assert set(judged(nowhere).values()) == {UNMEASURED}
    no_modem = await check_technology("mobile", LIMITS)
    assert "no modem role" in (no_modem.error or "")


def test_benchctl_perf_link_on_the_sim_bench(tmp_path: Path) -> None:
    rc = main(["perf", "--link", "--pics", str(ROOT / "pics" / "sim.yaml"), "--out", str(tmp_path),
               "--link-bytes", "1500", "--link-pings", "1"])
    perf = json.loads((tmp_path / "perf.json").read_text())
    link = perf["link"]
    assert [g["name"] for g in link["generations"]] == ["2G", "3G", "4G"]
    assert all(g["serving"] == g["setting"] and g["figures"] for g in link["generations"])
    # pics/sim.yaml: ethernet, which on the sim bench is the loopback the simulated charger dials over
    tech = link["technology"]
    assert tech["technology"] == "ethernet" and tech["result"] == MET and "loopback" in tech["note"]
    assert link["restored_to"] == "auto"
    assert rc == (0 if link["setup"] == SETUP_OK else 1)
    html = (tmp_path / "perf.html").read_text()
    assert "Connection (8.2.2, 8.2.3)" in html and link["advice"] in html.replace("&gt;", ">")
