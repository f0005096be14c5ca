"""`benchctl perf`: the chapter 8 performance figures of a capture and the lab's link checks."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from pathlib import Path
from typing import Any, AsyncIterator

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from benchctl.config.pics import PerformancePics, load_performance
from benchctl.paths import DEFAULT_BENCH
from benchctl.perf.network import ATTACH_TIMEOUT_S, SETUP_OK, LinkReport, measure_links
from benchctl.perf.record import SourceError, perf_record, run_pics_file
from benchctl.report.perf_section import write_perf
from benchctl.terminal import print_json, print_table
from drivers.dongle.link import DEFAULT_BYTES, DEFAULT_PINGS
from drivers.dongle.protocol import DongleProtocol, parse_endpoint

EXIT_OK, EXIT_NOT_MET, EXIT_USAGE, EXIT_BENCH, EXIT_BUSY = 0, 1, 2, 3, 4

PERF_EPILOG = """\
examples:
  benchctl perf runs/20261124-093200-sim                 the figures of a run (PICS from its run.json)
  benchctl perf capture.jsonl --pics my-station.yaml     a proxy capture against the vendor's declared values
  benchctl perf --link                                   link checks on the sim bench before the cases
  benchctl perf runs/X --link --bench bench_configs/rpi-lab.yaml --link-endpoint 192.0.2.10:7000

