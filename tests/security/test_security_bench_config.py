"""The bench's security settings (dut.csms): what the commissioned profile needs is checked on load, each problem
named with its file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchctl.bench.config import load_bench
from benchctl.config import ConfigError
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
