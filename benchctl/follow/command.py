"""`benchctl follow`: the plan's cases judged by benchctl while the official tool, driven by its operator, runs
them as the Central System; benchctl sits between the charger and the tool as a proxy and does the bench's
physical steps."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Callable

from rich.console import Console
from rich.markup import escape

from benchctl.bench.config import load_bench
from benchctl.paths import DEFAULT_BENCH, SCENARIOS
from benchctl.record.case import CaseResult
from benchctl.run.command import (
    EXIT_BUSY,
    EXIT_OK,
    EXIT_USAGE,
    _exit_status,
    _print_summary,
    _write_reports,
    print_cases,
    print_run_summary,
    summary_on_stdout,
)
from benchctl.run.lock import take_bench_for
from benchctl.run.pipeline import CaseCallback
from benchctl.run.progress import VERDICT_STYLE
from benchctl.run.rundir import RunDir, read_results
from benchctl.run.selection import SelectionError, choose_cases, run_log
from benchctl.scenario.model import Scenario

from .cue import KeypressCue, tool_case_name
from .observer import first_step

FOLLOW_EPILOG = """\
examples:
  benchctl follow --upstream ws://octt-pc:8080/ocpp --bench bench_configs/rpi-lab.yaml
  benchctl follow 003 010 --upstream ws://127.0.0.1:8080/ocpp --each-action

