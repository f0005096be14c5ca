"""SIGTERM during a run: the gear ends in its safe state, the run directory keeps what happened."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def test_sigterm_mid_case_leaves_the_gear_safe(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "benchctl.cli", "run", "003", "--runs", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "COLUMNS": "200"})
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 30
        for line in proc.stdout:
            if "TC_003_CS" in line and "..." in line:
                break
            assert time.monotonic() < deadline, "the case never started"
        (run_dir,) = tmp_path.iterdir()
        actions = run_dir / "actions.jsonl"
        deadline = time.monotonic() + 10
        while '"set_plug"' not in actions.read_text():  # the cable is in: the gear is not in its safe state
            assert time.monotonic() < deadline, "plug_in never happened"
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=30)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, output
    assert "safe state" in output
    logged = [json.loads(line) for line in actions.read_text().splitlines()]
    plug_in = max(i for i, a in enumerate(logged) if a["command"] == "set_plug" and a["args"] == {"connected": True})
    after = logged[plug_in + 1:]
    assert any(a["role"] == "ev" and a["command"] == "safe_state" and a["error"] is None for a in after), after
    assert any(a["role"] == "card" and a["command"] == "safe_state" for a in after)
