"""The response-time distribution of one figure as inline SVG: a histogram, every sample as a tick under it,
the median and p95 marked, and the vendor's declared value as a line. Plain markup, no script, no library,
so perf.html and report.html stay single files."""

from __future__ import annotations

import math
from html import escape

WIDTH, HEIGHT = 560, 150
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 34
MAX_BINS = 24


def _nice_step(span: float, ticks: int = 5) -> float:
    raw = span / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _label(ms: float) -> str:
    return f"{ms / 1000:g} s" if ms >= 1000 else f"{ms:g} ms"


def distribution_svg(samples_ms: list[float], declared_ms: float | None = None, *, median_ms: float | None = None,
                     p95_ms: float | None = None, title: str = "") -> str:
    """An SVG element; with no samples, a frame saying so (a figure that was not measured stays visible)."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="perf-plot" width="{WIDTH}" height="{HEIGHT}" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title, quote=True)}">'
            f"<title>{escape(title)}</title>")
    if not samples_ms:
        return (head + f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#bbb"/>'
                f'<text x="{LEFT + plot_w / 2}" y="{TOP + plot_h / 2}" text-anchor="middle" fill="#b3261e">'
                "not measured</text></svg>")
    # the axis spans the samples; a declared value far beyond them is marked at the edge, not drawn to scale,
    # or the whole distribution would shrink into the first bin
    top = max(samples_ms) * 1.05 or 1.0
    off_scale = declared_ms is not None and declared_ms > top * 1.5
    if declared_ms is not None and not off_scale:
        top = max(top, declared_ms * 1.05)
    step = _nice_step(top)
    top = math.ceil(top / step) * step
    x = lambda ms: LEFT + plot_w * ms / top  # noqa: E731
    bins = min(MAX_BINS, max(1, len(samples_ms)))
    width = top / bins
    counts = [0] * bins
    for ms in samples_ms:
        counts[min(bins - 1, int(ms / width))] += 1
    highest = max(counts)
    parts = [head, f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" stroke="#333"/>']
    for n, count in enumerate(counts):
        if count:
            h = (plot_h - 10) * count / highest
            parts.append(f'<rect x="{x(n * width) + 0.5:.1f}" y="{TOP + plot_h - h:.1f}" '
                         f'width="{max(1.0, x(width) - LEFT - 1):.1f}" height="{h:.1f}" fill="#7aa7d9">'
                         f"<title>{count} between {_label(round(n * width, 3))} and "
                         f"{_label(round((n + 1) * width, 3))}</title></rect>")
    for ms in samples_ms:  # the rug: each sample, so a lone outlier is never hidden in a bin
        parts.append(f'<line x1="{x(ms):.1f}" y1="{TOP + plot_h + 1}" x2="{x(ms):.1f}" y2="{TOP + plot_h + 6}" '
                     'stroke="#1d1d1d" stroke-width="0.8"/>')
    tick = 0.0
    while tick <= top + step / 1000:
        parts.append(f'<line x1="{x(tick):.1f}" y1="{TOP + plot_h}" x2="{x(tick):.1f}" y2="{TOP + plot_h + 9}" '
                     'stroke="#999"/>'
                     f'<text x="{x(tick):.1f}" y="{HEIGHT - 8}" font-size="10" text-anchor="middle">'
                     f"{escape(_label(round(tick, 6)))}</text>")
        tick += step
    if off_scale:
        assert declared_ms is not None
        parts.append(f'<text x="{WIDTH - RIGHT}" y="{TOP + 31}" font-size="10" text-anchor="end" fill="#b3261e">'
                     f"declared {escape(_label(round(declared_ms, 3)))} \u2192</text>")
    for row, (value, name, colour) in enumerate(((median_ms, "median", "#1b7f3b"), (p95_ms, "p95", "#9a6b00"),
                                                 (None if off_scale else declared_ms, "declared", "#b3261e"))):
        if value is None:
            continue
        dash = ' stroke-dasharray="4 3"' if name == "declared" else ""
        parts.append(f'<line x1="{x(value):.1f}" y1="{TOP}" x2="{x(value):.1f}" y2="{TOP + plot_h}" '
                     f'stroke="{colour}" stroke-width="1.5"{dash}><title>{name} {_label(round(value, 3))}</title>'
                     f'</line><text x="{min(x(value) + 3, WIDTH - 40):.1f}" y="{TOP + 9 + 11 * row}" '
                     f'font-size="10" fill="{colour}">{name}</text>')
    parts.append(f'<text x="4" y="{TOP + 9}" font-size="10">n={len(samples_ms)}</text></svg>')
    return "".join(parts)
