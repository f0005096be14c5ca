"""The HTML reports come from the jinja2 templates in benchctl/report/templates: a lab can replace one, the
Python modules hold no markup, and whatever a charger writes reaches the page as text."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from jinja2 import UndefinedError
from report.test_reports import RESULTS, _make_run, _write_jsonl

from benchctl.report import write_reports
from benchctl.report.perf_section import perf_page
from benchctl.report.templating import OVERRIDE_VARIABLE

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = "<script>alert('x')</script> & <b>"
TAG = re.compile(r"</?(html|head|body|style|title|meta|header|section|table|tr|td|th|p|span|div|h[1-6]|a|code|pre"
                 r"|ul|li|details|summary|strong|small|br)\b[^<]*>")


def _perf(text: str) -> dict:
    return {"source": "run", "frames": 3, "cases": ["TC_003_CS"], "pics_file": None, "performance": None,
            "acceptance": {"all_measured": True, "not_measured": [], "pairs_not_measured": []}, "link": None,
            "figures": [{"id": "f", "title": "Authorize", "count": 1, "min_ms": 5.0, "median_ms": 5.0, "p95_ms": 5.0,
                         "max_ms": 5.0, "declared_s": 1.0, "verdict": "within", "reason": "ok", "a4_row": "A.4",
                         "extremes": {"max": {"frames": [3, 4], "case": "TC_003_CS"}},
                         "samples": [{"ms": 5.0, "action": text, "frames": [3, 4], "cp": text, "note": text}]}]}


def _markup_strings(path: Path) -> list[str]:
    """String constants of a module that look like HTML tags; docstrings are prose and may name a tag."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                  and node.body and isinstance(node.body[0], ast.Expr)}
    return [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docstrings and TAG.search(node.value)]


def test_the_report_modules_hold_no_markup() -> None:
    # plot.py draws the SVG figures of the performance section: markup is what it makes, from numbers only
    modules = [m for m in sorted((ROOT / "benchctl" / "report").glob("*.py")) if m.name != "plot.py"]
    found = {str(m.relative_to(ROOT)): strings for m in modules if (strings := _markup_strings(m))}
    assert found == {}
    packaged = {p.name for p in (ROOT / "benchctl" / "report" / "templates").iterdir()}
    assert {"report.html.j2", "case.html.j2", "perf.html.j2", "perf_section.html.j2", "report.css"} <= packaged


