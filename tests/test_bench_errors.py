"""A bench that cannot be brought up: the command says which role, backend and address, and exits 3."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from benchctl.cli import main

from support.bench_text import sim_bench_text


def _bench(tmp_path: Path, roles: str) -> Path:
    text = sim_bench_text()
    text = text[:text.index("roles:")] + "roles:\n" + roles
    path = tmp_path / "bench.yaml"
    path.write_text(text)
    return path


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_run_on_a_bench_whose_ev_emulator_does_not_answer(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    port = _closed_port()
    path = _bench(tmp_path, f"  ev:\n    driver: modbus_ev\n    host: 127.0.0.1\n    port: {port}\n"
                            f"    timeout_s: 0.2\n    retries: 1\n")
    assert main(["run", "--bench", str(path), "--runs", str(tmp_path / "runs"), "003"]) == 3
    out = capsys.readouterr().out
    assert "bench error" in out and "ev: Modbus" in out and f"127.0.0.1:{port}" in out


def test_gpio_off_a_raspberry_pi_names_the_extra(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = _bench(tmp_path, "  ev:\n    driver: modbus_ev\n    host: ${sim.modbus.host}\n"
                            "    port: ${sim.modbus.port}\n  mains:\n    driver: gpio_relay\n    pin: 20\n")
    try:
        import RPi.GPIO  # noqa: F401
    except (ImportError, RuntimeError):
        pass
    else:
        pytest.fail("RPi.GPIO is importable on this machine; this test needs a machine that is not a Pi")
    assert main(["run", "--bench", str(path), "--runs", str(tmp_path / "runs"), "003"]) == 3
    out = capsys.readouterr().out
    assert "benchctl[gpio]" in out


def test_check_reports_the_missing_library_as_a_failed_row(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "300")
    path = _bench(tmp_path, "  ev:\n    driver: modbus_ev\n    host: ${sim.modbus.host}\n"
                            "    port: ${sim.modbus.port}\n  mains:\n    driver: gpio_relay\n    pin: 20\n")
    assert main(["check", "--bench", str(path), "--timeout", "3"]) == 1
    out = capsys.readouterr().out
    assert "mains" in out and "FAIL" in out and "benchctl[gpio]" in out
