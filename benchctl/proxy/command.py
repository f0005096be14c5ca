"""`benchctl proxy`: the proxy on its own, capturing into a run directory until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import signal
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from benchctl.bench.config import BenchConfig, load_bench
from benchctl.csms.capture import Capture
from benchctl.paths import DEFAULT_BENCH
from benchctl.run.command import EXIT_BUSY, EXIT_OK, EXIT_TERMINATED, EXIT_USAGE
from benchctl.run.lock import BenchLock, hold_bench, take_bench_for
from benchctl.run.rundir import RunDir

from .bench import open_proxied_bench
from .server import OcppProxy
from .tls import UpstreamTls

EPILOG = """\
The charger dials the proxy at the bench's dut.csms host, port and path (the simulated charger of the sim bench
is pointed at it); the proxy dials UPSTREAM/<chargePointId>. Every frame goes to capture.jsonl in the run
directory. wss:// upstreams are verified against --cafile, or the system's trust store without it."""


def add_proxy_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("proxy", help="proxy a charger's OCPP traffic to another Central System and capture it",
                       description="Forward a charger's OCPP-J WebSocket to another Central System (the official "
                                   "test tool, say) unchanged, capturing every frame.", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--upstream", required=True, metavar="URL",
                   help="the Central System's ws:// or wss:// URL, without the charge point id")
    p.add_argument("--bench", type=Path, default=DEFAULT_BENCH, help="bench config (default: %(default)s)")
    p.add_argument("--run-dir", type=Path, metavar="DIR",
                   help="the run directory to create (default: runs/<time>-<bench>-proxy)")
    p.add_argument("--cafile", type=Path, help="CA certificate(s) the wss:// upstream's certificate must chain to")
    p.add_argument("--insecure", action="store_true", help="do not verify the wss:// upstream's certificate")
    p.add_argument("--certfile", type=Path, help="client certificate for the upstream (security profile 3)")
    p.add_argument("--keyfile", type=Path, help="its private key (when not in --certfile)")
    p.set_defaults(func=cmd_proxy)


def upstream_tls(args: argparse.Namespace) -> UpstreamTls | None:
    if not any((args.cafile, args.insecure, args.certfile, args.keyfile)):
        return None
    for option, path in (("--cafile", args.cafile), ("--certfile", args.certfile), ("--keyfile", args.keyfile)):
        if path is not None and not path.is_file():
            raise ValueError(f"{option} {path}: no such file")
    return UpstreamTls(cafile=args.cafile, insecure=args.insecure, certfile=args.certfile, keyfile=args.keyfile)


def cmd_proxy(args: argparse.Namespace, console: Console) -> int:
    config = load_bench(args.bench)
    try:
        tls = upstream_tls(args)
        OcppProxy(Capture(None), args.upstream, upstream_tls=tls)  # the URL and TLS options, checked up front
    except (ValueError, OSError) as exc:
        console.print(f"[red]{escape(str(exc))}[/]")
        return EXIT_USAGE
    lock = take_bench_for(config, f"benchctl proxy on {config.file} to {args.upstream}", console)
    if lock is None:
        return EXIT_BUSY
    try:
        run_dir = RunDir(args.run_dir) if args.run_dir else RunDir.create(Path("runs"), f"{config.name}-proxy")
    except FileExistsError:
        lock.release()
        console.print(f"[red]{escape(str(args.run_dir))}: already exists; name a new run directory[/]")
        return EXIT_USAGE
    capture = Capture(run_dir.capture_path)
    meta: dict[str, Any] = {"command": "proxy", "bench": config.name, "bench_file": str(config.file),
                            "charge_point_id": config.charge_point_id, "upstream": args.upstream,
                            "started": time.time()}
    run_dir.write_meta(meta)
    try:
        asyncio.run(_serve(config, capture, args.upstream, tls, run_dir, meta, lock, console))
        status = EXIT_OK
    except KeyboardInterrupt:
        status = EXIT_OK  # Ctrl-C is how the operator ends a proxy session
    except asyncio.CancelledError:
        status = EXIT_TERMINATED
    except (ValueError, OSError) as exc:  # a bench the proxy cannot serve, a port already taken
        console.print(f"[red]{escape(str(exc))}[/]")
        status = EXIT_USAGE
    finally:
        lock.release()
        meta["finished"] = time.time()
        run_dir.write_meta(meta)
        capture.close()
        run_dir.close()
    console.print(f"{capture.count} frame(s) captured ({capture.invalid} not valid OCPP) in "
                  f"{escape(str(run_dir.capture_path))}")
    return status


async def _serve(config: BenchConfig, capture: Capture, upstream: str, tls: UpstreamTls | None, run_dir: RunDir,
                 meta: dict[str, Any], lock: BenchLock, console: Console) -> None:
    # SIGTERM (a service stopped) ends the session as Ctrl-C does: the proxy closes both sides, the gear goes safe
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)

    def announce(proxy: OcppProxy) -> None:
        meta["proxy_url"] = proxy.url
        run_dir.write_meta(meta)
        console.print(f"proxy {escape(proxy.url)}/<chargePointId> -> {escape(upstream)}/<chargePointId>; "
                      f"capturing in {escape(str(run_dir.path))} (Ctrl-C stops)", highlight=False)

    async with hold_bench(lock):
        if config.simulator is not None:
            async with open_proxied_bench(config, capture, upstream, tls) as proxied:
                proxied.bench.steplog.listeners.append(run_dir.log_action)
                announce(proxied.proxy)
                await asyncio.Event().wait()
        else:
            # a real charger: only its traffic is wanted, the gear stays as it is
            proxy = OcppProxy(capture, upstream, host=config.csms_host, port=config.csms_port,
                              path=config.csms_path, upstream_tls=tls)
            await proxy.start()
            try:
                announce(proxy)
                await asyncio.Event().wait()
            finally:
                await proxy.stop()
