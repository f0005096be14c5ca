"""The docs and help texts a new user reads: every file they name is in the repository, nothing points outside
it, every option says what it does, and docs/values.md is the reference of the `values:` keys as they are."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator

import pytest

from benchctl.bench.values import VALUES_SCHEMA
from benchctl.bench.values_doc import PAGE, scenario_uses, values_reference
from benchctl.cli import build_parser
from benchctl.paths import ROOT

# a file of the repository named in prose: a bench config, PICS, scenario, state or doc page
NAMED_FILE = re.compile(r"(?<![\w./-])((?:bench_configs|pics|scenarios|docs)/[\w./-]*\w\.(?:yaml|md))")
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def parsers(parser: argparse.ArgumentParser, name: str = "benchctl") -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub, child in action.choices.items():
                yield from parsers(child, f"{name} {sub}")


def test_every_argument_of_every_command_has_help() -> None:
    missing = [f"{name} {a.option_strings or a.dest}" for name, p in parsers(build_parser()) for a in p._actions
               if not a.help and not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction))]
    assert missing == []


def test_every_file_named_in_help_texts_and_docs_exists() -> None:
    texts = {name: p.format_help() for name, p in parsers(build_parser())}
    texts |= {str(page.relative_to(ROOT)): page.read_text(encoding="utf-8") for page in DOCS}
    named = {(where, file) for where, text in texts.items() for file in NAMED_FILE.findall(text)}
    assert ("benchctl run", "bench_configs/rpi-lab.yaml") in named  # the pattern finds what it must
    assert [(where, file) for where, file in sorted(named) if not (ROOT / file).exists()] == []


@pytest.mark.parametrize("page", DOCS, ids=lambda p: p.name)
def test_docs_point_only_inside_the_repository(page: object) -> None:
    text = page.read_text(encoding="utf-8")  # type: ignore[attr-defined]
    assert "../shared" not in text and "/work/" not in text


def test_every_value_has_a_help_text() -> None:
    assert [key for key, spec in VALUES_SCHEMA.fields.items() if not spec.help] == []


def test_values_reference_is_up_to_date() -> None:
    assert PAGE.read_text(encoding="utf-8") == values_reference(), \
        "docs/values.md is stale: run `python -m benchctl.bench.values_doc`"


def test_values_reference_names_the_scenarios_using_a_value() -> None:
    uses = scenario_uses(ROOT / "scenarios")
    assert "TC_071_CS" in uses["clock_aligned_interval_s"]
    row = next(line for line in values_reference().splitlines() if line.startswith("| `clock_aligned_interval_s`"))
    assert "TC_071_CS" in row and "`900`" in row


def test_special_roles_page_lists_the_cases_each_role_is_needed_by() -> None:
    from benchctl.scenario.model import load_scenarios

    page = (ROOT / "docs" / "special-roles.md").read_text(encoding="utf-8")
    documented = {}
    for section in page.split("\n## ")[1:]:
        role = section.split("`")[1]
        cases = re.search(r"\*\*Cases\*\*: (.*)", section)
        if cases:
            documented[role] = set(re.findall(r"TC_\w+_CS", cases.group(1)))
    needed: dict[str, set[str]] = {}
    for scenario in load_scenarios(ROOT / "scenarios"):
        for role in scenario.roles:
            needed.setdefault(role, set()).add(scenario.id)
    assert {role for role in needed if role not in ("ev", "card")} <= set(documented)
    assert {role: cases for role, cases in documented.items() if cases != needed.get(role, set())} == {}
