"""report.html as a person sees it, in a real headless Chromium at 1280 px: the verdict banner in the first
viewport, a failed case's failing check and its highlighted frame after one click, nothing wider than the
window, and the verdict on page 1 of the PDF a lab prints with `chromium --headless --print-to-pdf`.

Two runs of the simulated bench, made once for the module with the `benchctl run` command: TC_003_CS passing,
and TC_010_CS failing against a charger that rejects the remote start (fault reject_remote_start).
"""

from __future__ import annotations

import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from pypdf import PdfReader

from support.browser import Browser, ChromiumNotInstalled, find_chromium, print_to_pdf

WIDTH, HEIGHT = 1280, 800
FAILING_CASE = "TC_010_CS"


def _run(runs: Path, *args: str) -> Path:
    benchctl = Path(sys.executable).parent / "benchctl"
    done = subprocess.run([str(benchctl), "run", "--runs", str(runs), *args], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode in (0, 1), done.stdout + done.stderr
    (run_dir,) = [p for p in runs.iterdir() if p.is_dir()]
    return run_dir / "report.html"


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    try:
        find_chromium()
    except ChromiumNotInstalled as exc:
        pytest.fail(str(exc), pytrace=False)  # never a silent skip: CI must say the browser is missing
    return {"pass": _run(tmp_path_factory.mktemp("pass"), "TC_003_CS"),
            "fail": _run(tmp_path_factory.mktemp("fail"), "--sim-fault", "reject_remote_start", FAILING_CASE)}


def _in_viewport(browser: Browser, selector: str) -> bool:
    return bool(browser.js(f"""(() => {{ const e = document.querySelector({selector!r}); if (!e) return false;
        const r = e.getBoundingClientRect();
        return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight && r.right <= window.innerWidth; }})()"""))


@pytest.mark.parametrize("which, verdict", [("pass", "PASS"), ("fail", "FAIL")])
def test_the_verdict_banner_is_in_the_first_viewport(reports: dict[str, Path], which: str, verdict: str) -> None:
    with Browser(WIDTH, HEIGHT) as browser:
        browser.open(reports[which])
        assert _in_viewport(browser, "header.banner")
        banner = browser.js("document.querySelector('header.banner').innerText")
        assert verdict in banner and "firmware 1.0.0" in banner and "Exit status" in banner
        # and the case table starts in that viewport too, with the case run and only that one
        assert _in_viewport(browser, "table.cases tr.case-row a")
        assert browser.js("document.querySelectorAll('table.cases:not(details table) tr.case-row').length") == 1


def test_one_click_shows_the_failing_check_and_its_highlighted_frame(reports: dict[str, Path]) -> None:
    with Browser(WIDTH, HEIGHT) as browser:
        browser.open(reports["fail"])
        browser.click(f"tr.case-row a[href='#case-{FAILING_CASE}']")
        assert browser.js("location.hash") == f"#case-{FAILING_CASE}"
        assert _in_viewport(browser, f"#case-{FAILING_CASE} .evidence .failing-check")
        failing = browser.js(f"document.querySelector('#case-{FAILING_CASE} .failing-check').innerText")
        # the remote start is step 6 of the reusable state Charging (2.25), not of the case
        assert failing.startswith("Failed at Charging / step 6: RemoteStartTransaction.conf status")
        assert _in_viewport(browser, f"#case-{FAILING_CASE} .evidence .frame.cited")
        highlight = browser.js(f"getComputedStyle(document.querySelector('#case-{FAILING_CASE} .frame.cited'))"
                               ".backgroundColor")
        assert highlight not in ("rgba(0, 0, 0, 0)", "transparent", "rgb(255, 255, 255)")
        assert _in_viewport(browser, f"#case-{FAILING_CASE} .evidence mark.diff")
        # the frame's link leads to its row of the timeline, highlighted there too
        browser.click(f"#case-{FAILING_CASE} .frame.cited a")
        row = browser.js("location.hash").lstrip("#")
        assert row.startswith(f"case-{FAILING_CASE}-frame-")
        assert _in_viewport(browser, f"tr.cited[id='{row}']")


def _too_wide(browser: Browser, width: int) -> list[str]:
    browser.js("document.querySelectorAll('details').forEach(d => d.open = true)")  # the folded parts too
    assert browser.js("document.documentElement.scrollWidth") <= width
    return list(browser.js("""Array.from(document.querySelectorAll('body *'))
        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5
                     || e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== 'visible')
        .slice(0, 5).map(e => e.tagName + '.' + e.className)"""))


@pytest.mark.parametrize("which", ["pass", "fail"])
def test_nothing_overflows_at_1280_px_nor_on_a4(reports: dict[str, Path], which: str) -> None:
    with Browser(WIDTH, HEIGHT) as browser:
        browser.open(reports[which])
        assert _too_wide(browser, WIDTH) == []
    a4 = 703  # px at 96 dpi: 210 mm less the print stylesheet's 12 mm margins
    with Browser(a4, HEIGHT) as browser:
        browser.open(reports[which])
        browser.call("Emulation.setEmulatedMedia", media="print")
        assert _too_wide(browser, a4) == []


@pytest.mark.parametrize("which, verdict", [("pass", "PASS"), ("fail", "FAIL")])
def test_the_pdf_print_has_the_verdict_on_page_one(reports: dict[str, Path], tmp_path: Path, which: str,
                                                   verdict: str) -> None:
    pdf = print_to_pdf(reports[which], tmp_path / "report.pdf")
    reader = PdfReader(pdf)
    first = unicodedata.normalize("NFKC", reader.pages[0].extract_text())  # the font's "fi" ligature is two letters
    assert verdict in first and "hil_sim" in first and "firmware 1.0.0" in first and "Exit status" in first
    assert ("TC_003_CS" if which == "pass" else FAILING_CASE) in first
    # A4 (595 x 842 pt), not a screen-wide page
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)
