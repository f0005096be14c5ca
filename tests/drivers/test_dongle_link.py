"""Link figures through the dongle drivers against the shaped loopback endpoint: 2G must look slower than 4G."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from drivers.dongle.e3372_at import E3372ATDongle
from drivers.dongle.hilink import HiLinkDongle
from drivers.dongle.link import LinkError, LinkFigures, measure
from drivers.dongle.settings import E3372AtSettings, HiLinkSettings
from drivers.errors import DriverError
from hil_sim.gear.cellular import DEFAULT_PROFILES, CellularLink, GenerationProfile, LinkShaping
from hil_sim.gear.e3372_at import SimE3372AT
from hil_sim.gear.hilink import SimHiLink
from hil_sim.gear.link_endpoint import LinkEndpoint
from hil_sim.world import World

BYTES = 4000  # 0.8 s at 2G's 5 kB/s: enough to time, small enough for a quick suite
PINGS = 2


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def cellular(world: World) -> CellularLink:
    return CellularLink.of(world)


@pytest.fixture
async def endpoint(cellular: CellularLink) -> AsyncIterator[LinkEndpoint]:
    server = LinkEndpoint(cellular)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def at_dongle(world: World, endpoint: LinkEndpoint) -> AsyncIterator[E3372ATDongle]:
    stick = SimE3372AT(world)
    await stick.start()
    drv = E3372ATDongle("modem", E3372AtSettings(port=stick.port_names, timeout_s=0.3, link_endpoint=endpoint.address))
    yield drv
    await drv.close()
    await stick.stop()


@pytest.fixture
async def hilink_dongle(world: World, endpoint: LinkEndpoint) -> AsyncIterator[HiLinkDongle]:
    stick = SimHiLink(world)
    await stick.start()
    drv = HiLinkDongle("modem", HiLinkSettings(host="127.0.0.1", port=stick.port, timeout_s=0.5, link_endpoint=endpoint.address))
    yield drv
    await drv.close()
    await stick.stop()


async def test_unshaped_endpoint() -> None:
    server = LinkEndpoint()
    await server.start()
    try:
        figures = await measure("127.0.0.1", server.port, bytes_=100_000, pings=3)
    finally:
        await server.stop()
    assert len(figures.rtt_ms) == 3 and figures.latency_max_ms < 100
    assert figures.download_bytes == 100_000 and figures.bandwidth_Bps > 1_000_000
    assert server.requests == ["PING p0", "PING p1", "PING p2", "GET 100000"]
    record = figures.as_dict()
    assert set(record) >= {"connect_ms", "latency_p50_ms", "latency_max_ms", "bandwidth_Bps", "rtt_ms"}


async def test_each_generation_gets_its_figures_through_the_at_driver(at_dongle: E3372ATDongle) -> None:
    figures: dict[str, LinkFigures] = {}
    for gen in ("2G", "3G", "4G"):
        await at_dongle.set_generation(gen)
        figures[gen] = await at_dongle.measure_link(bytes_=BYTES, pings=PINGS)
    g2, g3, g4 = figures["2G"], figures["3G"], figures["4G"]
    assert g2.latency_p50_ms > g3.latency_p50_ms > g4.latency_p50_ms
    assert g2.latency_max_ms > g3.latency_max_ms > g4.latency_max_ms
    assert g2.bandwidth_Bps < g3.bandwidth_Bps < g4.bandwidth_Bps
    # each its own profile's figures: timers only ever make the link look slower, so a profile's latency is a floor
    # and its bandwidth a ceiling of what is measured (a busy machine adds to the latency, takes from the bandwidth)
    for gen, got in figures.items():
        shaping = DEFAULT_PROFILES[gen].shaping
        assert shaping.latency_s * 1000 - 1 <= got.latency_p50_ms < shaping.latency_s * 1000 + 250
    assert g2.bandwidth_Bps <= 6_000  # 2G's 5 kB/s, and the margin of timing 4 kB
    assert g3.bandwidth_Bps > 6_000  # faster than 2G can be: 3G's shaping, not a slower one's
    # the step log holds the evidence
    steps = [s for s in at_dongle.steplog.steps if s.command == "measure_link"]
    assert [s.args for s in steps] == [{"bytes_": BYTES, "pings": PINGS}] * 3
    assert steps[0].result["latency_p50_ms"] >= 400


async def test_switching_through_hilink_changes_the_link(hilink_dongle: HiLinkDongle) -> None:
    await hilink_dongle.set_generation("4G")
    fast = await hilink_dongle.measure_link(bytes_=1000, pings=1)
    await hilink_dongle.set_generation("2G")
    slow = await hilink_dongle.measure_link(bytes_=1000, pings=1)
    assert slow.latency_p50_ms > fast.latency_p50_ms + 300
    assert slow.bandwidth_Bps < fast.bandwidth_Bps


async def test_both_simulators_share_the_world(world: World, at_dongle: E3372ATDongle,
                                               hilink_dongle: HiLinkDongle) -> None:
    await at_dongle.set_generation("3G")
    assert await hilink_dongle.get_generation() == "3G"
    await hilink_dongle.set_generation("2G")
    assert await at_dongle.get_generation() == "2G"
    assert (await at_dongle.signal()).generation == (await hilink_dongle.signal()).generation == "2G"


async def test_profiles_are_data(world: World) -> None:
    slow = GenerationProfile(LinkShaping(latency_s=0.2, bandwidth_Bps=2_000), DEFAULT_PROFILES["4G"].signal)
    link = CellularLink(profiles={**DEFAULT_PROFILES, "4G": slow}, generation="4G")
    server = LinkEndpoint(link)
    await server.start()
    try:
        figures = await measure("127.0.0.1", server.port, bytes_=400, pings=1)
    finally:
        await server.stop()
    # the 2 kB/s of the profile, not the 4G default's; the download is timed from its first chunk (64 of 400
    # bytes), so the figure may read up to a chunk's share high
    assert figures.latency_p50_ms >= 200 and figures.bandwidth_Bps < 2_000 * 400 / (400 - 64)


async def test_no_service_is_a_driver_error_naming_the_endpoint(at_dongle: E3372ATDongle,
                                                                endpoint: LinkEndpoint,
                                                                cellular: CellularLink) -> None:
    cellular.set_coverage("2G")
    await at_dongle.set_generation("4G")
    with pytest.raises(DriverError) as info:
        await at_dongle.measure_link(bytes_=100, pings=1)
    assert f"link measurement against {endpoint.address}" in info.value.message
    assert info.value.role == "modem" and info.value.backend == "AT"


async def test_measurement_timeout(at_dongle: E3372ATDongle) -> None:
    await at_dongle.set_generation("2G")
    with pytest.raises(DriverError, match="timed out after 0.3 s"):
        await at_dongle.measure_link(bytes_=100, pings=1, timeout_s=0.3)


async def test_endpoint_argument_and_validation(at_dongle: E3372ATDongle, endpoint: LinkEndpoint) -> None:
    figures = await at_dongle.measure_link("127.0.0.1", endpoint.port, bytes_=100, pings=1)
    assert figures.port == endpoint.port
    with pytest.raises(ValueError):
        await at_dongle.measure_link("127.0.0.1", None)
    with pytest.raises(ValueError):
        await at_dongle.measure_link(bytes_=0)
    bare = E3372ATDongle("modem", E3372AtSettings(port="/dev/null"))
    with pytest.raises(ValueError, match="no link endpoint"):
        await bare.measure_link()


async def test_bad_requests_are_refused(endpoint: LinkEndpoint) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", endpoint.port)
    writer.write(b"GET lots\n")
    await writer.drain()
    assert (await reader.readline()).startswith(b"ERR ")
    assert await reader.read() == b""
    writer.close()
    with pytest.raises(LinkError):
        await measure("127.0.0.1", 1, bytes_=10, pings=1, timeout_s=1)
