"""The OCPP actions a scenario names are checked against the OCPP 1.6 schemas and their direction.

Before, `expect: Authorise` loaded, waited for a message no charger sends and ended in a FAIL blamed on the
charger; now it is a validation error of the scenario, with the action it probably meant.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchctl.cli import main
from benchctl.config import ConfigError
from benchctl.paths import SCENARIOS
from benchctl.scenario.model import load_scenario
from benchctl.scenario.ocpp_actions import FROM_CHARGER, ocpp_actions

TC_003 = (SCENARIOS / "TC_003_CS.yaml").read_text(encoding="utf-8")


def scenario(folder: Path, old: str, new: str) -> tuple[Path, str]:
    if not (folder / "states").exists():
        shutil.copytree(SCENARIOS / "states", folder / "states")
    assert TC_003.count(old) == 1
    text = TC_003.replace(old, new)
    path = folder / "TC_003_CS.yaml"
    path.write_text(text, encoding="utf-8")
    return path, text


def line_of(text: str, marker: str) -> int:
    hits = [n for n, line in enumerate(text.splitlines(), 1) if marker in line]
    assert len(hits) == 1, hits
    return hits[0]


@pytest.mark.parametrize(("old", "new", "marker", "field", "fragment"), [
    ("  - expect: Authorize\n", "  - expect: Authorise\n", "Authorise", "steps[3].expect",
     "'Authorise' is not an OCPP 1.6 action; did you mean 'Authorize'?"),
    ("      - expect: StartTransaction\n", "      - expect: StartTransation\n", "StartTransation",
     "steps[4].any_order[0].expect", "did you mean 'StartTransaction'?"),
    ("  - action: plug_in\n", "  - send: Rest\n    payload: {type: Soft}\n  - action: plug_in\n", "send: Rest",
     "steps[0].send", "did you mean 'Reset'?"),
    ("  - action: plug_in\n", "  - absent: MeterValue\n    for_s: 1\n  - action: plug_in\n", "absent: MeterValue",
     "steps[0].absent", "did you mean 'MeterValues'?"),
    ("  - action: plug_in\n", "  - absent: Heartbeat\n    also: [StopTransction]\n    for_s: 1\n  - action: plug_in\n",
     "StopTransction", "steps[0].also[0]", "did you mean 'StopTransaction'?"),
    ("  - expect: Authorize\n", "  - expect: RemoteStartTransaction\n", "expect: RemoteStart", "steps[3].expect",
     "sent by the Central System, not the charger"),
    ("  - action: plug_in\n", "  - send: StatusNotification\n  - action: plug_in\n", "send: Status",
     "steps[0].send", "sent by the charger, not the Central System"),
], ids=["expect", "any-order-member", "send", "absent", "absent-also", "expect-a-csms-message",
        "send-a-charger-message"])
def test_a_wrong_action_is_a_validation_error(tmp_path: Path, old: str, new: str, marker: str, field: str,
                                              fragment: str) -> None:
    path, text = scenario(tmp_path, old, new)

    with pytest.raises(ConfigError) as caught:
        load_scenario(path)

    assert (caught.value.line, caught.value.field) == (line_of(text, marker), field)
    assert fragment in caught.value.message


def test_the_actions_are_those_of_the_ocpp_16_schemas() -> None:
    actions = ocpp_actions()
    assert len(actions) == 39  # 28 of OCPP 1.6 and 11 of its security whitepaper
    assert FROM_CHARGER < actions
    assert {"Authorize", "Reset", "SignCertificate", "ExtendedTriggerMessage"} <= actions
    assert not any(a.endswith("Response") for a in actions)


@pytest.mark.parametrize("action", sorted(ocpp_actions()))
def test_every_action_loads_in_its_direction(tmp_path: Path, action: str) -> None:
    kind = "expect" if action in FROM_CHARGER else "send"
    optional = "    optional: true\n" if kind == "expect" else ""
    path, _ = scenario(tmp_path, "  - action: plug_in\n", f"  - {kind}: {action}\n{optional}  - action: plug_in\n")
    assert load_scenario(path).steps[0].data[kind] == action


def test_run_stops_before_the_charger_is_blamed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    path, text = scenario(folder, "  - expect: Authorize\n", "  - expect: Authorise\n")

    status = main(["run", "--scenarios", str(folder), "--runs", str(tmp_path / "runs"), "003"])

    out = capsys.readouterr().out
    assert status == 2
    assert f"{path}:{line_of(text, 'Authorise')}: steps[3].expect: 'Authorise' is not an OCPP 1.6 action" in out
    assert not (tmp_path / "runs").exists()