def test_a_lab_can_replace_a_template(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    own = tmp_path / "lab-templates"
    own.mkdir()
    (own / "report.css").write_text("body { font-family: 'Lab Sans'; }\n", encoding="utf-8")
    monkeypatch.setenv(OVERRIDE_VARIABLE, str(own))
    run = _make_run(tmp_path)
    page = write_reports(run)["html"].read_text(encoding="utf-8")
    assert "font-family: 'Lab Sans'" in page and "--pass: #1b7f3b" not in page  # the lab's stylesheet
    assert '<section class="case c-FAIL" id="case-TC_003_CS">' in page  # the rest from the package
    assert "font-family: 'Lab Sans'" in perf_page(_perf("Authorize"))

    # a template that names a value the report does not give fails loudly instead of leaving a blank
    (own / "companion.html.j2").write_text("{{ case.companion.tool_verdikt }}", encoding="utf-8")
    results = [dict(RESULTS[0], octt={"tool_case": "TC_CP_V16_001", "tool_verdict": "PASS"}), *RESULTS[1:]]
    _write_jsonl(run / "results.jsonl", results)
    with pytest.raises(UndefinedError, match="tool_verdikt"):
        write_reports(run)


def test_what_a_charger_writes_is_text_in_every_part_of_the_page(tmp_path: Path) -> None:
    run = _make_run(tmp_path)
    hostile = [dict(RESULTS[0], warnings=[{"kind": "vendor text", "message": HOSTILE, "frames": [1]}],
                    timings=[{"kind": HOSTILE, "name": "Authorize", "ms": 3, "frames": [1]}],
                    octt={"tool_case": HOSTILE, "tool_verdict": "PASS", "benchctl_verdict": "PASS",
                          "prompts": [{"case": "TC_CP_V16_001", "text": HOSTILE, "rule": None, "answer": False}]}),
               dict(RESULTS[1], reason=f"{HOSTILE} (frame #3)", where=HOSTILE), *RESULTS[2:]]
    _write_jsonl(run / "results.jsonl", hostile)
    meta = json.loads((run / "run.json").read_text(encoding="utf-8"))
    meta["dut"]["firmwareVersion"] = HOSTILE
    meta["dut_profile"] = {"rows": [{"key": "MeterValueSampleInterval", "charger": HOSTILE, "expected": "60",
                                     "cases": ["TC_003_CS"], "outcome": "MISMATCH", "note": HOSTILE}]}
    (run / "run.json").write_text(json.dumps(meta), encoding="utf-8")
    (run / "perf.json").write_text(json.dumps(_perf(HOSTILE)), encoding="utf-8")
    page = write_reports(run)["html"].read_text(encoding="utf-8")
    escaped = "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &lt;b&gt;"
    # the DUT block, the profile (twice), the warning, the timing, the tool case and its prompt, the failed
    # case's reason and scenario, the perf sample's request, charge point and note
    assert page.count(escaped) >= 12
    assert "<script" not in page.lower() and "<b>" not in page
    assert "<script" not in perf_page(_perf(HOSTILE)).lower()


def test_a_damaged_perf_json_is_named_and_the_report_still_written(tmp_path: Path) -> None:
    run = _make_run(tmp_path)
    (run / "perf.json").write_text(json.dumps({"figures": [{"title": "Authorize"}],
                                                "acceptance": {"all_measured": True}}), encoding="utf-8")
    page = write_reports(run)["html"].read_text(encoding="utf-8")
    assert "perf.json could not be shown: &#x27;count&#x27;" in page
    assert '<section class="case c-FAIL" id="case-TC_003_CS">' in page


def test_perf_page_one_row_per_figure_with_its_evidence_behind_a_disclosure() -> None:
    perf = _perf("Authorize")
    perf["cases"] = ["TC_001_CS:reset", "TC_001_CS", "TC_003_CS:reset", "TC_003_CS", "end"]
    perf["figures"][0]["extremes"]["max"]["ms"] = 5.0
    perf["figures"].append(dict(perf["figures"][0], id="g", title="RemoteStart", extremes={}, samples=[]))
    page = perf_page(perf)
    cases = page.split("<th>Cases</th><td>")[1].split("</td>")[0]
    # the return to idle segments are said once, not listed as cases of their own
    assert cases == "TC_001_CS, TC_003_CS; the return to idle before 2 of them; the end of the run"
    figures = page.split('<table class="figures">')[1].split("</table>")[0]
    rows = figures.split("<tr>")[2:]
    assert [r.split("</td>")[0] for r in rows] == ["<td>Authorize", "<td>RemoteStart"]
    evidence = rows[0].split('<details class="perf-evidence">')[1].split("</details>")[0]
    assert "<strong>max</strong> 5.000 ms: #3 #4 (TC_003_CS)" in evidence
    assert "perf-evidence" not in rows[1]  # a figure without samples has no evidence to unfold


def test_each_perf_figure_says_in_words_what_its_plot_shows() -> None:
    perf = _perf("Authorize")
    figure = perf["figures"][0]
    figure.update(count=3, median_ms=12.0, p95_ms=40.0, max_ms=1500.0, declared_s=5, verdict="within")
    page = perf_page(perf)
    assert ("Of 3 measured, half took 12 ms or less, 95 in 100 took 40 ms or less, and the slowest 1.50 s. "
            "The vendor declares 5 s in the PICS (dashed line): every one was within it.") in page
    figure.update(verdict="exceeded", declared_s=1)
    assert "The vendor declares 1 s in the PICS (dashed line): it was exceeded." in perf_page(perf)
    figure.update(declared_s=None, verdict="not declared")
    assert "The PICS declares no value for it, so it is shown, not judged." in perf_page(perf)
    figure.update(count=0, reason="no Authorize in the capture")
    assert "Nothing of this kind was measured: no Authorize in the capture." in perf_page(perf)
