"""`benchctl octt`: drive the official test tool unattended (run), list its cases (cases), or answer the newer
tool's SUT callbacks with the bench (callbacks)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any, AsyncIterator

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from benchctl.bench.bench import Bench
from benchctl.bench.config import BenchConfig, load_bench
from benchctl.csms.capture import Capture
from benchctl.paths import DEFAULT_BENCH, SCENARIOS
from benchctl.record.case import PASS, CaseResult
from benchctl.run.command import (
    EXIT_BUSY,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_TERMINATED,
    EXIT_USAGE,
    print_cases,
    print_run_summary,
    summary_on_stdout,
)
from benchctl.run.lock import BenchLock, hold_bench, take_bench_for
from benchctl.run.pipeline import Run, RunOutput
from benchctl.run.progress import VERDICT_STYLE
from benchctl.run.rundir import RunDir, read_results
from benchctl.run.selection import SelectionError, choose_cases, run_log
from benchctl.scenario.model import Scenario
from benchctl.terminal import print_table

from .cases_command import cmd_octt_cases
from .client import DEFAULT_TOOL_URL, OcttError
from .driver import PromptRecord
from .pace import DEFAULT_IDLE_POLL_S, DEFAULT_POLL_S
from .prompts import PROMPTS_FILE, load_prompts

if TYPE_CHECKING:
    from .companion import Companion

DEFAULT_UPSTREAM = "ws://127.0.0.1:8080/ocpp"

EPILOG = """\
examples:
  benchctl octt cases                                  the tool's cases, and which have a scenario
  benchctl octt run --bench bench_configs/rpi-lab.yaml     the plan of the bench's PICS, case by case in the tool
  benchctl octt run 003 010 --tool http://127.0.0.1:63341 --upstream ws://127.0.0.1:8080/ocpp
  benchctl octt run --callbacks-host 127.0.0.1 --callbacks-port 8099   also answer the newer tool's callbacks
  benchctl octt callbacks --bench bench_configs/rpi-lab.yaml --port 8099  only the SUT callbacks

