"""The companion against the stand-in tool: the simulated charger dials benchctl's proxy, the proxy dials the
stand-in's OCPP endpoint, benchctl drives the stand-in over its HTTP API. No operator anywhere."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, AsyncIterator

from benchctl.bench.config import BenchConfig, load_bench
from benchctl.octt.companion import Companion, CompanionSettings, companion_run
from benchctl.run.pipeline import Run
from benchctl.run.rundir import RunDir
from octt_standin import StandInTool

from support.bench_text import sim_bench_text

# short intervals and timeouts, the same for the bench and the tool, so a case takes seconds
FAST = {"heartbeat_interval_s": "1", "boot_retry_interval_s": "1", "message_timeout_s": "4"}


def fast_config(tmp_path: Path, faults: list[str] | None = None) -> BenchConfig:
    text = sim_bench_text()
    for key, value in FAST.items():
        lines = [line for line in text.splitlines() if line.strip().startswith(f"{key}:")]
        assert len(lines) == 1, key
        text = text.replace(lines[0], f"  {key}: {value}")
    path = tmp_path / "sim-octt.yaml"
    path.write_text(text)
    config = load_bench(path)
    if faults:
        assert config.simulator is not None
        config.simulator.faults = list(faults)
    return config


@contextlib.asynccontextmanager
async def companion(tmp_path: Path, config: BenchConfig | None = None, *, tool_values: dict[str, Any] | None = None,
                    poll_s: float = 0.05, callbacks_host: str | None = None, callbacks_port: int = 0,
                    **tool_options: Any) -> AsyncIterator[tuple[Run[Companion], StandInTool]]:
    config = config or fast_config(tmp_path)
    tool = StandInTool({**config.values, **(tool_values or {})}, **tool_options)
    await tool.start()
    try:
        run_dir = RunDir.create(tmp_path / "runs", config.name)
        settings = CompanionSettings(tool.http_url, tool.ocpp_url, poll_s=poll_s, run_timeout_s=120,
                                     callbacks_host=callbacks_host, callbacks_port=callbacks_port)
        async with companion_run(config, run_dir, settings, extra_meta={"cases": []}) as run:
            yield run, tool
    finally:
        await tool.stop()


def free_port() -> int:
    """A loopback port nothing listens on now (the stand-in must know the callback URL before benchctl starts)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