Figures (Appendix A.4): the OCPP triggered function timeout per pair and overall, the OCPP response timeout,
the response times of Authorize and RemoteStartTransaction; each with count, min, median, p95, max and the
capture frames they came from, compared with the PICS `performance:` section. --link switches the bench's
modem to 2G, 3G and 4G in turn and measures bandwidth, latency and RSSI against the 8.2.2 limits, plus the
technology the PICS names, then sets the modem back. Writes perf.json and perf.html to --out (default: the
run directory, or the capture's folder); a run directory's report.html is rewritten to include them.
Exit status: 0 when every PICS parameter was measured (and, with --link, the setup meets the limits), 1 when
not, 2 for a usage or config error, 3 when the bench could not be brought up, 4 when the bench is in use."""


def add_perf_parser(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    perf = subparsers.add_parser("perf", help="chapter 8 performance figures of a capture, and link checks",
                                 description="Measure the Appendix A.4 performance figures from a capture "
                                             "and check the lab's connection (8.2.2).",
                                 epilog=PERF_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    perf.add_argument("source", nargs="?", type=Path, metavar="SOURCE",
                      help="a run directory or a capture.jsonl (optional with --link)")
    perf.add_argument("--pics", type=Path, metavar="FILE",
                      help="PICS file with a performance: section (default: the run's PICS, from run.json)")
    perf.add_argument("--link", action="store_true", help="measure the links on the bench first")
    perf.add_argument("--json", action="store_true", help="print the figures (perf.json's content) as JSON")
    perf.add_argument("--bench", type=Path, default=DEFAULT_BENCH, help="bench config for --link "
                                                                       "(default: %(default)s)")
    perf.add_argument("--out", type=Path, metavar="DIR", help="where perf.json and perf.html go")
    perf.add_argument("--modem-role", default="modem", help="the bench role of the dongle (default: %(default)s)")
    perf.add_argument("--link-endpoint", metavar="HOST:PORT",
                      help="a link endpoint on the charger's network, for an ethernet / wifi technology")
    perf.add_argument("--link-bytes", type=int, default=DEFAULT_BYTES, help="bytes downloaded per link "
                                                                           "(default: %(default)s)")
    perf.add_argument("--link-pings", type=int, default=DEFAULT_PINGS, help="echo round trips per link "
                                                                           "(default: %(default)s)")
    perf.add_argument("--attach-timeout", type=float, default=ATTACH_TIMEOUT_S,
                      help="seconds the modem may take to serve a generation (default: %(default)s)")
    perf.set_defaults(func=cmd_perf)


def _out_dir(args: argparse.Namespace) -> Path:
    if args.out is not None:
        return args.out
    if args.source is not None:
        return args.source if args.source.is_dir() else args.source.parent
    return Path("runs") / "perf"


@contextlib.asynccontextmanager
async def _sim_lan_endpoint(session: Any, technology: str | None,
                            given: str | None) -> AsyncIterator[tuple[str | None, str]]:
    """On the simulated bench the charger reaches the Central System over loopback: an ethernet / wifi technology
    is measured against an unshaped endpoint on that host. A real bench needs --link-endpoint."""
    if given is not None or session.sim is None or technology not in ("ethernet", "wifi"):
        yield given, ""
        return
    from hil_sim.gear.link_endpoint import LinkEndpoint

    endpoint = LinkEndpoint(host=session.config.csms_host)
    await endpoint.start()
    try:
        yield endpoint.address, (f"simulated charger: its link is loopback to {session.config.csms_host}; "
                                 "measured against an unshaped endpoint there")
    finally:
        await endpoint.stop()


async def _measure_on_bench(args: argparse.Namespace, performance: PerformancePics | None) -> LinkReport:
    from benchctl.bench.config import load_bench
    from benchctl.csms.capture import Capture
    from benchctl.run.lock import BenchLock, hold_bench
    from benchctl.run.session import open_bench

    config = load_bench(args.bench)
    technology = performance.communication_technology if performance is not None else None
    async with hold_bench(BenchLock(config.name, purpose=f"benchctl perf --link on {config.file}")):
        async with open_bench(config, Capture(None)) as session:
            driver = session.bench.drivers.get(args.modem_role)
            dongle = driver if isinstance(driver, DongleProtocol) else None
            async with _sim_lan_endpoint(session, technology, args.link_endpoint) as (endpoint, note):
                report = await measure_links(dongle, technology, endpoint=endpoint, bytes_=args.link_bytes,
                                             pings=args.link_pings, attach_timeout_s=args.attach_timeout,
                                             technology_note=note)
            if driver is not None and dongle is None:
                report.notes.append(f"role '{args.modem_role}' is a {type(driver).__name__}, not a dongle")
            return report


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _print_figures(console: Console, perf: dict[str, Any]) -> None:
    table = Table(title="Appendix A.4 performance figures (ms; evidence: capture frames of the min and max)")
    for column in ("figure", "n", "min", "median", "p95", "max", "declared", "verdict", "evidence"):
        table.add_column(column, no_wrap=column not in ("figure", "verdict", "evidence"))
    colours = {"within": "green", "exceeded": "red", "not measured": "red", "not declared": "yellow"}
    for f in perf["figures"]:
        evidence = "\n".join(f"{name} " + "/".join(f"#{n}" for n in s["frames"]) + f" {s['case'] or ''}"
                             for name, s in f["extremes"].items() if name in ("min", "max"))
        if f["incomplete"]:
            evidence += f"\n{len(f['incomplete'])} not completed"
        declared = "–" if f["declared_s"] is None else f"{f['declared_s']:g} s"
        colour = colours.get(f["verdict"], "white")
        title = "  " + f["title"].split(": ", 1)[1] if "/" in f["id"] else f["title"]
        table.add_row(escape(title), str(f["count"]), *(_ms(f[f"{k}_ms"]) for k in ("min", "median", "p95",
                                                                                         "max")),
                      declared, f"[{colour}]{escape(f['verdict'])}[/]" + (
                          f"\n[dim]{escape(f['reason'])}[/]" if f["verdict"] in ("not measured", "exceeded") else ""),
                      escape(evidence))
    print_table(console, table)
    accepted = perf["acceptance"]
    if accepted["all_measured"]:
        which = "PICS performance parameter" if perf["performance"] else "A.4 parameter (no PICS to compare with)"
        console.print(f"[green]every {which} was measured (8.1.3)[/]")
    else:
        console.print(f"[red]not measured:[/] {escape(', '.join(accepted['not_measured']))}")


def _print_link(console: Console, link: dict[str, Any]) -> None:
    table = Table(title="Connection checks (8.2.2)")
    for column in ("link", "set / serving", "bandwidth kB/s", "latency ms", "RSSI dBm (CSQ)", "result", "note"):
        table.add_column(column)
    for c in ([link["technology"]] if link["technology"] else []) + link["generations"]:
        signal = c.get("signal") or {}
        rssi = "–" if signal.get("rssi_dbm") is None else f"{signal['rssi_dbm']:g} ({signal.get('csq')})"
        colour = {"met": "green", "missed": "red"}.get(c["result"], "yellow")
        table.add_row(escape(c["name"]), escape(f"{c.get('setting') or '–'} / {c.get('serving') or '–'}"),
                      "–" if c["bandwidth_kB_s"] is None else f"{c['bandwidth_kB_s']:.3f}",
                      "–" if c["latency_ms"] is None else f"{c['latency_ms']:.1f}", rssi,
                      f"[{colour}]{c['result']}[/]", escape(c.get("error") or c.get("note") or ""))
    print_table(console, table)
    colour = "green" if link["setup"] == SETUP_OK else "red"
    console.print(f"[{colour}]{escape(link['advice'])}[/]; modem set back to {escape(str(link['restored_to']))}")
    for note in link["notes"]:
        console.print(f"[yellow]{escape(note)}[/]")


def cmd_perf(args: argparse.Namespace, console: Console) -> int:
    from benchctl.run.lock import BenchBusy

    stdout, console = console, (Console(stderr=True, soft_wrap=True) if args.json else console)  # JSON alone on stdout
    if args.source is None and not args.link:
        console.print("[red]give a run directory or capture (SOURCE), or --link, or both[/]")
        return EXIT_USAGE
    if args.link_endpoint is not None:
        try:
            parse_endpoint(args.link_endpoint)
        except ValueError as exc:
            console.print(f"[red]--link-endpoint: {escape(str(exc))}[/]")
            return EXIT_USAGE
    pics_file = args.pics or (run_pics_file(args.source) if args.source is not None else None)
    performance = load_performance(pics_file) if pics_file is not None else None  # ConfigError: exit 2
    if pics_file is not None and performance is None:
        console.print(f"[yellow]{escape(str(pics_file))} has no performance: section (App. A.4); the figures "
                      "are not compared with declared values[/]")
    link = None
    if args.link:
        try:
            link = asyncio.run(_measure_on_bench(args, performance))
        except BenchBusy as exc:
            console.print(f"[red]{escape(str(exc))}[/]")
            return EXIT_BUSY
    try:
        perf = perf_record(args.source, performance, pics_file, link)
    except SourceError as exc:
        console.print(f"[red]{escape(str(exc))}[/]")
        return EXIT_USAGE
    if link is not None and not args.json:
        _print_link(console, perf["link"])
    if args.source is not None and not args.json:
        _print_figures(console, perf)
    for note in perf["notes"]:
        console.print(f"[yellow]{escape(note)}[/]")
    out = _out_dir(args)
    written = write_perf(perf, out)
    # a run directory's report.html shows the perf.json beside it
    if args.source is not None and out.resolve() == args.source.resolve() and (out / "run.json").is_file():
        from benchctl.report import write_reports

        written["report"] = write_reports(args.source)["html"]
    console.print("written: " + ", ".join(escape(str(p)) for p in written.values()))
    if args.json:
        print_json(stdout, perf)
    measured = args.source is None or perf["acceptance"]["all_measured"]
    setup_ok = link is None or perf["link"]["setup"] == SETUP_OK
    return EXIT_OK if measured and setup_ok else EXIT_NOT_MET
