"""The distribution plot: well-formed SVG, every sample drawn, the declared value on scale or marked off it."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from benchctl.report.plot import distribution_svg

NS = "{http://www.w3.org/2000/svg}"


def test_samples_bins_and_a_declared_value_on_scale() -> None:
    samples = [100.0, 120.0, 130.0, 400.0, 900.0]
    root = ET.fromstring(distribution_svg(samples, 1000.0, median_ms=130.0, p95_ms=900.0, title="<fig> & co"))
    assert root.find(f"{NS}title").text == "<fig> & co"  # escaped on the way in, intact on the way out
    bars = root.findall(f"{NS}rect")
    assert sum(int(b.find(f"{NS}title").text.split()[0]) for b in bars) == len(samples)
    markers = {line.find(f"{NS}title").text.split()[0] for line in root.findall(f"{NS}line")
               if line.find(f"{NS}title") is not None}
    assert markers == {"median", "p95", "declared"}
    rug = [line for line in root.findall(f"{NS}line") if line.get("stroke-width") == "0.8"]
    assert len(rug) == len(samples)


def test_a_declared_value_far_above_the_samples_is_marked_at_the_edge() -> None:
    root = ET.fromstring(distribution_svg([0.4, 0.6, 2.2], 1000.0, median_ms=0.6, p95_ms=2.2))
    texts = [t.text for t in root.iter(f"{NS}text")]
    assert "declared 1 s \u2192" in texts
    assert not any(line.find(f"{NS}title") is not None and line.find(f"{NS}title").text.startswith("declared")
                   for line in root.findall(f"{NS}line"))
    # the samples keep the width of the plot: the largest lies near the right end, not squeezed at the left
    rug = [float(line.get("x1")) for line in root.findall(f"{NS}line") if line.get("stroke-width") == "0.8"]
    assert max(rug) > 400


def test_no_samples_says_not_measured() -> None:
    root = ET.fromstring(distribution_svg([], 1000.0, title="empty"))
    assert [t.text for t in root.iter(f"{NS}text")] == ["not measured"]
