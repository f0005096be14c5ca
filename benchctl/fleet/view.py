"""`benchctl fleet`: benches and jobs as the broker holds them, printed once (a table, or JSON)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from benchctl.terminal import print_table

from .jobs import OFFLINE
from .ledger import CLAIMING, DONE, INVALID, LOST, QUEUED, RUNNING, JobState, Ledger


def _ago(then: float | None, now: float) -> str:
    if not then:
        return "never"
    seconds = max(0, int(now - then))
    if seconds < 120:
        span = f"{seconds} s"
    elif seconds < 7200:
        span = f"{seconds // 60} min"
    else:
        span = f"{seconds // 3600} h"
    return f"{span} ago ({datetime.fromtimestamp(then).strftime('%H:%M:%S')})"


def last_seen(ledger: Ledger, name: str) -> float | None:
    status = ledger.statuses.get(name)
    stamps = [ledger.seen.get(name)] + ([status.data.get("at")] if status else [])
    values = [float(s) for s in stamps if isinstance(s, (int, float))]
    return max(values) if values else None


def progress_text(ledger: Ledger, bench: str, job: str) -> str:
    p = ledger.progress.get(bench) or {}
    if p.get("job") != job or not p.get("case"):
        return ""
    step = f", {p['step']}" if p.get("step") else ""
    return f"case {p.get('n')} of {p.get('total')}: {p.get('case')}{step}, {float(p.get('elapsed_s') or 0):.0f} s in"


def describe(ledger: Ledger, state: JobState) -> str:
    """One line on where a job is."""
    holder = state.holder
    if state.state == QUEUED:
        parts = ["queued" + (f" (attempt {state.attempt})" if state.attempt > 1 else "")]
        if state.note:
            parts.append(state.note)
        if state.spec is not None and not ledger.benches_meeting(state.spec.requires):
            needs = f" has {', '.join(state.spec.requires)}" if state.spec.requires else " is online"
            parts.append(f"no online bench{needs}")
        return "; ".join(parts)
    if state.state == CLAIMING:
        return "being claimed by " + ", ".join(b for b, _ in state.candidates)
    if state.state == RUNNING and holder is not None:
        progress = progress_text(ledger, holder.bench, state.job)
        return f"running on {holder.bench} (attempt {state.attempt})" + (f": {progress}" if progress else "")
    if state.state == DONE and holder is not None:
        counts = holder.data.get("counts") or {}
        verdicts = ", ".join(f"{n} {v}" for v, n in sorted(counts.items())) or "no results"
        reason = f"; {holder.data['reason']}" if holder.data.get("reason") else ""
        return f"done on {holder.bench}: {verdicts}, exit {holder.data.get('exit_status')}{reason}"
    if state.state == LOST:
        where = f" on {holder.bench}" if holder is not None else ""
        return f"lost{where}: {state.note or 'its bench died during the run'}"
    if state.state == INVALID:
        return f"invalid: {state.note}"
    return state.state


def as_json(ledger: Ledger, now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    benches = []
    for name in sorted(ledger.statuses):
        s = ledger.statuses[name]
        benches.append({"name": name, "tags": list(s.tags), "status": s.state, "session": s.session,
                        "job": s.data.get("job"), "last_seen": last_seen(ledger, name), "host": s.data.get("host"),
                        "reason": s.data.get("reason"), "note": s.data.get("note"),
                        "progress": ledger.progress.get(name) if s.data.get("job") else None})
    jobs = []
    for job in ledger.job_ids():
        state = ledger.state(job)
        holder = state.holder
        jobs.append({"id": job, "state": state.state, "attempt": state.attempt, "text": describe(ledger, state),
                     "bench": holder.bench if holder else None,
                     "selection": state.spec.selection() if state.spec else None,
                     "requires": state.spec.requires if state.spec else [],
                     "submitted_at": state.spec.submitted_at if state.spec else None,
                     "submitted_by": state.spec.submitted_by if state.spec else None,
                     "exit_status": holder.data.get("exit_status") if holder and state.state == DONE else None,
                     "counts": holder.data.get("counts") if holder and state.state == DONE else None,
                     "run_dir": holder.data.get("run_dir") if holder else None,
                     "reports": holder.data.get("reports") if holder and state.state == DONE else None})
    return {"benches": benches, "jobs": jobs}


def print_fleet(ledger: Ledger, console: Console, broker: str, now: float | None = None) -> None:
    now = time.time() if now is None else now
    benches = Table(title=escape(f"benches on {broker}"))
    for column in ("bench", "tags", "status", "job", "last seen", "host"):
        benches.add_column(column, no_wrap=column != "job")
    for name in sorted(ledger.statuses):
        s = ledger.statuses[name]
        status = s.state if s.state != OFFLINE else "[red]offline[/]"
        if s.state == OFFLINE and s.data.get("reason"):
            status += escape(f" ({s.data['reason']})")
        elif s.data.get("note"):
            status += escape(f" ({s.data['note']})")
        job = ""
        if s.online and s.data.get("job"):
            progress = progress_text(ledger, name, str(s.data["job"]))
            job = escape(str(s.data["job"]) + (f": {progress}" if progress else ""))
        benches.add_row(escape(name), escape(", ".join(s.tags)), status, job, _ago(last_seen(ledger, name), now),
                        escape(str(s.data.get("host") or "")))
    if ledger.statuses:
        print_table(console, benches)
    else:
        console.print("no bench has ever announced itself on this broker")
    jobs = Table(title="jobs")
    for column in ("job", "submitted", "selection", "needs", "state"):
        jobs.add_column(column, no_wrap=column in ("job", "submitted"))
    for job in ledger.job_ids():
        state = ledger.state(job)
        spec = state.spec
        submitted = datetime.fromtimestamp(spec.submitted_at).strftime("%m-%d %H:%M:%S") if spec else ""
        style = {DONE: "green" if state.holder and state.holder.data.get("exit_status") == 0 else "red",
                 LOST: "red", INVALID: "red", RUNNING: "cyan"}.get(state.state, "")
        text = escape(describe(ledger, state))
        jobs.add_row(escape(job), submitted, escape(spec.selection() if spec else ""),
                     escape(", ".join(spec.requires) if spec else ""), f"[{style}]{text}[/]" if style else text)
    if ledger.job_ids():
        print_table(console, jobs)
    else:
        console.print("no jobs")
