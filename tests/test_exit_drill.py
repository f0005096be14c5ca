"""The exit drill's pieces no other test covers: the run's terminal closed (a real hang-up, not kill -HUP) and
kill -9 followed by --resume, with the gear read from the simulated devices in their own process."""

from __future__ import annotations

import subprocess
import sys

from benchctl.paths import ROOT


def test_exit_drill_terminal_hangup_and_kill_9() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "exit_drill.py"), "--signals", "HUP,KILL"],
                          capture_output=True, text=True, timeout=240)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    hup = out[out.index("terminal closed (SIGHUP)"):out.index("SIGKILL")]
    assert "exit 129" in hup and "lock released" in hup and "EV plug relay open, state A" in hup, hup
    kill = out[out.index("SIGKILL"):]
    assert "EV safe NEVER" in kill and "lock LEFT" in kill, kill  # honest: a dead process makes nothing safe
    assert "resume took the stale lock over: yes" in kill and "exit 0" in kill, kill
