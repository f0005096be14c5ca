"""docs/scenario-language.md is generated from the step kinds' models: it is current, and it is complete."""

from __future__ import annotations

from benchctl.config.schema import Schema
from benchctl.config.typed import keys_of
from benchctl.paths import ROOT
from benchctl.scenario.model import STEP_KINDS, STEP_SCHEMAS
from benchctl.scenario.reference import COMMAND, reference
from benchctl.scenario.steps import MODELS


def test_the_committed_reference_is_current() -> None:
    committed = (ROOT / "docs" / "scenario-language.md").read_text(encoding="utf-8")
    assert committed == reference(), f"docs/scenario-language.md is stale: regenerate it with `{COMMAND}`"


def test_every_kind_and_every_key_is_in_the_reference() -> None:
    text = reference()
    for kind in STEP_KINDS:
        assert f"\n### {kind}\n" in text
        for key, spec in STEP_SCHEMAS[kind].fields.items():
            assert f"| `{key}` |" in text
            for sub in spec.fields if isinstance(spec, Schema) else []:
                assert f"| `{key}.{sub}` |" in text


def test_the_loader_validates_with_the_registered_models() -> None:
    for kind in STEP_KINDS:
        own = [key for key, _, _ in keys_of(MODELS[kind])]
        assert list(STEP_SCHEMAS[kind].fields) == own
        assert own[3] == kind  # after step, when, note: the kind's own key
