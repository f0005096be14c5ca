"""The Appendix A.4 figures of a whole capture, each with its evidence and compared with the PICS.

For every figure a4.yaml defines (and every triggered-function pair): the samples (each citing its capture
indices and case), count / min / median / p95 / max, the sample each of those came from, the exchanges that
never completed, and a verdict against the vendor's declared value: within, exceeded, not declared, or not
measured with the reason. Chapter 8.1.3's only acceptance criterion is that every PICS parameter is measured,
so a figure without samples is always reported, never left out.

Percentiles are nearest-rank: each one is a sample that happened and cites its frames (so with fewer than 20
samples the p95 is the maximum, and the median of an even count is the lower middle sample).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable

from benchctl.config.pics import PerformancePics

from .a4 import A4, FigureSpec, TriggeredPair, a4
from .timings import TO_CHARGER, TO_CSMS, Exchange, Fulfilment, OcppFrame, exchanges, frames_of, fulfilments

WITHIN, EXCEEDED, NOT_DECLARED, NOT_MEASURED = "within", "exceeded", "not declared", "not measured"
STATISTICS = ("min", "median", "p95", "max")


@dataclass(frozen=True)
class Sample:
    ms: float
    frames: tuple[int, ...]  # request, answer[, promised message]
    case: str | None
    cp: str | None
    action: str  # the request timed
    note: str = ""  # "CALLERROR", "sent before the answer"

    def as_record(self) -> dict[str, Any]:
        return {"ms": round(self.ms, 3), "frames": list(self.frames), "case": self.case, "cp": self.cp,
                "action": self.action, "note": self.note}


@dataclass(frozen=True)
class Incomplete:
    """An exchange that started but whose end the capture does not hold."""

    frames: tuple[int, ...]
    case: str | None
    cp: str | None
    action: str
    waited_ms: float  # until the last frame the search looked at
    reason: str

    def as_record(self) -> dict[str, Any]:
        return {"frames": list(self.frames), "case": self.case, "cp": self.cp, "action": self.action,
                "waited_ms": round(self.waited_ms, 3), "reason": self.reason}


def nearest_rank(ordered: list[Sample], q: float) -> Sample:
    """The q-quantile sample of samples sorted by time (nearest rank, 1-based ceil(q*n))."""
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


@dataclass
class Figure:
    id: str
    title: str
    a4_row: str
    pics_field: str | None
    declared_s: float | None
    samples: list[Sample]
    incomplete: list[Incomplete] = field(default_factory=list)
    why_empty: str = ""  # the reason when there are no samples
    note: str = ""
    undeclared_reason: str = ""

    def extremes(self) -> dict[str, Sample]:
        if not self.samples:
            return {}
        ordered = sorted(self.samples, key=lambda s: (s.ms, s.frames))
        return {"min": ordered[0], "median": nearest_rank(ordered, 0.5), "p95": nearest_rank(ordered, 0.95),
                "max": ordered[-1]}

    @property
    def verdict(self) -> str:
        if not self.samples:
            return NOT_MEASURED
        if self.declared_s is None:
            return NOT_DECLARED
        limit_ms = self.declared_s * 1000
        if self.extremes()["max"].ms > limit_ms or any(i.waited_ms > limit_ms for i in self.incomplete):
            return EXCEEDED
        return WITHIN

    @property
    def reason(self) -> str:
        """Why the verdict is what it is, in words."""
        verdict = self.verdict
        if verdict == NOT_MEASURED:
            return self.why_empty
        if verdict == NOT_DECLARED:
            return self.undeclared_reason
        limit_ms = self.declared_s * 1000  # type: ignore[operator]
        late = [i for i in self.incomplete if i.waited_ms > limit_ms]
        if late:
            return (f"{len(late)} not completed after waiting longer than the declared {self.declared_s:g} s "
                    f"(frames {', '.join('#' + str(i.frames[0]) for i in late)})")
        worst = self.extremes()["max"]
        word = "above" if verdict == EXCEEDED else "within"
        return f"max {worst.ms:.1f} ms {word} the declared {self.declared_s:g} s"

    def as_record(self) -> dict[str, Any]:
        extremes = self.extremes()
        record: dict[str, Any] = {
            "id": self.id, "title": self.title, "a4_row": self.a4_row, "pics_field": self.pics_field,
            "declared_s": self.declared_s, "verdict": self.verdict, "reason": self.reason, "note": self.note,
            "count": len(self.samples),
        }
        for name in STATISTICS:
            record[f"{name}_ms"] = round(extremes[name].ms, 3) if name in extremes else None
        record["extremes"] = {name: sample.as_record() for name, sample in extremes.items()}
        record["samples"] = [s.as_record() for s in self.samples]
        record["incomplete"] = [i.as_record() for i in self.incomplete]
        return record


# --- samples --------------------------------------------------------------------------------------------------

def _response_sample(e: Exchange) -> Sample:
    assert e.answer is not None and e.ms is not None
    return Sample(e.ms, (e.call.index, e.answer.index), e.call.case, e.call.cp, e.call.action or "?",
                  "CALLERROR" if e.answer.type == "CALLERROR" else "")


def _last_mono(frames: list[OcppFrame]) -> dict[str | None, float]:
    out: dict[str | None, float] = {}
    for f in frames:
        out[f.cp] = f.mono
    return out


def _response_figure(spec: FigureSpec, frames: list[OcppFrame], all_exchanges: list[Exchange]) -> Figure:
    asked = TO_CHARGER if spec.answered_by == "charger" else TO_CSMS
    chosen = [e for e in all_exchanges
              if e.call.direction == asked and (spec.action is None or e.call.action == spec.action)]
    last = _last_mono(frames)
    figure = _figure(spec, [_response_sample(e) for e in chosen if e.answer is not None])
    for e in chosen:
        if e.answer is None:
            figure.incomplete.append(Incomplete(
                (e.call.index,), e.call.case, e.call.cp, e.call.action or "?",
                (last.get(e.call.cp, e.call.mono) - e.call.mono) * 1000, "no answer in the capture"))
    who = "the charger" if spec.answered_by == "charger" else "the Central System"
    what = spec.action or "request"
    sender = "Central System" if spec.answered_by == "charger" else "charger"
    if not chosen:
        figure.why_empty = f"no {what} from the {sender} in the capture"
    elif not figure.samples:
        figure.why_empty = f"{len(chosen)} {what} from the {sender}, none answered by {who} in the capture"
    return figure


def _triggered_sample(f: Fulfilment) -> Sample:
    assert f.promised is not None and f.ms is not None
    return Sample(f.ms, (f.request.index, f.answer.index, f.promised.index), f.request.case, f.request.cp,
                  f.pair.request, "sent before the answer" if f.before_answer else "")


def _pair_figure(spec: FigureSpec, pair: TriggeredPair, all_exchanges: list[Exchange],
                 done: list[Fulfilment]) -> Figure:
    mine = [f for f in done if f.pair.request == pair.request]
    figure = _figure(spec, [_triggered_sample(f) for f in mine if f.promised is not None],
                     id_=f"{spec.id}/{pair.request}", title=f"{spec.title}: {pair.name}")
    figure.incomplete = [Incomplete((f.request.index, f.answer.index), f.request.case, f.request.cp,
                                    pair.request, f.waited_s * 1000,
                                    f"accepted, but no {pair.label} followed in its case")
                         for f in mine if f.promised is None]
    if not figure.samples:
        requests = [e for e in all_exchanges if e.call.direction == TO_CHARGER and e.call.action == pair.request]
        if not requests:
            figure.why_empty = f"no {pair.request} in the capture"
        elif not mine:
            answers = Counter(str(e.status) if e.answer is not None else "no answer" for e in requests)
            figure.why_empty = (f"{len(requests)} {pair.request}, none answered Accepted ("
                                + ", ".join(f"{n}x {status}" for status, n in sorted(answers.items())) + ")")
        else:
            figure.why_empty = f"{len(mine)} {pair.request} accepted, but no {pair.label} followed"
    return figure


def _figure(spec: FigureSpec, samples: list[Sample], id_: str | None = None, title: str | None = None) -> Figure:
    return Figure(id_ or spec.id, title or spec.title, spec.a4_row, spec.pics, None, samples, note=spec.note)


def measure_figures(records: Iterable[dict[str, Any]], performance: PerformancePics | None = None,
                    defs: A4 | None = None) -> list[Figure]:
    """Every A.4 figure of the capture records, in a4.yaml's order (a triggered figure, then one per pair)."""
    defs = defs or a4()
    frames = frames_of(records)
    all_exchanges = exchanges(frames)
    done = fulfilments(frames, defs.pairs)
    out: list[Figure] = []
    for spec in defs.figures:
        if spec.measure == "response":
            out.append(_response_figure(spec, frames, all_exchanges))
            continue
        per_pair = [_pair_figure(spec, pair, all_exchanges, done) for pair in defs.pairs]
        overall = _figure(spec, sorted((s for f in per_pair for s in f.samples), key=lambda s: s.frames))
        overall.incomplete = sorted((i for f in per_pair for i in f.incomplete), key=lambda i: i.frames)
        if not overall.samples:
            overall.why_empty = "none of the pairs was measured: " + "; ".join(f.why_empty for f in per_pair)
        out.append(overall)
        if spec.per_pair:
            out.extend(per_pair)
    for figure in out:
        _declare(figure, performance)
    return out


