"""Language features added for the security cases (2.24): the `connection` step (a charger's WebSocket connection
attempt as the Central System saw it), the `tool` step (what the tool computes, e.g. a certificate it signs), the
matchers `between`, `any_of` and `not` over another matcher, and `${...}` in `when:` values and `save:` paths."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
import websockets

from benchctl.bench.bench import Bench
from benchctl.bench.config import BenchConfig
from benchctl.config import ConfigError
from benchctl.csms.capture import Capture
from benchctl.csms.security import CsmsSecurity
from benchctl.csms.server import CentralSystem
from benchctl.record.case import CaseResult
from benchctl.scenario.engine import CaseRunner
from benchctl.scenario.model import load_scenario
from benchctl.scenario.values import satisfies
from benchctl.security.pki import LabPki, fingerprint_ids, load_cert, make_csr, new_key
from drivers.steplog import StepLog

KEY = b"0123456789abcdefghij".hex().upper()
HEADER = """\
id: TC_901_CS
title: language
section: '9.9'
steps:
"""


def scenario_file(tmp_path: Path, steps: str) -> Path:
    path = tmp_path / "TC_901_CS.yaml"
    path.write_text(HEADER + steps)
    return path


async def run(tmp_path: Path, config: BenchConfig, steps: str, charger: Any) -> tuple[CaseResult, CaseRunner]:
    """Run the steps against `charger(url)`, a coroutine playing the charger's side."""
    scenario = load_scenario(scenario_file(tmp_path, steps))
    security = CsmsSecurity(1, KEY, LabPki.create(tmp_path / "pki"), tls_port=None)
    csms = CentralSystem(Capture(None), config.values, security=security)
    await csms.start()
    try:
        case = CaseRunner(scenario, Bench(config, {}, StepLog()), csms.link("CP-9"))
        runner = asyncio.create_task(case.run())
        await charger(f"{csms.url}/CP-9")
        return await asyncio.wait_for(runner, 10), case
    finally:
        await csms.stop()


def basic(password: bytes) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(b"CP-9:" + password).decode()}


async def dial(url: str, password: bytes | None) -> None:
    """One connection with a Heartbeat; a refused one (401) ends there."""
    headers = basic(password) if password is not None else {}
    with contextlib.suppress(websockets.InvalidStatus):
        async with websockets.connect(url, subprotocols=["ocpp1.6"], additional_headers=headers) as ws:  # type: ignore[list-item]
            await ws.send(json.dumps([2, "h", "Heartbeat", {}]))
            await asyncio.wait_for(ws.recv(), 5)


CONNECTION_STEPS = """\
  - connection: new
    step: 1
    timeout_s: 5
    match:
      authorization.scheme: Basic
      authorization.username: "${charge_point_id}"
      authorization.password_hex: "${authorization_key}"
      authorization.password_length: {between: [16, 20]}
    save: {profile: security_profile}
  - connection: same
    step: 2
    match: {accepted: true}
  - expect: Heartbeat
    step: 3
"""


async def test_a_connection_is_judged_on_what_the_charger_presented(tmp_path: Path, sim_config: BenchConfig) -> None:
    result, case = await run(tmp_path, sim_config, CONNECTION_STEPS, lambda url: dial(url, bytes.fromhex(KEY)))
    assert (result.verdict, result.step) == ("PASS", None), result.reason
    assert [c.step for c in result.checks if c.description.startswith("connection")] == [1, 1, 1, 1, 2]
    assert case.vars["profile"] == 1


async def test_a_wrong_password_fails_the_connection_step(tmp_path: Path, sim_config: BenchConfig) -> None:
    async def twice(url: str) -> None:
        await dial(url, b"not the key at all, no")
    result, _ = await run(tmp_path, sim_config, CONNECTION_STEPS, twice)
    assert (result.verdict, result.step) == ("FAIL", 1)
    assert "password_hex" in result.reason and "wrong password" in result.reason  # the field and the refusal


async def test_no_connection_fails_unless_optional(tmp_path: Path, sim_config: BenchConfig) -> None:
    async def nothing(url: str) -> None:
        return None
    result, _ = await run(tmp_path, sim_config, "  - connection: new\n    step: 4\n    timeout_s: 0.3\n", nothing)
    assert (result.verdict, result.step) == ("FAIL", 4) and "no new connection" in result.reason
    result, _ = await run(tmp_path, sim_config, "  - connection: new\n    optional: true\n    timeout_s: 0.3\n"
                                                "    save: {came: accepted}\n", nothing)
    assert result.verdict == "PASS"


async def test_same_needs_an_earlier_connection(tmp_path: Path, sim_config: BenchConfig) -> None:
    async def nothing(url: str) -> None:
        return None
    result, _ = await run(tmp_path, sim_config, "  - connection: same\n    step: 2\n", nothing)
    assert (result.verdict, result.step) == ("FAIL", 2)


