"""The certification report of a run: JUnit XML for CI, JSON for machines, one self-contained HTML for people."""

from __future__ import annotations

from pathlib import Path

from benchctl.record.run import RunRecord, load_run

from .html import write_html
from .json_report import write_json
from .junit import write_junit

JUNIT_FILE, JSON_FILE, HTML_FILE = "report.xml", "report.json", "report.html"

__all__ = ["RunRecord", "load_run", "write_reports"]


def write_reports(run_dir: Path) -> dict[str, Path]:
    """Read the run directory and write the three reports into it; works on a run that was cut off too."""
    record = load_run(run_dir)
    return {
        "junit": write_junit(record, run_dir / JUNIT_FILE),
        "json": write_json(record, run_dir / JSON_FILE),
        "html": write_html(record, run_dir / HTML_FILE),
    }