def _declare(figure: Figure, performance: PerformancePics | None) -> None:
    if figure.pics_field is None:
        figure.undeclared_reason = "not a PICS value"
    elif performance is None:
        figure.undeclared_reason = "no PICS performance section (App. A.4) given"
    else:
        figure.declared_s = performance.declared_s(figure.pics_field)
        if figure.declared_s is None:
            figure.undeclared_reason = f"{performance.file} does not declare performance.{figure.pics_field}"


def acceptance(figures: list[Figure], performance: PerformancePics | None) -> dict[str, Any]:
    """8.1.3 / 8.2.4: every PICS parameter is measured (without a PICS: every A.4 parameter). The per-pair figures
    are listed apart: A.4 checks those combinations, but the parameter is one value."""
    parameters = [f for f in figures if "/" not in f.id
                  and (performance is None or (f.pics_field and performance.declared_s(f.pics_field) is not None))]
    missing = [f.id for f in parameters if not f.samples]
    return {
        "rule": "8.1.3: every performance parameter of the PICS is measured",
        "all_measured": not missing,
        "not_measured": missing,
        "pairs_not_measured": [f.id for f in figures if "/" in f.id and not f.samples],
    }


def capture_facts(records: list[dict[str, Any]]) -> dict[str, Any]:
    cases: list[str] = []
    for r in records:
        case = r.get("case")
        if case and case not in cases:
            cases.append(case)
    return {"frames": len(records), "charge_points": sorted({str(r.get("cp")) for r in records if r.get("cp")}),
            "cases": cases}
