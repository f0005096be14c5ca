"""The performance section as HTML, from a perf.json record: on its own page (perf.html) and inside a run's
report.html. The markup is in benchctl/report/templates/perf_section.html.j2 and perf.html.j2; this module
shapes the record for them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchctl.perf.figures import EXCEEDED, WITHIN
from benchctl.perf.record import PERF_HTML, PERF_JSON
from benchctl.report.templating import render

from .plot import distribution_svg


def perf_section(perf: dict[str, Any]) -> str:
    """The <section> for a perf.json record."""
    return render("perf_section.html.j2", **_shaped(perf))


def perf_page(perf: dict[str, Any]) -> str:
    return render("perf.html.j2", source=perf.get("source"), section=perf_section(perf))


def _shaped(perf: dict[str, Any]) -> dict[str, Any]:
    accepted = perf["acceptance"]
    pics = perf.get("performance") or {}
    facts = [("Source", perf.get("source")), ("Frames", perf.get("frames")),
             ("Cases", _cases(perf.get("cases", []))),
             ("PICS", perf.get("pics_file") or "none"),
             ("Communication technology", pics.get("communication_technology") or "not declared"),
             ("Every PICS parameter measured (8.1.3)",
              "yes" if accepted["all_measured"] else "NO: " + ", ".join(accepted["not_measured"]))]
    if accepted.get("pairs_not_measured"):
        facts.append(("Pairs not measured", ", ".join(accepted["pairs_not_measured"])))
    return {"facts": [(k, "" if v is None else v) for k, v in facts],
            "link": _link(perf["link"]) if perf.get("link") else None,
            "figures": [_figure(f) for f in perf.get("figures", [])]}


def _cases(labels: list[str]) -> str:
    """The cases the frames came from; the return to idle before each ("<case>:reset") and the run's "end" are
    said once, not listed as cases of their own."""
    cases = [c for c in labels if ":" not in c and c != "end"]
    resets = sum(1 for c in labels if c.endswith(":reset"))
    text = ", ".join(cases) or "none labelled"
    extra = ([f"the return to idle before {resets} of them" if resets else ""]
             + ["the end of the run" if "end" in labels else ""])
    return text + "".join(f"; {e}" for e in extra if e)


def _ms(value: Any) -> str:
    return "–" if value is None else f"{value:.3f}"


def _frames(sample: dict[str, Any]) -> str:
    refs = " ".join(f"#{n}" for n in sample.get("frames", []))
    return refs + (f" ({sample['case']})" if sample.get("case") else "")


def _figure(figure: dict[str, Any]) -> dict[str, Any]:
    samples = figure.get("samples", [])
    declared = figure.get("declared_s")
    svg = distribution_svg([s["ms"] for s in samples], None if declared is None else declared * 1000,
                           median_ms=figure.get("median_ms"), p95_ms=figure.get("p95_ms"),
                           title=f"{figure['title']}: response-time distribution")
    return {"title": figure["title"], "count": figure["count"],
            "stats": [_ms(figure.get(f"{k}_ms")) for k in ("min", "median", "p95", "max")],
            "declared": "–" if declared is None else f"{declared:g} s", "verdict": figure["verdict"],
            "reason": figure["reason"], "a4_row": figure["a4_row"], "note": figure.get("note"),
            "evidence": [(name, _ms(sample.get("ms")), _frames(sample))
                         for name, sample in (figure.get("extremes") or {}).items()],
            "svg": svg,  # drawn by plot.py, which escapes the title it writes into it
            "in_words": in_words(figure),
            "samples": [{"ms": _ms(s["ms"]), "action": s["action"], "frames": _frames(s), "cp": s.get("cp") or "",
                         "note": s.get("note") or ""} for s in samples],
            "incomplete": [{"action": i["action"], "frames": _frames(i), "waited": _ms(i["waited_ms"]),
                            "reason": i["reason"]} for i in figure.get("incomplete", [])]}


def _duration(ms: float) -> str:
    return f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.0f} ms" if ms >= 10 else f"{ms:.1f} ms"


def in_words(figure: dict[str, Any]) -> str:
    """What the plot shows, for a reader who does not read percentiles: a vendor, a lab manager."""
    count, declared = figure.get("count") or 0, figure.get("declared_s")
    if not count:
        return f"Nothing of this kind was measured: {figure.get('reason') or 'no sample in the capture'}."
    median, p95, slowest = (figure.get(f"{k}_ms") for k in ("median", "p95", "max"))
    if median is None or p95 is None or slowest is None:
        return f"{count} measured."
    text = (f"Of {count} measured, half took {_duration(median)} or less, 95 in 100 took {_duration(p95)} or "
            f"less, and the slowest {_duration(slowest)}.")
    if declared is None:
        return text + " The PICS declares no value for it, so it is shown, not judged."
    verdict = str(figure.get("verdict"))
    outcome = {WITHIN: "every one was within it", EXCEEDED: "it was exceeded"}.get(verdict, verdict)
    return text + f" The vendor declares {declared:g} s in the PICS (dashed line): {outcome}."


def _link(link: dict[str, Any]) -> dict[str, Any]:
    checks = ([link["technology"]] if link.get("technology") else []) + link.get("generations", [])
    rows = []
    for c in checks:
        judged = {j["parameter"]: j["result"] for j in c["judgments"]}
        signal = c.get("signal") or {}
        latency = c.get("figures") or {}
        measured = {
            "bandwidth": "–" if c.get("bandwidth_kB_s") is None else f"{c['bandwidth_kB_s']:.2f} kB/s",
            "latency": "–" if c.get("latency_ms") is None
            else f"{c['latency_ms']:.1f} ms (max {latency.get('latency_max_ms', 0):.1f})",
            "rssi": "–" if signal.get("rssi_dbm") is None
            else f"{signal['rssi_dbm']:g} dBm" + (f", CSQ {signal['csq']}" if signal.get("csq") is not None else "")}
        rows.append({"name": c["name"], "setting": c.get("setting") or "", "serving": c.get("serving") or "",
                     "cells": [(text, judged.get(name)) for name, text in measured.items()],
                     "result": c["result"], "note": c.get("error") or c.get("note") or ""})
    limits = link["limits"]
    return {"advice": link["advice"], "rows": rows, "notes": link.get("notes", []),
            "restored_to": link.get("restored_to") or "unknown",
            "limits": {"bandwidth": f"{limits['bandwidth_kB_s_min']:g}", "latency": f"{limits['latency_ms_max']:g}",
                       "rssi": f"{limits['rssi_dbm_min']:g}", "csq": limits["csq_min"]}}


def write_perf(perf: dict[str, Any], out: Path) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out / PERF_JSON, out / PERF_HTML
    json_path.write_text(json.dumps(perf, indent=2) + "\n", encoding="utf-8")
    html_path.write_text(perf_page(perf), encoding="utf-8", errors="backslashreplace")
    return {"json": json_path, "html": html_path}
