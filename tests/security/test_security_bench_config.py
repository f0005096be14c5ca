"""The bench's security settings (dut.csms): what the commissioned profile needs is checked on load, each problem
named with its file and line."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import pytest
import websockets

from benchctl.bench.config import load_bench
from benchctl.config import ConfigError
from benchctl.csms.capture import Capture
from benchctl.run.idle import wait_connected
from benchctl.run.session import open_bench

from support.bench_text import sim_bench_text

SHIPPED = """    security_profile: 0
    tls_port: 0
    authorization_key: 68696C5F73696D206C6162206B65792030303031"""


def bench(tmp_path: Path, block: str) -> Path:
    text = sim_bench_text()
    assert SHIPPED in text
    path = tmp_path / "bench.yaml"
    path.write_text(text.replace(SHIPPED, block))
    return path


def line_of(path: Path, marker: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), start=1) if marker in line)


def test_the_sim_bench_is_commissioned_on_plain_ws_with_tls_and_a_key_ready(tmp_path: Path) -> None:
    config = load_bench(bench(tmp_path, SHIPPED))
    assert (config.security_profile, config.tls_port) == (0, 0)
    assert bytes.fromhex(config.authorization_key) == b"hil_sim lab key 0001"
    assert config.values["charge_point_serial_number"] == config.charge_point_id  # empty: the charge point id
    assert (config.values["basic_auth_security_profile"], config.values["tls_security_profile"]) == (1, 2)


@pytest.mark.parametrize(("block", "marker", "fragments"), [
    ("    security_profile: 1\n    tls_port: 0", "security_profile: 1", ["HTTP Basic", "authorization_key"]),
    ("    security_profile: 2\n    authorization_key: '" + "41" * 20 + "'", "security_profile: 2", ["TLS", "tls_port"]),
    ("    security_profile: 4", "security_profile: 4", ["security_profile"]),
    ("    authorization_key: '0123'", "authorization_key: '0123'", ["16 to 20 bytes"]),
    ("    authorization_key: 0123", "authorization_key: 0123", ["expected a string"]),  # YAML made it a number
    ("    authorization_key: not-hex-at-all-not-hex-at-all-xx", "authorization_key: not", ["hexadecimal"]),
    ("    tls_port: 9000\n    port_placeholder: 1", "port_placeholder", ["unknown key"]),
])
def test_a_bad_security_setting_names_its_line(tmp_path: Path, block: str, marker: str,
                                               fragments: list[str]) -> None:
    path = bench(tmp_path, block)
    with pytest.raises(ConfigError) as info:
        load_bench(path)
    assert info.value.file == str(path)
    assert info.value.line == line_of(path, marker)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_the_tls_listener_needs_a_port_of_its_own(tmp_path: Path) -> None:
    path = bench(tmp_path, "    tls_port: 9000")
    path.write_text(path.read_text().replace("port: 0          #", "port: 9000          #"))
    with pytest.raises(ConfigError) as info:
        load_bench(path)
    assert info.value.line == line_of(path, "tls_port: 9000") and "port of its own" in str(info.value)


OWN_KEY = "42" * 20


@pytest.mark.parametrize(("block", "marker", "fragments"), [
    (SHIPPED + "\n    authorization_keys:\n      CP-9: '0123'", "CP-9: '0123'", ["16 to 20 bytes"]),
    (SHIPPED + f"\n    authorization_keys:\n      CP/9: '{OWN_KEY}'", "CP/9", ["'/'"]),
    (SHIPPED + f"\n    authorization_keys:\n      {'C' * 49}: '{OWN_KEY}'", "C" * 49, ["at most 48"]),
    (SHIPPED + "\n    max_frame_bytes: 1000", "max_frame_bytes", ["below the minimum"]),
])
def test_a_bad_key_of_a_charge_point_or_frame_limit_names_its_line(tmp_path: Path, block: str, marker: str,
                                                                   fragments: list[str]) -> None:
    path = bench(tmp_path, block)
    with pytest.raises(ConfigError) as info:
        load_bench(path)
    assert info.value.line == line_of(path, marker)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_a_dut_id_the_central_system_would_refuse_is_refused_on_load(tmp_path: Path) -> None:
    path = bench(tmp_path, SHIPPED)
    path.write_text(path.read_text().replace("charge_point_id: SIM-CP-1", "charge_point_id: SIM/../CP"))
    with pytest.raises(ConfigError) as info:
        load_bench(path)
    assert info.value.line == line_of(path, "charge_point_id: SIM/../CP") and "'/'" in str(info.value)


async def test_keys_per_charge_point_and_the_frame_limit_reach_the_central_system(tmp_path: Path) -> None:
    config = load_bench(bench(tmp_path, SHIPPED.replace("security_profile: 0", "security_profile: 1") +
                              f"\n    authorization_keys:\n      SIM-CP-1: '{OWN_KEY.lower()}'\n"
                              f"      OTHER-CP: '{'43' * 16}'\n    max_frame_bytes: 100000"))
    assert config.authorization_key == OWN_KEY  # the dut's own entry is its key (the simulator is commissioned so)
    assert config.authorization_keys == {"SIM-CP-1": OWN_KEY, "OTHER-CP": "43" * 16}
    async with open_bench(config, Capture(None), connect=False) as session:
        assert await wait_connected(session.link, 10)  # the simulated station, with its own key
        url = f"{session.csms.url}/OTHER-CP"
        auth = {"Authorization": "Basic " + base64.b64encode(b"OTHER-CP:" + bytes.fromhex("43" * 16)).decode()}
        async with websockets.connect(url, subprotocols=["ocpp1.6"], additional_headers=auth,
                                      compression=None) as ws:
            await ws.send(json.dumps([2, "d1", "DataTransfer", {"vendorId": "v", "data": "x" * 150_000}]))
            await asyncio.wait_for(ws.wait_closed(), 5)
        assert ws.protocol.close_rcvd is not None and ws.protocol.close_rcvd.code == 1009
