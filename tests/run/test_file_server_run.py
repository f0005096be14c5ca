"""The file server in a run: made for the first case that moves files (not before), kept for the rest of the run
with its transfers and uploads in the run directory, stopped at the end; a run that cannot offer a protocol the
station speaks makes the file case an ERROR, not a FAIL. The run's PKI is in the run directory too, and the
simulator trusts its manufacturer root."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from benchctl.bench.config import BenchConfig
from benchctl.paths import ROOT
from benchctl.record.case import ERROR, PASS
from benchctl.run.pipeline import Run
from benchctl.run.rundir import RunDir
from benchctl.run.standalone import Standalone
from benchctl.scenario.model import Scenario


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


async def test_the_file_server_lives_from_the_first_file_case_to_the_end_of_the_run(
        fast_sim_config: BenchConfig, scenarios: dict[str, Scenario], tmp_path: Path) -> None:
    fast_sim_config.pics = str(ROOT / "pics" / "sim.yaml")
    run = Run(fast_sim_config, RunDir.create(tmp_path, "sim"), Standalone(fast_sim_config), ["TC_062_CS", "TC_045_1_CS"])
    await run.start()
    try:
        assert (run.run_dir.path / "pki" / "manufacturer_root.pem").is_file()
        assert run.source.session is not None and run.source.session.sim is not None and run.source.pki is not None
        assert run.source.session.sim.station.transfers.manufacturer_roots() == [run.source.pki.manufacturer_root.cert_pem]
        assert (await run.case(scenarios["TC_062_CS"])).verdict == PASS
        assert run.source.files is None  # a case that moves no file starts no server
        result = await run.case(scenarios["TC_045_1_CS"])
        assert result.verdict == PASS, result.reason
        assert run.source.files is not None and run.source.files.values["file_transfer_protocol"] == "ftp"  # the PICS' first
        ports = [run.source.files.server.port(p) for p in ("http", "ftp")]
    finally:
        await run.close()
    files = run.run_dir.path / "files"
    (upload,) = [json.loads(line) for line in (files / "transfers.jsonl").read_text().splitlines()]
    assert upload["complete"] and (files / "upload" / "diagnostics" / upload["name"]).is_file()
    assert all(_refused(port) for port in ports)


async def test_no_protocol_in_common_makes_the_file_case_an_error_and_the_run_goes_on(
        fast_sim_config: BenchConfig, scenarios: dict[str, Scenario], tmp_path: Path) -> None:
    pics = (ROOT / "pics" / "sim.yaml").read_text()
    assert "file_transfer_protocols: [ftp, http]" in pics
    (tmp_path / "tls-only.yaml").write_text(pics.replace("file_transfer_protocols: [ftp, http]",
                                                         "file_transfer_protocols: [https]"))
    fast_sim_config.pics = str(tmp_path / "tls-only.yaml")
    run = Run(fast_sim_config, RunDir.create(tmp_path, "sim"), Standalone(fast_sim_config), ["TC_045_1_CS", "TC_062_CS"])
    await run.start()
    try:
        result = await run.case(scenarios["TC_045_1_CS"])
        assert result.verdict == ERROR and "no file transfer protocol in common" in result.reason
        assert (await run.case(scenarios["TC_062_CS"])).verdict == PASS
    finally:
        await run.close()
