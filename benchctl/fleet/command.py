"""The `agent`, `submit` and `fleet` subcommands."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from benchctl.config import ConfigError
from benchctl.paths import DEFAULT_BENCH, SCENARIOS
from benchctl.run.command import EXIT_OK, EXIT_USAGE

from .broker import (
    EXIT_BROKER,
    PASSWORD_ENV,
    BrokerError,
    BrokerRefused,
    BrokerSettings,
    FleetConnection,
    broker_settings,
    new_client_id,
)
from .jobs import ON_DEATH, JobError
from .ledger import DONE, INVALID, LOST
from .topics import DEFAULT_PREFIX, check_name

FLEET_EPILOG = f"""\
broker settings (agent, submit, fleet): --broker mqtt://HOST[:PORT] or mqtts://HOST[:PORT], or a --fleet-config
file with a `broker:` section (url, username, password_file, ca_file, cert_file, key_file, prefix, keepalive_s);
options override the file. The password comes from --password-file, the file's password_file, or
{PASSWORD_ENV}. Topics are under --prefix (default {DEFAULT_PREFIX}). docs/fleet.md has the details.

exit status of `submit --wait`: the run's (0 every case passed, 1 not, 2 the job could not run as asked,
3 bench error), 5 the job was lost (its bench died and on-death is `report`), 6 broker unreachable or refused,
124 --timeout passed."""


def _broker_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("broker")
    group.add_argument("--broker", metavar="URL", help="mqtt://HOST[:PORT] or mqtts://HOST[:PORT] (TLS)")
    group.add_argument("--fleet-config", type=Path, metavar="FILE", help="YAML file with a `broker:` section")
    group.add_argument("--username", help="broker username")
    group.add_argument("--password-file", type=Path, metavar="FILE",
                       help=f"file holding the broker password (or set {PASSWORD_ENV})")
    group.add_argument("--ca-file", type=Path, metavar="FILE", help="CA certificate that signed the broker's certificate, for mqtts:// (default: the system's "
                            "trust store)")
    group.add_argument("--cert-file", type=Path, metavar="FILE", help="client certificate (TLS client auth)")
    group.add_argument("--key-file", type=Path, metavar="FILE", help="client certificate's key")
    group.add_argument("--prefix", help=f"topic prefix (default {DEFAULT_PREFIX})")
    return common


def _tags(text: str) -> list[str]:
    tags = [t.strip() for t in text.split(",") if t.strip()]
    for tag in tags:
        try:
            check_name("tag", tag)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return tags


def add_fleet_parsers(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    common = _broker_options()
    fmt = argparse.RawDescriptionHelpFormatter

    agent = sub.add_parser("agent", parents=[common], epilog=FLEET_EPILOG, formatter_class=fmt,
                           help="serve a bench to the fleet: take run jobs from the broker's queue",
                           description="Publish this bench's status, take run jobs from the queue one at a time, "
                                       "run them as `benchctl run` would (run directory, bench lock, reports) and "
                                       "publish progress and results. SIGTERM or Ctrl-C stops it.")
    agent.add_argument("--bench", type=Path, default=DEFAULT_BENCH, help="bench config (default: %(default)s)")
    agent.add_argument("--name", help="the bench's name in the fleet (default: the bench config's name)")
    agent.add_argument("--tags", type=_tags, action="extend", default=[], metavar="TAG,...",
                       help="what this bench offers, matched against jobs' --require (e.g. type2,socket)")
    agent.add_argument("--on-death", choices=ON_DEATH, default="requeue",
                       help="when this agent dies during a run, its job goes back to the queue (requeue) or is "
                            "reported lost (report); default: %(default)s")
    agent.add_argument("--runs", type=Path, default=Path("runs"), help="where run directories go (default: ./runs)")
    agent.add_argument("--scenarios", type=Path, default=SCENARIOS, help="scenario folder (default: %(default)s)")
    agent.add_argument("--heartbeat", type=float, default=30.0, metavar="S",
                       help="seconds between 'last seen' updates (default: %(default)s)")
    agent.add_argument("--takeover", action="store_true",
                       help="start even though the broker shows an agent of this name online (one that is gone "
                            "without its last will having been published)")
    agent.set_defaults(func=cmd_agent)

    submit = sub.add_parser("submit", parents=[common], epilog=FLEET_EPILOG, formatter_class=fmt,
                            help="queue a run job for the fleet (--wait follows it to its end)",
                            description="Queue a run job. Without --cases, -k or --group the job runs the plan "
                                        "of --pics (sent inside the job) or of the bench's own PICS.")
    submit.add_argument("--cases", nargs="+", default=[], metavar="CASE", help="case ids (TC_003_CS, 003, 3)")
    submit.add_argument("-k", dest="keyword", help="only cases whose id or title contains this text")
    submit.add_argument("--group", help="only cases of this group of the test case document")
    submit.add_argument("--pics", type=Path, help="the DUT's PICS file")
    submit.add_argument("--require", type=_tags, action="extend", default=[], metavar="TAG,...",
                        help="tags a bench must have to take the job (e.g. type2,socket)")
    submit.add_argument("--retries", type=int, default=0, metavar="N",
                        help="retest a case up to N times when Appendix D allows it (as `benchctl run --retries`)")
    submit.add_argument("--sim-fault", action="append", default=[], metavar="FAULT",
                        help="switch on a fault of a simulated charger (only benches with a simulator can run it)")
    submit.add_argument("--wait", action="store_true", help="follow the job to its end; exit with the run's status")
    submit.add_argument("--timeout", type=float, metavar="S", help="with --wait: give up after S seconds (exit 124)")
    submit.set_defaults(func=cmd_submit)

    fleet = sub.add_parser("fleet", parents=[common], epilog=FLEET_EPILOG, formatter_class=fmt,
                           help="print the fleet's benches and jobs",
                           description="Print every bench (name, tags, status, current job, last seen) and every "
                                       "job (queued, running on a bench, done with its verdicts, lost), then exit.")
    fleet.add_argument("--json", action="store_true", help="print JSON instead of tables")
    fleet.add_argument("--forget", nargs="+", default=[], metavar="JOB",
                       help="remove finished (done, lost or invalid) jobs from the broker")
    fleet.set_defaults(func=cmd_fleet)


def settings_from(args: argparse.Namespace) -> BrokerSettings:
    return broker_settings(args.broker, args.fleet_config, username=args.username, password_file=args.password_file,
                           ca_file=args.ca_file, cert_file=args.cert_file, key_file=args.key_file, prefix=args.prefix)


def cmd_agent(args: argparse.Namespace, console: Console) -> int:
    from .agent import Agent
    from .presence import AgentOptions

    settings = settings_from(args)
    if args.heartbeat <= 0:
        raise ConfigError("command line", None, "--heartbeat", "must be positive")
    if args.name is not None:
        try:
            check_name("bench name", args.name)
        except ValueError as exc:
            raise ConfigError("command line", None, "--name", str(exc)) from None
    options = AgentOptions(args.bench, args.runs, args.scenarios, args.name, args.tags, args.on_death,
                           args.heartbeat, args.takeover)

    async def serve() -> int:
        try:
            return await Agent(options, settings, console).run()
        except BrokerRefused as exc:
            console.print(f"[red]{escape(str(exc))}[/]")
            return EXIT_BROKER

    return asyncio.run(serve())


def cmd_submit(args: argparse.Namespace, console: Console) -> int:
    from .submit import make_spec, submit

    settings = settings_from(args)
    if args.retries < 0:
        raise ConfigError("command line", None, "--retries", "must be 0 or more")
    if args.timeout is not None and not args.wait:
        raise ConfigError("command line", None, "--timeout", "only with --wait")
    try:
        spec = make_spec(args.cases, args.keyword, args.group, args.pics, args.require, args.retries, args.sim_fault)
    except JobError as exc:
        console.print(f"[red]{escape(str(exc))}[/]")
        return EXIT_USAGE
    return asyncio.run(submit(settings, spec, console, args.wait, args.timeout))


def cmd_fleet(args: argparse.Namespace, console: Console) -> int:
    from .view import as_json, print_fleet

    settings = settings_from(args)

    async def look() -> int:
        async with FleetConnection(settings, new_client_id("fleet")) as conn:
            if args.forget:
                return await _forget(conn, args.forget, console)
            if args.json:
                print(json.dumps(as_json(conn.ledger), indent=2))
            else:
                print_fleet(conn.ledger, console, settings.url)
            return EXIT_OK

    try:
        return asyncio.run(look())
    except BrokerError as exc:
        console.print(f"[red]{escape(str(exc))}[/]")
        return EXIT_BROKER


async def _forget(conn: FleetConnection, jobs: list[str], console: Console) -> int:
    status = EXIT_OK
    for job in jobs:
        state = conn.ledger.state(job)
        if job not in conn.ledger.job_ids():
            console.print(f"[red]no job {escape(job)} on the broker[/]")
            status = EXIT_USAGE
        elif state.state not in (DONE, LOST, INVALID):
            console.print(f"[red]job {escape(job)} is {escape(state.state)}: only done, lost or invalid jobs can "
                          f"be forgotten[/]")
            status = EXIT_USAGE
        else:
            # the benches delete their own records of it when they see the spec go
            await conn.publish(conn.topics.job(job), None, retain=True)
            console.print(escape(f"forgot job {job}"), highlight=False)
    await conn.sync()
    return status