The charger dials benchctl (the bench's dut.csms host, port and path); benchctl forwards every frame to the
tool's OCPP endpoint (--upstream) unchanged and captures it. For each case the tool runs TC_CP_V16_000_RESET,
then the case; benchctl answers the tool's prompts as benchctl/octt/prompts.yaml says (bench actions, answers
from its own evidence), and judges the same traffic itself. An unknown prompt ends its case (ERROR, with the
prompt's text). The run directory holds capture.jsonl, actions.jsonl, results.jsonl (each case with the tool's
verdict, benchctl's and a disagreement flag) and the reports. Exit status: 0 when every case passes in the tool
and benchctl agrees, 1 otherwise, 2 usage/config error, 4 bench busy, 143 on SIGTERM."""


def add_octt_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    octt = sub.add_parser("octt", help="drive the official test tool (OCTT) unattended",
                          description="Certification day: the official tool is the Central System; benchctl "
                                      "drives it over HTTP, proxies and captures the charger's traffic, does the "
                                      "physical steps and gives its own verdict.", epilog=EPILOG,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    octt_sub = octt.add_subparsers(dest="octt_command", metavar="SUBCOMMAND", required=True)

    run = octt_sub.add_parser("run", help="run the plan's cases in the tool", epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("cases", nargs="*", metavar="CASE", help="case ids (TC_003_CS, 003); default: the plan")
    _tool_arguments(run)
    run.add_argument("--upstream", default=DEFAULT_UPSTREAM,
                     help="the tool's OCPP endpoint, without the charge point id (default: %(default)s)")
    run.add_argument("--bench", type=Path, default=DEFAULT_BENCH, help="bench config (default: %(default)s)")
    run.add_argument("--pics", type=Path, help="the DUT's PICS (default: the bench's dut.pics)")
    run.add_argument("--scenarios", type=Path, default=SCENARIOS, help="scenario folder (default: %(default)s)")
    run.add_argument("-k", dest="keyword", help="only cases whose id or title contains this text")
    run.add_argument("--group", help="only cases of this group of the test case document")
    run.add_argument("--runs", type=Path, default=Path("runs"), help="where run directories go (default: ./runs)")
    run.add_argument("--poll-interval", type=float, default=DEFAULT_POLL_S, metavar="S",
                     help="the prompt poll's quick pace, right after a prompt or a frame (default: %(default)s s)")
    run.add_argument("--idle-poll-interval", type=float, default=DEFAULT_IDLE_POLL_S, metavar="S",
                     help="the pace the prompt poll backs off to while nothing happens (default: %(default)s s)")
    run.add_argument("--run-timeout", type=float, default=3600.0, metavar="S",
                     help="longest a case may run in the tool (default: %(default)s s)")
    run.add_argument("--prompts", type=Path, default=PROMPTS_FILE, help="prompt data (default: the built-in)")
    run.add_argument("--callbacks-host", metavar="HOST",
                     help="also serve the newer tool's SUT callbacks on this host (e.g. 127.0.0.1)")
    run.add_argument("--callbacks-port", type=int, default=0, help="port of the SUT callbacks (default: any)")
    run.add_argument("--sim-fault", action="append", default=[], metavar="FAULT",
                     help="switch on a named fault of the simulated charger (repeatable)")
    run.add_argument("--list", action="store_true", help="list the cases that would run and exit")
    run.add_argument("--json", action="store_true",
                     help="with --list: the cases as JSON; else the progress goes to stderr and the run's summary "
                          "(both verdicts of each case in its results) is JSON on stdout")
    run.set_defaults(func=cmd_octt_run)

    cases = octt_sub.add_parser("cases", help="list the tool's cases and the scenario each maps to")
    _tool_arguments(cases)
    cases.add_argument("--scenarios", type=Path, default=SCENARIOS, help="scenario folder (default: %(default)s)")
    cases.add_argument("--json", action="store_true", help="print the cases as JSON instead of a table")
    cases.set_defaults(func=cmd_octt_cases)

    callbacks = octt_sub.add_parser("callbacks", help="answer the newer tool's SUT callbacks with the bench",
                                    description="Serve /plugin, /plugout, /start, /stop and /reset?connector_id=N "
                                                "with bench actions until stopped (Ctrl-C).")
    callbacks.add_argument("--bench", type=Path, default=DEFAULT_BENCH, help="bench config (default: %(default)s)")
    callbacks.add_argument("--host", default="127.0.0.1", help="listen address (default: %(default)s)")
    callbacks.add_argument("--port", type=int, default=0, help="listen port (default: any free one)")
    callbacks.add_argument("--upstream", help="the tool's OCPP endpoint: the charger dials benchctl's proxy, which "
                                              "dials it (needed for a simulated bench)")
    callbacks.add_argument("--prompts", type=Path, default=PROMPTS_FILE, help="prompt and callback data")
    callbacks.set_defaults(func=cmd_octt_callbacks)


def _tool_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tool", default=DEFAULT_TOOL_URL,
                        help="the tool's HTTP API (default: %(default)s)")


# ---------------------------------------------------------------------------------------------------- run
def cmd_octt_run(args: argparse.Namespace, console: Console) -> int:
    from .companion import CompanionSettings

    book = load_prompts(args.prompts)
    try:
        selection = choose_cases(load_bench(args.bench), args.scenarios, args.cases, args.keyword, args.group,
                                 args.pics, args.sim_fault, 0)
    except SelectionError as exc:
        console.print(f"[red]{escape(str(exc))}[/]")
        return EXIT_USAGE
    config, scenarios = selection.config, selection.scenarios
    if args.list:
        print_cases(console, config, scenarios, args.json)
        return EXIT_OK
    console, summary_out = summary_on_stdout(console, args.json)
    settings = CompanionSettings(args.tool, args.upstream, poll_s=args.poll_interval,
                                 idle_poll_s=args.idle_poll_interval, run_timeout_s=args.run_timeout,
                                 callbacks_host=args.callbacks_host, callbacks_port=args.callbacks_port)
    lock = take_bench_for(config, f"benchctl octt run on {config.file}", console)
    if lock is None:
        return EXIT_BUSY
    try:
        run_dir = RunDir.create(args.runs, config.name)
        meta = {**selection.meta, "cases": [s.id for s in scenarios]}
        console.print(f"bench [bold]{escape(config.name)}[/] · tool {escape(args.tool)} · {len(scenarios)} case(s) "
                      f"· run directory {escape(str(run_dir.path))}")
        with run_log(run_dir.path):
            status = _run(console, config, scenarios, run_dir, settings, book, meta, lock)
    finally:
        lock.release()
    print_run_summary(summary_out, run_dir.path, status)
    return status


def _run(console: Console, config: BenchConfig, scenarios: list, run_dir: RunDir, settings: Any, book: Any,
         meta: dict[str, Any], lock: BenchLock) -> int:
    from .companion import Companion

    def prompted(record: PromptRecord) -> None:
        answer = "[green]Yes[/]" if record.answer else "[red]No[/]"
        what = record.rule or f"[red]unknown prompt[/] {escape(repr(record.text))}"
        action = f" then {record.action}" if record.action else ""
        console.print(f"  {record.case}: {what} -> {answer}{escape(action)}  {escape(record.reason)}")

    async def main() -> None:
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        companion = Companion(config, settings, book)
        companion.on_prompt = prompted
        run = Run(config, run_dir, companion, [s.id for s in scenarios], [CompanionProgress(console, companion)],
                  meta)
        async with hold_bench(lock):
            await run.execute(scenarios)

    try:
        asyncio.run(main())
    except asyncio.CancelledError:
        _reports(console, run_dir.path)
        console.print("[yellow]stopped by SIGTERM; the bench was put in its safe state[/]")
        return EXIT_TERMINATED
    except OcttError as exc:
        console.print(f"[red]the tool: {escape(str(exc))}[/]")
        _reports(console, run_dir.path)
        return EXIT_FAILED
    results = read_results(run_dir.path)
    print_summary(console, results)
    _reports(console, run_dir.path)
    ok = results and all(r.get("verdict") == PASS and not (r.get("octt") or {}).get("disagreement")
                         for r in results)
    return EXIT_OK if ok else EXIT_FAILED


class CompanionProgress(RunOutput):
    """Each case as the companion run goes: the tool's case it drives, then both verdicts."""

    def __init__(self, console: Console, companion: "Companion") -> None:
        self.console = console
        self.companion = companion

    def on_case(self, n: int, scenario: Scenario, result: CaseResult | None) -> None:
        if result is None:
            callbacks = self.companion.callbacks
            if n == 1 and callbacks is not None:
                self.console.print(f"SUT callbacks on {escape(callbacks.url)}")
            total = len(self.companion.run.meta["cases"])
            self.console.print(f"[bold]{n}/{total} {scenario.id}[/] ({self.companion.book.tool_case(scenario.id)})")
            return
        style = VERDICT_STYLE.get(result.verdict, "")
        octt = getattr(result, "octt", None) or {}  # a CompanionResult
        flag = " [red bold]DISAGREEMENT[/]" if octt.get("disagreement") else ""
        self.console.print(f"  -> [{style}]{result.verdict}[/]{flag} {escape(result.reason)}")


def print_summary(console: Console, results: list[dict[str, Any]]) -> None:
    table = Table(title="Results (the tool's verdict beside benchctl's)")
    for column in ("case", "tool case", "verdict", "tool", "benchctl", "agree", "reason"):
        table.add_column(column)
    for r in results:
        octt = r.get("octt") or {}
        style = VERDICT_STYLE.get(str(r.get("verdict")), "")
        agree = "[red bold]NO[/]" if octt.get("disagreement") else "yes"
        table.add_row(str(r.get("id")), str(octt.get("tool_case") or ""), f"[{style}]{r.get('verdict')}[/]",
                      str(octt.get("tool_result") or "-"), str(octt.get("benchctl_verdict") or "-"), agree,
                      escape(str(r.get("reason") or "")))
    print_table(console, table)


def _reports(console: Console, run_dir: Path) -> None:
    from benchctl.report import write_reports

    written = write_reports(run_dir)
    console.print("reports: " + escape(", ".join(str(p) for p in written.values())))


# ---------------------------------------------------------------------------------------------------- callbacks
def cmd_octt_callbacks(args: argparse.Namespace, console: Console) -> int:
    from .callbacks import SutCallbackServer

    book = load_prompts(args.prompts)
    config = load_bench(args.bench)
    if config.simulator is not None and not args.upstream:
        console.print(f"[red]{escape(config.file)} is a simulated bench: its charger needs a Central System to "
                      f"dial; give the tool's OCPP endpoint with --upstream[/]")
        return EXIT_USAGE

    async def serve() -> None:
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        async with _bench_for_callbacks(config, args.upstream) as bench:
            bench.steplog.listeners.append(lambda step: console.print(
                f"{escape(step.role)}.{escape(step.command)} {escape(str(step.args))} -> "
                + (f"[red]{escape(step.error)}[/]" if step.error else escape(str(step.result)))))
            server = SutCallbackServer(bench, book, host=args.host, port=args.port)
            await server.start()
            try:
                console.print(f"SUT callbacks on {escape(server.url)} ({', '.join(book.callbacks)}); Ctrl-C stops")
                await asyncio.Event().wait()
            finally:
                await server.stop()

    with contextlib.suppress(asyncio.CancelledError):
        asyncio.run(serve())
    return EXIT_OK


@contextlib.asynccontextmanager
async def _bench_for_callbacks(config: BenchConfig, upstream: str | None) -> AsyncIterator[Bench]:
    if upstream:
        from benchctl.proxy.bench import open_proxied_bench

        async with open_proxied_bench(config, Capture(None), upstream) as session:
            yield session.bench
        return
    bench = Bench.build(config)
    try:
        await bench.connect()
        yield bench
    finally:
        await bench.safe_state()
        await bench.close()