The charger must dial benchctl (the bench config's dut.csms host, port and path); benchctl dials the tool at
--upstream/<chargePointId>. For each case of the plan (or the cases named) benchctl says what it waits for:
  - a case whose first step is the tool's request (TC_010_CS: GetConfiguration) starts when the tool sends it;
  - a case that starts with a physical step (TC_003_CS: plug in) starts when you press Enter, after starting
    it in the tool and answering its prompts up to that step with 'Yes'.
benchctl does each physical step as soon as the steps before it have been seen on the wire. The tool expects
'Yes' on its "First resume the test case by clicking 'Yes' and ..." prompts BEFORE the action happens: with
--each-action benchctl waits for Enter before every physical step (click 'Yes', then press Enter).
After each case, once the tool has finished it, press Enter: benchctl puts its gear back to idle (cable out, no
card) so the tool's reset case finds the connector free.
The run directory is the one `benchctl run` writes (capture.jsonl, actions.jsonl, results.jsonl, reports);
the verdicts are benchctl's own, judged on the observed traffic. Exit status as for `benchctl run`."""


def add_follow_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("follow", help="judge the cases the official tool runs, doing the bench's physical steps",
                       description="Proxy the charger to the tool (--upstream) and follow the plan's cases as the "
                                   "operator runs them in the tool: benchctl does the physical steps and gives its "
                                   "own verdict on the observed traffic.",
                       epilog=FOLLOW_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("cases", nargs="*", metavar="CASE", help="case ids (TC_003_CS, 003, 3); default: the plan")
    p.add_argument("--upstream", metavar="URL", help="the tool's OCPP endpoint without the charge point id "
                                                     "(ws:// or wss://); required unless --list")
    p.add_argument("--bench", type=Path, default=DEFAULT_BENCH, help="bench config (default: %(default)s)")
    p.add_argument("--scenarios", type=Path, default=SCENARIOS, help="scenario folder (default: %(default)s)")
    p.add_argument("--pics", type=Path, help="the DUT's PICS file: its plan decides the cases (default: the bench's "
                                            "dut.pics)")
    p.add_argument("--all", dest="include_uncertified", action="store_true",
                   help="the plan also takes the cases Appendix C does not list")
    p.add_argument("--list", action="store_true", help="list the cases that would be followed and exit")
    p.add_argument("--json", action="store_true",
                   help="with --list: the cases as JSON; else the operator's prompts go to stderr and the run's "
                        "summary is JSON on stdout")
    p.add_argument("--runs", type=Path, default=Path("runs"), help="where run directories go (default: ./runs)")
    p.add_argument("--each-action", action="store_true",
                   help="wait for Enter before every physical step (after clicking 'Yes' on the tool's prompt)")
    p.add_argument("--tool-timeout", type=float, default=120.0, metavar="S",
                   help="how long the tool may take to send a request the case expects, e.g. while it waits on a "
                        "prompt (default: %(default)s)")
    p.add_argument("--start-timeout", type=float, default=None, metavar="S",
                   help="how long to wait for the tool's first request of a case that starts with one "
                        "(default: no limit)")
    p.add_argument("--sim-fault", action="append", default=[], metavar="FAULT",
                   help="switch on a named fault of the simulated charger (sim bench only; see `benchctl faults`)")
    p.add_argument("--cafile", type=Path, help="CA certificate(s) the wss:// upstream's certificate must chain to")
    p.add_argument("--insecure", action="store_true", help="do not verify the wss:// upstream's certificate")
    p.add_argument("--certfile", type=Path, help="client certificate for the upstream (security profile 3)")
    p.add_argument("--keyfile", type=Path, help="its private key (when not in --certfile)")
    p.set_defaults(func=cmd_follow)


def announce(console: Console, total: int) -> Callable[[int, Scenario, CaseResult | None], None]:
    def on_case(n: int, scenario: Scenario, result: CaseResult | None) -> None:
        if result is None:
            first = first_step(scenario)
            where = f"[{n}/{total}] {scenario.id} ({tool_case_name(scenario.id)})"
            if first is not None and first.kind == "send":
                console.print(escape(f"{where}: start it in the tool; benchctl follows from its "
                                     f"{first.data['send']}.req"))
            else:
                console.print(escape(f"{where}: benchctl waits for your Enter to start"))
            return
        style = VERDICT_STYLE.get(result.verdict, "")
        step = "" if result.step is None else f" at step {result.step}"
        console.print(f"[{n}/{total}] {escape(scenario.id)}: [{style}]{result.verdict}[/]{escape(step)}"
                      + (f" — {escape(result.reason)}" if result.reason else ""))
    return on_case


def cmd_follow(args: argparse.Namespace, console: Console) -> int:
    from benchctl.proxy.command import upstream_tls

    try:
        selection = choose_cases(load_bench(args.bench), args.scenarios, args.cases, None, None, args.pics,
                                 args.sim_fault, 0, args.include_uncertified)
    except SelectionError as exc:
        console.print(f"[red]{escape(str(exc))}[/]")
        return EXIT_USAGE
    config, scenarios = selection.config, selection.scenarios
    if args.list:
        print_cases(console, config, scenarios, args.json)
        return EXIT_OK
    console, summary_out = summary_on_stdout(console, args.json)
    if not args.upstream or not args.upstream.lower().startswith(("ws://", "wss://")):
        console.print("[red]--upstream: the tool's OCPP endpoint, a ws:// or wss:// URL, is needed[/]")
        return EXIT_USAGE
    try:
        tls = upstream_tls(args)
    except ValueError as exc:
        console.print(f"[red]{escape(str(exc))}[/]")
        return EXIT_USAGE
    lock = take_bench_for(config, f"benchctl follow on {config.file}", console)
    if lock is None:
        return EXIT_BUSY
    try:
        run_dir = RunDir.create(args.runs, config.name)
        console.print(f"bench [bold]{escape(config.name)}[/] · {len(scenarios)} case(s) · the charger dials the "
                      f"proxy, the proxy dials {escape(args.upstream)} · run directory {escape(str(run_dir.path))}")
        cue = KeypressCue(lambda text: console.print(escape(text)), sys.stdin, each_action=args.each_action)
        with run_log(run_dir.path):
            from .run import follow_cases

            asyncio.run(follow_cases(config, scenarios, run_dir, args.upstream, cue=cue,
                                     outputs=[CaseCallback(announce(console, len(scenarios)))],
                                     tool_timeout_s=args.tool_timeout,
                                     start_timeout_s=args.start_timeout, upstream_tls=tls,
                                     extra_meta=selection.meta))
    finally:
        lock.release()
    results = read_results(run_dir.path)
    _print_summary(console, results)
    _write_reports(console, run_dir.path)
    console.print(f"run directory: {escape(str(run_dir.path))}")
    status = _exit_status(results)
    print_run_summary(summary_out, run_dir.path, status)
    return status
