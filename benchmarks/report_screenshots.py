"""The screenshots of report.html the README shows: a sim run of TC_003_CS passing, and TC_010_CS failing against a
charger that rejects the remote start, each as headless Chromium shows it at 1280 x 800 (the failing one after
the click on its case too, where the failing check and its frame are).

    .venv/bin/python benchmarks/report_screenshots.py
        writes docs/report-pass.png, docs/report-fail.png, docs/report-fail-case.png

Needs Debian's chromium (./dev test installs it). Rerun it when the report's look changes.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from support.browser import Browser  # noqa: E402

DOCS = ROOT / "docs"


def sim_report(runs: Path, *args: str) -> Path:
    benchctl = Path(sys.executable).parent / "benchctl"
    subprocess.run([str(benchctl), "run", "--runs", str(runs), *args], check=False, capture_output=True,
                   timeout=300)
    (run_dir,) = [p for p in runs.iterdir() if p.is_dir()]
    return run_dir / "report.html"


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="benchctl-shots-") as tmp:
        passing = sim_report(Path(tmp) / "pass", "TC_003_CS")
        failing = sim_report(Path(tmp) / "fail", "--sim-fault", "reject_remote_start", "TC_010_CS")
        with Browser(1280, 800) as browser:
            browser.open(passing)
            print(browser.screenshot(DOCS / "report-pass.png"))
            browser.open(failing)
            print(browser.screenshot(DOCS / "report-fail.png"))
            browser.click("tr.case-row a[href='#case-TC_010_CS']")
            print(browser.screenshot(DOCS / "report-fail-case.png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
