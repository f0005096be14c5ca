"""The performance section as HTML, from a perf.json record: on its own page (perf.html) and inside a run's
report.html. Every value goes through `escape` (charger payloads name the cases and actions shown)."""

from __future__ import annotations

from html import escape
from typing import Any

from .plot import distribution_svg

VERDICT_COLOURS = {"within": "#1b7f3b", "exceeded": "#b3261e", "not measured": "#b3261e", "not declared": "#888",
                   "met": "#1b7f3b", "missed": "#b3261e"}
PERF_CSS = """
.perf-verdict { display: inline-block; color: #fff; border-radius: 3px; padding: 0 6px; font-weight: 700; }
.perf-plot { display: block; margin: 6px 0; }
.perf-advice { border: 1px solid #9a6b00; background: #fff8e1; padding: 6px 10px; font-weight: 600; }
"""


def _e(value: Any) -> str:
    return escape("" if value is None else value if isinstance(value, str) else str(value), quote=True)


def _ms(value: Any) -> str:
    return "–" if value is None else f"{value:.3f}"


def _badge(verdict: str) -> str:
    return (f'<span class="perf-verdict" style="background:{VERDICT_COLOURS.get(verdict, "#888")}">'
            f"{_e(verdict)}</span>")


def _frames(sample: dict[str, Any]) -> str:
    refs = " ".join(f"#{n}" for n in sample.get("frames", []))
    case = f" ({sample['case']})" if sample.get("case") else ""
    return _e(refs + case)


def _evidence(figure: dict[str, Any]) -> str:
    extremes = figure.get("extremes") or {}
    return "<br>".join(f"{_e(name)}: {_frames(sample)}" for name, sample in extremes.items())


def _figure_row(figure: dict[str, Any]) -> str:
    declared = figure.get("declared_s")
    cells = [f"<td>{_e(figure['title'])}</td>", f"<td>{figure['count']}</td>",
             *(f"<td>{_ms(figure.get(f'{k}_ms'))}</td>" for k in ("min", "median", "p95", "max")),
             f"<td>{'–' if declared is None else _e(f'{declared:g} s')}</td>",
             f"<td>{_badge(figure['verdict'])}<br><span class=\"muted\">{_e(figure['reason'])}</span></td>",
             f"<td>{_evidence(figure)}</td>"]
    return "<tr>" + "".join(cells) + "</tr>\n"


def _figure_details(figure: dict[str, Any]) -> str:
    samples = figure.get("samples", [])
    declared = figure.get("declared_s")
    svg = distribution_svg([s["ms"] for s in samples], None if declared is None else declared * 1000,
                           median_ms=figure.get("median_ms"), p95_ms=figure.get("p95_ms"),
                           title=f"{figure['title']}: response-time distribution")
    rows = "".join(f"<tr><td>{_ms(s['ms'])}</td><td>{_e(s['action'])}</td><td>{_frames(s)}</td>"
                   f"<td>{_e(s.get('cp'))}</td><td>{_e(s.get('note'))}</td></tr>\n" for s in samples)
    incomplete = "".join(f"<tr><td>{_e(i['action'])}</td><td>{_frames(i)}</td><td>{_ms(i['waited_ms'])}</td>"
                         f"<td>{_e(i['reason'])}</td></tr>\n" for i in figure.get("incomplete", []))
    note = f"<p class=\"muted\">{_e(figure['note'])}</p>" if figure.get("note") else ""
    out = (f"<details><summary>{_e(figure['title'])} ({figure['count']} samples, "
           f"A.4 row: {_e(figure['a4_row'])})</summary>\n{note}{svg}\n")
    if rows:
        out += ("<table><tr><th>ms</th><th>request</th><th>frames (case)</th><th>charge point</th><th>note</th>"
                f"</tr>\n{rows}</table>\n")
    if incomplete:
        out += ("<p>Not completed in the capture:</p><table><tr><th>request</th><th>frames (case)</th>"
                f"<th>waited ms</th><th>why</th></tr>\n{incomplete}</table>\n")
    return out + "</details>\n"


