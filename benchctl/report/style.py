"""The stylesheet of report.html, inlined into the page so the file stands alone (mailed, archived, opened
offline in a lab) and prints like a lab report."""

CSS = """
:root { --pass: #1b7f3b; --fail: #b3261e; --error: #8e24aa; --skip: #9a6b00; --muted: #666; --line: #d0d0d0; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d1d1d;
       margin: 0 auto; max-width: 1200px; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 2px solid #1d1d1d; padding-bottom: 2px; }
h3 { font-size: 16px; margin: 0 0 6px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { border: 1px solid var(--line); padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #f2f2f2; font-weight: 600; }
table.facts { width: auto; }
table.facts th { width: 14em; }
code, pre { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre { background: #f7f7f7; border: 1px solid var(--line); padding: 6px; margin: 4px 0;
      white-space: pre-wrap; word-break: break-all; }
td code { white-space: pre-wrap; word-break: break-all; }
.muted { color: var(--muted); }
.verdict { display: inline-block; min-width: 6.5em; text-align: center; font-weight: 700; color: #fff;
           border-radius: 3px; padding: 0 6px; }
.v-PASS { background: var(--pass); }
.v-FAIL { background: var(--fail); }
.v-ERROR, .v-NO_RESULT { background: var(--error); }
.v-NOT_RUNNABLE, .v-NOT_APPLICABLE { background: var(--skip); }
.v-EXCLUDED, .v-NOT_SELECTED { background: #888; }
.v-WARN { background: #e08a00; min-width: 0; }
.warnings { background: #fff8e1; border: 1px solid #f0d48a; padding: 8px 12px; margin: 8px 0; }
.warnings h4 { margin: 6px 0 2px; font-size: 14px; }
.counts td { font-weight: 700; text-align: center; }
.notes { border: 1px solid var(--skip); background: #fff8e1; padding: 6px 10px; }
section.case { border: 1px solid var(--line); border-left: 6px solid #888; padding: 10px 14px; margin: 14px 0;
               page-break-inside: avoid; }
section.case.c-PASS { border-left-color: var(--pass); }
section.case.c-FAIL { border-left-color: var(--fail); }
section.case.c-ERROR, section.case.c-NO_RESULT { border-left-color: var(--error); }
section.case.c-NOT_RUNNABLE, section.case.c-NOT_APPLICABLE { border-left-color: var(--skip); }
.evidence { background: #fdf1f0; border: 1px solid #f0c4c0; padding: 8px 12px; margin: 8px 0; }
.evidence h4 { margin: 6px 0 2px; font-size: 14px; }
tr.bad td { background: #fdf1f0; }
.disagreement { color: var(--fail); }
tr.reset td { color: var(--muted); }
tr.cited td { background: #fff3c4; }
tr.ev td { background: #eef5ff; }
td.t { white-space: nowrap; }
details > summary { cursor: pointer; font-weight: 600; margin: 6px 0; }
@media print { body { padding: 0; } details { display: block; } }
"""