async def test_tools_sign_a_csr_and_compute_hash_data(tmp_path: Path, sim_config: BenchConfig) -> None:
    csr = make_csr(new_key(), "CP-9", "CPO")
    steps = f"""\
  - tool: sign_certificate
    with: {{csr: {json.dumps(csr)}, issuer: csms_root}}
    save: signed
  - tool: certificate_serial_number
    with: {{certificate: "${{signed}}"}}
    save: serial
  - tool: certificate_hash_data
    with: {{certificate: "${{csms_root_certificate}}", algorithm: SHA512}}
    save: root_hash
  - tool: sign_certificate
    with: {{csr: {json.dumps(csr)}, issuer: unknown_ca}}
    save: foreign
"""
    result, case = await run(tmp_path, sim_config, steps, lambda url: asyncio.sleep(0))
    assert result.verdict == "PASS", result.reason
    pki_root = load_cert(case.vars["csms_root_certificate"])
    assert load_cert(case.vars["signed"]).issuer == pki_root.subject
    assert load_cert(case.vars["foreign"]).issuer != pki_root.subject
    assert case.vars["serial"] == format(load_cert(case.vars["signed"]).serial_number, "x")
    assert case.vars["root_hash"] == fingerprint_ids(case.vars["csms_root_certificate"], algorithm="SHA512")
    assert case.vars["root_hash"]["hashAlgorithm"] == "SHA512"


async def test_a_tool_with_bad_arguments_is_a_scenario_error(tmp_path: Path, sim_config: BenchConfig) -> None:
    steps = "  - tool: sign_certificate\n    with: {csr: nonsense}\n    save: x\n"
    result, _ = await run(tmp_path, sim_config, steps, lambda url: asyncio.sleep(0))
    assert result.verdict == "ERROR" and "no CSR" in result.reason


def test_an_unknown_tool_names_its_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_scenario(scenario_file(tmp_path, "  - tool: brew_coffee\n    save: x\n"))
    assert info.value.line == 5 and "sign_certificate" in str(info.value)


def test_connection_takes_new_or_same(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_scenario(scenario_file(tmp_path, "  - connection: next\n"))
    assert info.value.line == 5


@pytest.mark.parametrize(("observed", "expected", "ok"), [
    (20, {"between": [16, 20]}, True), (21, {"between": [16, 20]}, False), (16, {"between": [16, None]}, True),
    (3, {"between": [None, 2]}, False), ("20", {"between": [16, 20]}, False), (True, {"between": [0, 2]}, False),
    (["a", "b"], {"any_of": [{"contains_all": ["x"]}, {"contains_all": ["a", "b"]}]}, True),
    (["a"], {"any_of": [{"contains_all": ["x"]}, {"contains_all": ["a", "b"]}]}, False),
    ([{"k": 1}], {"not": {"contains_all": [{"k": 2}]}}, True),
    ([{"k": 1}, {"k": 2}], {"not": {"contains_all": [{"k": 2}]}}, False),
    ("x", {"not": "y"}, True),
])
def test_new_matchers(observed: Any, expected: Any, ok: bool) -> None:
    assert satisfies(observed, expected) is ok


async def test_when_values_and_save_paths_take_references(tmp_path: Path, sim_config: BenchConfig) -> None:
    steps = """\
  - expect: Heartbeat
    step: 1
    timeout_s: 5
  - send: GetConfiguration
    step: 2
    payload: {key: [HeartbeatInterval]}
    save: {wanted_value: "configurationKey[key=${wanted}].value"}
  - send: GetConfiguration
    step: 3
    when: {var: wanted_value, equals: "${expected_value}"}
    payload: {key: [ran]}
"""
    async def charger(url: str) -> None:
        async with websockets.connect(url, subprotocols=["ocpp1.6"], additional_headers=basic(bytes.fromhex(KEY))) as ws:  # type: ignore[list-item]
            await ws.send(json.dumps([2, "h", "Heartbeat", {}]))
            await ws.recv()
            for _ in range(2):
                call = json.loads(await asyncio.wait_for(ws.recv(), 5))
                keys = call[3]["key"]
                await ws.send(json.dumps([3, call[1], {"configurationKey": [
                    {"key": k, "readonly": False, "value": "42"} for k in keys]}]))
    config = sim_config
    config.values["wanted"] = "HeartbeatInterval"
    config.values["expected_value"] = "42"
    result, case = await run(tmp_path, config, steps, charger)
    assert result.verdict == "PASS", result.reason
    assert case.vars["wanted_value"] == "42"
    assert [c.step for c in result.checks] == []  # no response checks, but step 3 ran (the charger answered twice)