def _link_section(link: dict[str, Any]) -> str:
    checks = ([link["technology"]] if link.get("technology") else []) + link.get("generations", [])
    rows = []
    for c in checks:
        judged = {j["parameter"]: j for j in c["judgments"]}
        signal = c.get("signal") or {}

        def cell(name: str, text: str) -> str:
            j = judged.get(name)
            return f"<td>{_e(text)}{'<br>' + _badge(j['result']) if j else ''}</td>"

        latency = c.get("figures") or {}
        rows.append(
            f"<tr><td>{_e(c['name'])}</td><td>{_e(c.get('setting') or '')} / {_e(c.get('serving') or '')}</td>"
            + cell("bandwidth", "–" if c.get("bandwidth_kB_s") is None else f"{c['bandwidth_kB_s']:.2f} kB/s")
            + cell("latency", "–" if c.get("latency_ms") is None
                   else f"{c['latency_ms']:.1f} ms (max {latency.get('latency_max_ms', 0):.1f})")
            + cell("rssi", "–" if signal.get("rssi_dbm") is None
                   else f"{signal['rssi_dbm']:g} dBm" + (f", CSQ {signal['csq']}" if signal.get("csq") is not None
                                                         else ""))
            + f"<td>{_badge(c['result'])}</td><td>{_e(c.get('error') or c.get('note') or '')}</td></tr>\n")
    limits = link["limits"]
    notes = "".join(f"<li>{_e(n)}</li>" for n in link.get("notes", []))
    return ("<h3>Connection (8.2.2, 8.2.3)</h3>\n"
            f"<p class=\"perf-advice\">{_e(link['advice'])}</p>\n"
            f"<p>Limits: bandwidth &gt;= {limits['bandwidth_kB_s_min']:g} kB/s, latency &lt;= "
            f"{limits['latency_ms_max']:g} ms, RSSI &gt;= {limits['rssi_dbm_min']:g} dBm (CSQ {limits['csq_min']}). "
            f"Dongle set back to: {_e(link.get('restored_to') or 'unknown')}.</p>\n"
            "<table><tr><th>link</th><th>set / serving</th><th>bandwidth</th><th>latency (median)</th><th>RSSI</th>"
            f"<th>result</th><th>note</th></tr>\n{''.join(rows)}</table>\n"
            + (f"<ul>{notes}</ul>\n" if notes else ""))


def perf_section(perf: dict[str, Any]) -> str:
    """The <section> for a perf.json record."""
    accepted = perf["acceptance"]
    pics = perf.get("performance") or {}
    facts = [("Source", perf.get("source")), ("Frames", perf.get("frames")),
             ("Cases", ", ".join(perf.get("cases", [])) or "none labelled"),
             ("PICS", perf.get("pics_file") or "none"),
             ("Communication technology", pics.get("communication_technology") or "not declared"),
             ("Every PICS parameter measured (8.1.3)",
              "yes" if accepted["all_measured"] else "NO: " + ", ".join(accepted["not_measured"]))]
    if accepted.get("pairs_not_measured"):
        facts.append(("Pairs not measured", ", ".join(accepted["pairs_not_measured"])))
    head = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>\n" for k, v in facts)
    figures = perf.get("figures", [])
    table = "".join(_figure_row(f) for f in figures)
    return ("<section id=\"performance\">\n<h2>Performance (chapter 8, Appendix A.4)</h2>\n"
            f"<table class=\"facts\">{head}</table>\n"
            + (_link_section(perf["link"]) if perf.get("link") else "")
            + "<h3>Figures</h3>\n<table><tr><th>figure</th><th>n</th><th>min ms</th><th>median ms</th>"
              "<th>p95 ms</th><th>max ms</th><th>declared</th><th>verdict</th><th>evidence (frames)</th></tr>\n"
            + table + "</table>\n<p class=\"muted\">Percentiles are nearest-rank samples; frames are capture "
              "indices (request, answer[, promised message]).</p>\n"
            + "".join(_figure_details(f) for f in figures) + "</section>\n")


def perf_page(perf: dict[str, Any]) -> str:
    from benchctl.report.style import CSS

    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>Performance {_e(perf.get('source'))}</title>\n<style>{CSS}{PERF_CSS}</style>\n</head>\n<body>\n"
            + perf_section(perf) + "</body>\n</html>\n")
