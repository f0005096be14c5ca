"""Keep every core busy while tests run, to find the tests that only pass on an idle machine.

Not a test module. A CI runner or a lab PC is rarely idle: a test whose timeout is not what it checks must still
pass when the cores are taken. Two ways to use it:

    BENCHCTL_TEST_CPU_STRESS=1 ./dev test       # tests/conftest.py burns the cores for the whole session
    python tests/support/cpu_stress.py [SECONDS] # burn them from another terminal (Ctrl-C stops)

    with cpu_stress():                           # in code: the burners stop when the block ends
        ...

The burners are processes (a thread would only take one core, the GIL), one a core unless told otherwise; they run
at the default priority, like the other programs a busy machine runs, and die with their parent.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from typing import Iterator, Mapping

# a busy loop that also ends when its parent is gone (a killed test session must not leave burners behind)
_BURN = "import os\nparent = os.getppid()\nwhile os.getppid() == parent:\n    for _ in range(1_000_000): pass\n"
ENV = "BENCHCTL_TEST_CPU_STRESS"


def burner_count(setting: str | None = None) -> int:
    """How many burners: the setting when it is a number above 1, else one a core ("1", "yes", "true" mean on)."""
    if setting is not None and setting.isdigit() and int(setting) > 1:
        return int(setting)
    return os.cpu_count() or 2


def wanted(environ: Mapping[str, str] = os.environ) -> str | None:
    """The BENCHCTL_TEST_CPU_STRESS setting when it asks for stress ("", "0", "no", "false" do not)."""
    value = environ.get(ENV, "").strip().lower()
    return None if value in ("", "0", "no", "false") else value


class CpuStress:
    """Started burners; `stop()` ends them (safe to call twice)."""

    def __init__(self, count: int) -> None:
        self.processes = [subprocess.Popen([sys.executable, "-c", _BURN], stdin=subprocess.DEVNULL)
                          for _ in range(count)]

    @property
    def running(self) -> int:
        return sum(1 for p in self.processes if p.poll() is None)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


@contextlib.contextmanager
def cpu_stress(count: int | None = None) -> Iterator[CpuStress]:
    stress = CpuStress(count if count is not None else burner_count())
    try:
        yield stress
    finally:
        stress.stop()


def main(argv: list[str]) -> int:
    seconds = float(argv[0]) if argv else None
    with cpu_stress() as stress:
        print(f"burning {len(stress.processes)} core(s){f' for {seconds:g} s' if seconds else ''}; Ctrl-C stops",
              file=sys.stderr)
        try:
            if seconds is None:
                signal.pause()
            else:
                time.sleep(seconds)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
