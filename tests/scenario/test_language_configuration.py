"""A case's Configuration State on a charger with read-only keys: a key already at the required value is the state
(no ERROR), one at another value makes the case NOT_APPLICABLE naming the key, its access and value, and a writable
key the charger refuses is an ERROR of the setup; none of them is a FAIL of the charger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchctl.bench.config import BenchConfig

from support.scripted import ScriptedCharger, run_scripted

CASE = """\
configuration:
  LocalAuthorizeOffline: true
steps:
  - wait: 0.05
"""


def charger(readonly: bool, value: str, change: str = "Rejected") -> ScriptedCharger:
    key = {"key": "LocalAuthorizeOffline", "readonly": readonly, "value": value}
    return ScriptedCharger({"ChangeConfiguration": {"status": change},
                            "GetConfiguration": {"configurationKey": [key]}})


async def _run(tmp_path: Path, config: BenchConfig, scripted: ScriptedCharger, **runner: Any) -> Any:
    return await run_scripted(tmp_path, config, CASE, scripted, **runner)


async def test_a_read_only_key_at_the_required_value_is_the_state(tmp_path: Path, sim_config: BenchConfig) -> None:
    scripted = charger(True, "True")
    result = await _run(tmp_path, sim_config, scripted)
    assert (result.verdict, result.reason) == ("PASS", ""), result.reason
    assert [c.description for c in result.checks] == \
        ["configuration state LocalAuthorizeOffline = true (read-only, already set)"]


async def test_a_read_only_key_known_before_the_case_is_not_changed(tmp_path: Path, sim_config: BenchConfig) -> None:
    scripted = charger(True, "true")
    known = {"LocalAuthorizeOffline": {"key": "LocalAuthorizeOffline", "readonly": True, "value": "true"}}
    result = await _run(tmp_path, sim_config, scripted, known_keys=known)
    assert result.verdict == "PASS", result.reason
    assert [action for action, _ in scripted.calls] == ["GetConfiguration"]


async def test_a_read_only_key_at_another_value_makes_the_case_not_applicable(tmp_path: Path,
                                                                             sim_config: BenchConfig) -> None:
    result = await _run(tmp_path, sim_config, charger(True, "false"))
    assert result.verdict == "NOT_APPLICABLE", result.reason
    for part in ("LocalAuthorizeOffline", "read-only", "'false'", "Rejected"):
        assert part in result.reason


async def test_a_writable_key_the_charger_refuses_is_an_error_not_a_fail(tmp_path: Path,
                                                                         sim_config: BenchConfig) -> None:
    result = await _run(tmp_path, sim_config, charger(False, "false"))
    assert result.verdict == "ERROR", result.reason
    assert "read-write with the value 'false'" in result.reason and "Rejected" in result.reason
